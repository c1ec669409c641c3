"""What rebuilds the saved model, and what it predicts for the rows it was validated on.

A ``Recipe`` holds the saved model's members (each trial's parameters) and how they are
combined, at full precision. The refit builds the saved model from it, and ``textauto
reproduce`` builds it again from the copy kept in manifest.json: one function serves both.
``OOFPredictions`` are the combined out-of-fold predictions the model was chosen on; their hash
goes to the manifest, so that a rerun can tell whether it validated alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np
from optuna.trial import FixedTrial

from textauto.components import BuildContext
from textauto.ensemble.classifier import EnsembleClassifier, stack_features, stacked_proba
from textauto.ensemble.greedy import Candidate
from textauto.ensemble.stacking import Combination
from textauto.inference import softmax
from textauto.space.build import build_pipeline
from textauto.space.config import SpaceConfig


def member_proba(scores: np.ndarray, temperature: float) -> np.ndarray:
    """A member's calibrated probabilities from its stored out-of-fold class scores."""
    return softmax(scores / temperature)


@dataclass(frozen=True)
class Member:
    """One trial of the saved model: its parameters, and its part in the combination."""

    trial: int
    params: dict[str, Any]
    weight: float = 1.0
    temperature: float = 1.0
    share: float = 1.0  # of each fold's training rows the trial was validated on

    @classmethod
    def of(cls, candidate: Candidate, weight: float) -> Member:
        c = candidate
        return cls(c.number, dict(c.params), weight, c.temperature, c.share)

    @property
    def name(self) -> str:
        return f"trial-{self.trial}"

    def pipeline(self, space: SpaceConfig, ctx: BuildContext) -> Any:
        return build_pipeline(FixedTrial(self.params, self.trial), space, ctx)


@dataclass(frozen=True)
class Recipe:
    """The saved model: a ``"pipeline"`` (one trial, calibrated by itself: it left no
    out-of-fold scores) or an ``"ensemble"`` (``EnsembleClassifier``: temperature-scaled
    members averaged by weight, or stacked when ``stack_coef`` is set)."""

    kind: Literal["pipeline", "ensemble"]
    members: tuple[Member, ...]
    n_jobs: int = 1  # threads fitting an ensemble's members
    stack_coef: np.ndarray | None = None
    stack_intercept: np.ndarray | None = None

    @classmethod
    def pipeline(cls, trial: int, params: dict[str, Any]) -> Recipe:
        return cls("pipeline", (Member(trial, dict(params)),))

    @classmethod
    def of(cls, combination: Combination, n_jobs: int) -> Recipe:
        stacker, weights = combination.stacker, combination.weights
        members = tuple(Member.of(c, weights[c.number]) for c in combination.members)
        coef, intercept = (None, None) if stacker is None else (stacker.coef, stacker.intercept)
        return cls("ensemble", members, n_jobs, coef, intercept)

    def build(self, space: SpaceConfig, ctx: BuildContext) -> Any:
        """The unfitted model; an ensemble's probabilities come from its temperatures."""
        if self.kind == "pipeline":
            (member,) = self.members
            return member.pipeline(space, replace(ctx, probability=True))
        plain = replace(ctx, probability=False)
        return EnsembleClassifier(
            [(m.name, m.pipeline(space, plain)) for m in self.members],
            weights=[m.weight for m in self.members],
            temperatures=[m.temperature for m in self.members],
            n_jobs=self.n_jobs,
            stack_coef=self.stack_coef,
            stack_intercept=self.stack_intercept,
        )

    def combine(self, probas: Sequence[np.ndarray]) -> np.ndarray:
        """The ensemble's probabilities from its members' calibrated ones, as it predicts."""
        if self.stack_coef is not None:
            return stacked_proba(stack_features(probas), self.stack_coef, self.stack_intercept)
        weights = np.asarray([m.weight for m in self.members], dtype=np.float64)
        return sum(w * p for w, p in zip(weights / weights.sum(), probas, strict=True))

    def to_dict(self) -> dict[str, Any]:
        """For manifest.json: JSON keeps every float exactly (its shortest round-trip repr)."""
        return {
            "kind": self.kind,
            "members": [asdict(m) for m in self.members],
            "n_jobs": self.n_jobs,
            "stack_coef": _listed(self.stack_coef),
            "stack_intercept": _listed(self.stack_intercept),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Recipe:
        members = tuple(Member(**m) for m in d["members"])
        coef, intercept = d.get("stack_coef"), d.get("stack_intercept")
        return cls(
            d["kind"],
            members,
            d.get("n_jobs", 1),
            None if coef is None else np.asarray(coef, dtype=np.float64),
            None if intercept is None else np.asarray(intercept, dtype=np.float64),
        )


def _listed(array: np.ndarray | None) -> list[Any] | None:
    return None if array is None else np.asarray(array).tolist()


@dataclass(frozen=True)
class OOFPredictions:
    """The saved model's out-of-fold class probabilities on the rows the validation plan scores
    (``ValidationPlan.scored_rows``, in that order): what it was chosen on."""

    rows: np.ndarray  # indices of the training rows
    proba: np.ndarray  # (rows, classes)
    classes: np.ndarray

    @property
    def labels(self) -> np.ndarray:
        return self.classes[self.proba.argmax(axis=1)]

    def sha256(self) -> str:
        """Of each row's index and predicted label, in order."""
        h = hashlib.sha256()
        for row, label in zip(self.rows.tolist(), self.labels.tolist(), strict=True):
            h.update(f"{row}\x1f{label}\x1e".encode())
        return h.hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256(), "rows": len(self.rows)}
