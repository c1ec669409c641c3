"""textauto: AutoML for text classification.

One Optuna search over text representations and classifiers, under a time budget, to a
saved, reproducible model bundle.
"""

from importlib.metadata import PackageNotFoundError, version

from textauto.bundle import Model, load
from textauto.config import RunConfig, build_config
from textauto.estimator import AutoTextClassifier
from textauto.exceptions import (
    BrowserError,
    BundleError,
    ConfigError,
    DataError,
    DataWarning,
    ExplainError,
    SearchError,
    TextAutoError,
)

# (not `reproduce`: a function by that name here would hide the module textauto.reproduce)
from textauto.explain import class_features, explain_text

try:
    __version__ = version("textauto")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = [
    "AutoTextClassifier",
    "BrowserError",
    "BundleError",
    "ConfigError",
    "DataError",
    "DataWarning",
    "ExplainError",
    "Model",
    "RunConfig",
    "SearchError",
    "TextAutoError",
    "__version__",
    "build_config",
    "class_features",
    "explain_text",
    "load",
]
