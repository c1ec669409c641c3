"""Scores of a fitted model on labelled texts: the figures `evaluate` prints and the manifest keeps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn import metrics as skm

CALIBRATION_BINS = 10


def evaluate(model: Any, texts: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro/weighted F1, balanced accuracy, per-class P/R/F1, the confusion matrix
    and the calibration of the predicted class's probability."""
    return scores_of(labels, np.asarray(model.predict_proba(list(texts))), model.classes_)


def scores_of(labels: Sequence[Any], proba: np.ndarray, model_classes: Sequence[Any]) -> dict[str, Any]:
    """``evaluate``'s figures from probabilities already computed (columns in ``model_classes``):
    the test set's, or the out-of-fold predictions the model was chosen on."""
    y = np.asarray([str(v) for v in labels], dtype=object)
    predicted = np.asarray(model_classes)[proba.argmax(axis=1)]  # what predict returns, from one pass
    pred = np.asarray([str(p) for p in predicted], dtype=object)
    classes = sorted(set(map(str, model_classes)) | set(y))
    p, r, f, support = skm.precision_recall_fscore_support(y, pred, labels=classes, zero_division=0)
    return {
        "n": len(y),
        "accuracy": float(skm.accuracy_score(y, pred)),
        "macro_f1": float(skm.f1_score(y, pred, average="macro", zero_division=0)),
        "weighted_f1": float(skm.f1_score(y, pred, average="weighted", zero_division=0)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(y, pred)),
        "per_class": {
            c: {
                "precision": float(p[i]),
                "recall": float(r[i]),
                "f1": float(f[i]),
                "support": int(support[i]),
            }
            for i, c in enumerate(classes)
        },
        "confusion_matrix": {
            "labels": classes,
            "matrix": skm.confusion_matrix(y, pred, labels=classes).tolist(),
        },
        "calibration": calibration(proba.max(axis=1), pred == y),
    }


def calibration(confidence: np.ndarray, correct: np.ndarray) -> dict[str, Any]:
    """The reliability curve: per bin of the predicted class's probability, its mean and the
    share of those predictions that were right; and the expected calibration error (their gap,
    weighted by rows)."""
    which = np.minimum((confidence * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    bins = []
    for b in range(CALIBRATION_BINS):
        rows = which == b
        if rows.any():
            bins.append(
                {
                    "confidence": float(confidence[rows].mean()),
                    "accuracy": float(correct[rows].mean()),
                    "rows": int(rows.sum()),
                }
            )
    gap = sum(abs(b["confidence"] - b["accuracy"]) * b["rows"] for b in bins)
    return {"bins": bins, "ece": float(gap / max(len(confidence), 1))}
