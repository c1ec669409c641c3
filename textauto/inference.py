"""The lean inference path: a fitted model's steps called directly, each featurizer once per batch.

Predicting a few texts through scikit-learn's ``Pipeline`` and ``FeatureUnion`` pays, per call
and per member of an ensemble, for parameter and input validation and for joblib's dispatch:
more than the arithmetic itself when a request holds one text. Here the fitted steps'
own ``transform`` is called in turn, inside ``sklearn.config_context`` with validation off
(the inputs are the featurizers' own outputs), a featurizer object reached from several members
transforms once per batch, and linear classifiers score with the same product their
``decision_function`` computes. The arithmetic and its order are those of the standard path.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn import config_context, get_config
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression, RidgeClassifier, SGDClassifier
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l1, inplace_csr_row_normalize_l2

# Classifiers whose decision_function is ``X @ coef_.T + intercept_`` on CSR input.
LINEAR = (LinearSVC, LogisticRegression, RidgeClassifier, SGDClassifier)

# Below one stored value per this many columns, linear scores take only the columns used.
SPARSE_ROWS_SHARE = 8

Memo = dict[tuple[int, int], Any]

# What TfidfTransformer's ``normalize`` runs on CSR counts, in place, by norm.
NORMALIZE = {"l2": inplace_csr_row_normalize_l2, "l1": inplace_csr_row_normalize_l1, None: lambda X: None}


@contextmanager
def lean() -> Iterator[None]:
    """scikit-learn's per-call checks off: parameters were validated by ``fit``, and the inputs
    of every step after the first are the previous step's own finite output."""
    with config_context(assume_finite=True, skip_parameter_validation=True):
        yield


def transform(step: Any, X: Any, memo: Memo) -> Any:
    """``step.transform(X)``, through pipelines and unions, each (step, input) pair computed once.

    ``memo`` holds the outputs of this batch; it keeps every input alive, so ids are not reused.
    """
    key = (id(step), id(X))
    if key in memo:
        return memo[key]
    if isinstance(step, Pipeline):
        out = X
        for _, inner in step.steps:
            if inner is not None and not isinstance(inner, str):  # "passthrough"
                out = transform(inner, out, memo)
    elif isinstance(step, FeatureUnion):
        out = union(step, X, memo)
    elif (
        isinstance(step, TfidfVectorizer)
        and type(step).transform is TfidfVectorizer.transform
        and step.norm in NORMALIZE
    ):
        out = tfidf(step, X)
    else:
        out = step.transform(X)
    memo[key] = out
    return out


def union(features: FeatureUnion, X: Any, memo: Memo) -> Any:
    """``FeatureUnion.transform``: its members' outputs, weighted, side by side."""
    weights = features.transformer_weights or {}
    parts = []
    for name, step in features.transformer_list:
        if isinstance(step, str) and step == "drop":
            continue
        out = X if isinstance(step, str) else transform(step, X, memo)
        parts.append(out if weights.get(name) is None else out * weights[name])
    if any(sp.issparse(p) for p in parts):
        return sp.hstack(parts).tocsr()
    return np.hstack(parts)


def tfidf(vectorizer: TfidfVectorizer, texts: Any) -> sp.csr_matrix:
    """``TfidfVectorizer.transform``: its counts weighed as its ``TfidfTransformer`` does, without
    the input check (which probes the counts for a dataframe: most of the cost for a few texts)."""
    X = CountVectorizer.transform(vectorizer, texts)
    if X.dtype not in (np.float64, np.float32):
        X = X.astype(np.float64)
    if vectorizer.sublinear_tf:
        np.log(X.data, X.data)
        X.data += 1.0
    if vectorizer.use_idf:
        X.data *= vectorizer.idf_[X.indices]
    NORMALIZE[vectorizer.norm](X)
    return X


def featurize(model: Any, X: Any, memo: Memo) -> tuple[Any, Any]:
    """A pipeline's classifier and the features it sees; any other model with ``X`` itself."""
    if isinstance(model, Pipeline) and len(model.steps) > 1:
        out = X
        for _, step in model.steps[:-1]:
            if step is not None and not isinstance(step, str):
                out = transform(step, out, memo)
        return model.steps[-1][1], out
    return model, X


def known_valid(X: Any) -> bool:
    """Whether ``X`` is a featurizer's CSR output on the lean path, which needs no input checks."""
    return sp.isspmatrix_csr(X) and get_config()["assume_finite"]


def decision_function(clf: Any, X: Any) -> np.ndarray:
    """``clf.decision_function(X)``; for a linear classifier on the lean path, without its checks."""
    if type(clf) in LINEAR and known_valid(X) and X.shape[1] == clf.n_features_in_:
        scores = linear_scores(X, clf.coef_) + clf.intercept_
        return scores.reshape(-1) if scores.ndim > 1 and scores.shape[1] == 1 else scores
    if type(clf) is OneVsRestClassifier and all(type(e) in LINEAR for e in clf.estimators_):
        # one binary linear model per class: each one's margins, a column per class
        scores = np.column_stack([decision_function(e, X) for e in clf.estimators_])
        return scores.reshape(-1) if scores.shape[1] == 1 else scores
    return clf.decision_function(X)


