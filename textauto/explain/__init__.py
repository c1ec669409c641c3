"""Explanations of a fitted model: which features of a text pushed a prediction, and by how much.

Owns per-feature contributions of each classifier kind (``members``), the names of feature
columns (``layout``), their combination over an ensemble's members (``combine``) and the
explanations themselves (``explanation``). Imports the stages before it (features, space,
ensemble); the bundle, the report and the commands use it.
"""

from textauto.explain.explanation import (
    DEFAULT_TOP,
    Contribution,
    Explanation,
    class_features,
    explain_text,
)
from textauto.explain.layout import Feature

__all__ = ["DEFAULT_TOP", "Contribution", "Explanation", "Feature", "class_features", "explain_text"]
