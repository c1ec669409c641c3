"""The loaded model behind the service: predictions as the `textauto predict` command makes them."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from service.schemas import ClassScore, ExplainResponse, ModelInfo, Prediction
from textauto.bundle import load
from textauto.explain import explain_text
from textauto.explain.combine import Member, members_of


class Predictor:
    """Holds one loaded bundle; turns texts into ``Prediction`` objects."""

    def __init__(self, model_dir: Path) -> None:
        started = time.perf_counter()
        self.model = load(model_dir)
        self.load_seconds = time.perf_counter() - started
        m = self.model.manifest
        self.classes = [str(c) for c in self.model.classes_]
        self.bundle_hash = str(m.get("bundle_sha256", ""))
        self.version = self.bundle_hash[:12] or "unknown"
        self.name = str(m.get("name", Path(model_dir).name))
        self._members: list[Member] | None = None
        self._members_lock = threading.Lock()

    def info(self) -> ModelInfo:
        m = self.model.manifest
        test = m.get("test") or None
        return ModelInfo(
            name=self.name,
            version=self.version,
            classes=self.classes,
            metric=m.get("metric", ""),
            validation_score=float(m.get("validation", {}).get("score", float("nan"))),
            test_metrics={k: v for k, v in test.items() if isinstance(v, float)} if test else None,
            best_params=m.get("best_params", {}),
            created=m.get("created", ""),
            bundle_hash=self.bundle_hash,
        )

    def rows(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Labels (the most probable class, as in `textauto predict`) and class probabilities."""
        return self.model.predict_with_proba(texts)

    def answers(
        self, labels: np.ndarray, proba: np.ndarray, top_k: int | None, probabilities: bool
    ) -> list[Prediction]:
        """One ``Prediction`` per row, in order."""
        classes = self.classes
        out = []
        for label, row in zip(labels, proba, strict=True):
            ranked = None
            if top_k:
                order = np.argsort(-row, kind="stable")[:top_k]
                ranked = [ClassScore(label=classes[i], probability=float(row[i])) for i in order]
            out.append(
                Prediction(
                    label=str(label),
                    confidence=float(row.max()),
                    top_k=ranked,
                    probabilities=dict(zip(classes, map(float, row), strict=True)) if probabilities else None,
                )
            )
        return out

    def explain(self, text: str, class_name: str | None, top: int) -> ExplainResponse:
        """Why the model predicts what it does for ``text`` (``textauto explain``'s answer)."""
        e = explain_text(self.model.pipeline, text, class_name, members=self.members())
        return ExplainResponse(model_version=self.version, **e.to_dict(top))

    def members(self) -> list[Member]:
        """The model's members as explanations read them, made once: their weights in float64
        and vocabularies take a while to build for a large model."""
        with self._members_lock:
            if self._members is None:
                self._members = members_of(self.model.pipeline)
            return self._members

    def predict(self, texts: Sequence[str], top_k: int | None, probabilities: bool) -> list[Prediction]:
        """Predictions in input order."""
        return self.answers(*self.rows(texts), top_k, probabilities)