def linear_scores(X: sp.csr_matrix, coef: np.ndarray) -> np.ndarray:
    """``X @ coef.T``, the same sums in the same order.

    scipy copies a C-ordered ``coef.T`` whole before the product (LogisticRegression's, over
    100,000s of columns: most of the time for a few texts); a few texts touch few columns, so
    only those are taken, with ``X`` renumbered onto them.
    """
    if coef.T.flags.c_contiguous or X.nnz * SPARSE_ROWS_SHARE >= X.shape[1]:
        return X @ coef.T
    columns, renumbered = np.unique(X.indices, return_inverse=True)
    narrow = sp.csr_matrix(
        (X.data, renumbered.astype(X.indices.dtype), X.indptr), shape=(X.shape[0], len(columns))
    )
    return narrow @ coef.T[columns]


def scaled_columns(X: sp.csr_matrix, factors: np.ndarray) -> sp.csr_matrix:
    """``X.multiply(factors)`` for a row of column factors, without its broadcasting machinery."""
    return sp.csr_matrix((X.data * factors[X.indices], X.indices, X.indptr), shape=X.shape)


def share_equal_featurizers(model: Any) -> int:
    """Make featurizers fitted alike in several members of ``model`` one object; returns how many
    were replaced.

    Members refit apart often hold equal featurizers (the same word n-grams beside different
    character ones): once shared, they transform once per batch and are held in memory once.
    Equal means the same pickled state, so the outputs are the same.
    """
    first: dict[bytes, Any] = {}
    replaced = 0

    def visit(step: Any) -> None:
        nonlocal replaced
        for pairs, count in _featurizer_lists(step):
            for i, (name, inner) in enumerate(pairs[:count]):
                if isinstance(inner, str) or inner is None:  # "passthrough", "drop"
                    continue
                digest = hashlib.sha256(pickle.dumps(inner, protocol=pickle.HIGHEST_PROTOCOL)).digest()
                if digest in first and first[digest] is not inner:
                    pairs[i] = (name, first[digest])
                    replaced += 1
                else:
                    first.setdefault(digest, inner)
                    visit(inner)

    visit(model)
    return replaced


def _featurizer_lists(step: Any) -> list[tuple[list[tuple[str, Any]], int]]:
    """The lists of (name, step) pairs under ``step`` whose first ``count`` are featurizers."""
    if isinstance(step, Pipeline) and isinstance(step.steps, list):
        return [(step.steps, len(step.steps) - 1)]  # all but the classifier
    if isinstance(step, FeatureUnion) and isinstance(step.transformer_list, list):
        return [(step.transformer_list, len(step.transformer_list))]
    members = getattr(step, "estimators_", None)  # an ensemble: featurizers inside its members
    if isinstance(members, list):
        return [pairs for _, member in members for pairs in _featurizer_lists(member)]
    return []


def predict_proba(model: Any, X: Any) -> np.ndarray:
    """``model.predict_proba(X)`` along the lean path (an ensemble takes it by itself)."""
    with lean():
        clf, features = featurize(model, X, {})
        return clf.predict_proba(features)


LOG_FLOOR = -30.0  # score below a model's lowest, for a class it never saw
SCORE_LIMIT = 1e4  # clip infinite log-probabilities and runaway margins


def class_scores(model: Any, X: Any, classes: np.ndarray) -> np.ndarray:
    """An (n, len(classes)) float32 matrix of a fitted model's scores, columns in ``classes``.

    ``decision_function`` where the model has one (margins), else log-probabilities; a binary
    margin ``s`` becomes ``[0, s]`` so that a softmax gives back the sigmoid.
    """
    if hasattr(model, "decision_function"):
        raw = np.asarray(decision_function(model, X), dtype=np.float64)
        if raw.ndim == 1:
            raw = np.column_stack([np.zeros_like(raw), raw])
    elif hasattr(model, "predict_log_proba"):
        raw = np.asarray(model.predict_log_proba(X), dtype=np.float64)
    else:
        raw = np.log(np.clip(np.asarray(model.predict_proba(X), dtype=np.float64), 1e-12, None))
    raw = np.clip(np.nan_to_num(raw, nan=0.0), -SCORE_LIMIT, SCORE_LIMIT)
    # Each row less its largest score, before float32 (a softmax is blind to the shift): naive
    # Bayes on TF-IDF gives log-probabilities like -1.3862950 +- 1e-6, which float32 rounds
    # to ties, and its out-of-fold scores carried almost nothing to the ensemble.
    raw = raw - raw.max(axis=1, keepdims=True)
    own = np.asarray(model.classes_)
    if len(own) == len(classes) and np.array_equal(own, classes):
        return raw.astype(np.float32)
    out = np.full((raw.shape[0], len(classes)), raw.min() + LOG_FLOOR, dtype=np.float32)
    out[:, np.searchsorted(classes, own)] = raw
    return out


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64: float32 probabilities, weighted and summed, can exceed 1 by
    an ulp, which scikit-learn's ``log_loss`` refuses."""
    z = np.asarray(z, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
