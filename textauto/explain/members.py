"""Each feature's contribution to one fitted classifier's class scores, exactly.

A linear model's score is ``x @ w + b``: feature ``j`` contributes ``x_j * w_j``. NB-SVM is a
linear model on presence scaled by its log-count ratios ``r``: ``1[x_j > 0] * r_j * w_j``. Naive
Bayes' joint log-likelihood is ``x @ log P(term | class) + log P(class)``. LightGBM gives its
own per-feature contributions (``pred_contrib``, TreeSHAP) plus a bias for its raw scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.calibration import CalibratedClassifierCV
from sklearn.multiclass import OneVsRestClassifier
from sklearn.naive_bayes import ComplementNB, MultinomialNB

from textauto.exceptions import ExplainError
from textauto.space.nbsvm import NBSVMClassifier


@dataclass
class MemberTerms:
    """Contributions to a classifier's class scores on ``n`` rows, kept in the form that makes
    combining classes cheap.

    A linear classifier keeps its ``features`` (n, d) and ``weights`` (classes, d); any other its
    ``per_class`` (n, d) matrices. ``bias`` is (n, classes). ``margin``: a binary classifier with
    one decision score, for ``classes[1]``; class 0 then scores 0.
    """

    bias: np.ndarray
    margin: bool
    kind: str
    features: sp.csr_matrix | None = None
    weights: np.ndarray | None = None
    per_class: list[sp.csr_matrix] | None = None

    def combine(self, a: np.ndarray) -> sp.csr_matrix:
        """Each feature's contribution to ``sum_k a[k] * score_k``, an (n, d) matrix."""
        if self.features is not None and self.weights is not None:
            return sp.csr_matrix(self.features.multiply(np.asarray(a) @ self.weights))
        parts = [w * c for w, c in zip(a, self.per_class or [], strict=True) if w]
        return sp.csr_matrix(sum(parts)) if parts else sp.csr_matrix(self.per_class[0].shape)

    def column_means(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray, sp.csr_matrix]:
        """The columns with a part in ``sum_k a[k] * score_k`` on some row, their mean part over
        the rows, and a matrix whose non-zeros say which rows hold each column."""
        if self.features is not None and self.weights is not None:
            X = self.features  # only the columns present: a vocabulary can hold millions
            columns = np.unique(X.indices)
            totals = np.bincount(X.indices, weights=X.data, minlength=X.shape[1])[columns]
            return columns, totals / X.shape[0] * (np.asarray(a) @ self.weights[:, columns]), X
        parts = self.combine(a)  # a tree's parts: non-zero for n-grams absent from a row, too
        columns = np.unique(parts.indices)
        totals = np.bincount(parts.indices, weights=parts.data, minlength=parts.shape[1])[columns]
        return columns, totals / parts.shape[0], parts if self.features is None else self.features

    def score(self, a: np.ndarray) -> np.ndarray:
        """``sum_k a[k] * score_k`` of each row: the bias's part plus every contribution."""
        return self.bias @ np.asarray(a) + np.asarray(self.combine(a).sum(axis=1)).ravel()


@dataclass
class Linear:
    """``scores = features @ weights.T + intercept``, one row per class (one for a margin)."""

    weights: np.ndarray
    intercept: np.ndarray
    presence: bool = False  # features enter as 1 where non-zero (NB-SVM's binarize)
    kind: str = "linear"
    margin: bool = False  # one binary decision score, for class 1, as row 1 beside zeros


def linear_form(clf: Any) -> Linear | None:
    """The weights behind ``clf``'s decision scores, or None when it is not linear."""
    if isinstance(clf, CalibratedClassifierCV):  # temperature scaling of one model fitted on all rows
        return linear_form(clf.calibrated_classifiers_[0].estimator)
    if isinstance(clf, OneVsRestClassifier):
        forms = [linear_form(e) for e in clf.estimators_]
        if any(f is None or len(f.weights) != 1 for f in forms):
            return None
        return Linear(
            np.vstack([f.weights for f in forms]),
            np.concatenate([f.intercept for f in forms]),
            kind=forms[0].kind,
        )
    if isinstance(clf, NBSVMClassifier):
        weights = np.vstack([r * m.coef_[0] for r, m in zip(clf.ratios_, clf.estimators_, strict=True)])
        intercept = np.array([m.intercept_[0] for m in clf.estimators_])
        return Linear(weights, intercept, presence=clf.binarize, kind="nbsvm")
    if isinstance(clf, MultinomialNB):
        return Linear(clf.feature_log_prob_, clf.class_log_prior_, kind="naive_bayes")
    if isinstance(clf, ComplementNB):  # its joint log-likelihood has no prior beyond one class
        return Linear(clf.feature_log_prob_, np.zeros(len(clf.classes_)), kind="naive_bayes")
    if hasattr(clf, "coef_") and hasattr(clf, "intercept_") and hasattr(clf, "decision_function"):
        return Linear(np.atleast_2d(clf.coef_), np.ravel(clf.intercept_), kind=type(clf).__name__)
    return None


def class_weights(clf: Any) -> Linear | None:
    """``linear_form`` in float64 with a row per class (a margin's class 0 all zero), or None."""
    form = linear_form(clf)
    if form is None:
        return None
    weights = np.asarray(form.weights, dtype=np.float64)
    intercept = np.asarray(form.intercept, dtype=np.float64)
    margin = len(weights) == 1 and len(clf.classes_) == 2
    if margin:  # class 0 scores 0
        weights, intercept = np.vstack([np.zeros_like(weights), weights]), np.r_[0.0, intercept]
    return Linear(weights, intercept, form.presence, form.kind, margin)


def member_terms(clf: Any, X: Any, weights: Linear | None = None) -> MemberTerms:
    """Every feature's contribution to ``clf``'s class scores on the rows of ``X``; ``weights``:
    its ``class_weights`` when already known (a large vocabulary's take a while to convert)."""
    X = sp.csr_matrix(X, dtype=np.float64)
    n_classes = len(clf.classes_)
    form = weights if weights is not None else class_weights(clf)
    if form is not None:
        if form.presence:
            X = X.copy()
            X.data = (X.data > 0).astype(np.float64)
        bias = np.tile(form.intercept, (X.shape[0], 1))
        return MemberTerms(bias, form.margin, form.kind, features=X, weights=form.weights)
    if hasattr(clf, "booster_"):  # LightGBM: contributions to its raw scores, then the bias column
        parts = clf.predict(X, pred_contrib=True)
        parts = [sp.csr_matrix(p) for p in (parts if isinstance(parts, list) else [parts])]
        per_class = [p[:, :-1].tocsr() for p in parts]
        bias = np.column_stack([p[:, -1].toarray().ravel() for p in parts])
        margin = len(parts) == 1 and n_classes == 2
        if margin:
            per_class, bias = (
                [sp.csr_matrix(per_class[0].shape), *per_class],
                np.column_stack([0 * bias, bias]),
            )
        return MemberTerms(bias, margin, "lightgbm", features=X, per_class=per_class)
    raise ExplainError(f"cannot explain a {type(clf).__name__}: not a linear model, naive Bayes or LightGBM")
