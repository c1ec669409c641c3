"""Scores of a fitted model on labelled texts: the figures `evaluate` prints and the manifest keeps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn import metrics as skm


def evaluate(model: Any, texts: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro/weighted F1, balanced accuracy, per-class P/R/F1 and the confusion matrix."""
    y = np.asarray([str(v) for v in labels], dtype=object)
    pred = np.asarray(model.predict(list(texts)), dtype=object)
    classes = sorted(set(map(str, model.classes_)) | set(y))
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
    }
