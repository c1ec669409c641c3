"""The errors textauto raises. Each also subclasses the builtin it resembles."""


class TextAutoError(Exception):
    """Base class of every textauto error."""


class DataError(TextAutoError, ValueError):
    """The input data cannot be used; the message names the file, row, column or class."""


class ConfigError(TextAutoError, ValueError):
    """A configuration value is invalid; the message names the field."""


class BundleError(TextAutoError, OSError):
    """A model bundle is missing, incomplete or unreadable."""


class SearchError(TextAutoError, RuntimeError):
    """The search could not produce a model (for example, every trial failed)."""


class BrowserError(TextAutoError, RuntimeError):
    """Headless Chromium is missing or could not render a page; the message names both."""


class ExplainError(TextAutoError, ValueError):
    """A model, a class or a text cannot be explained; the message says which and why."""


class DataWarning(UserWarning):
    """The data is usable but suspicious (imbalance, conflicting labels, train/test overlap)."""
