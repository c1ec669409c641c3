"""Why a model predicts what it does: for one text, and for each class over its training rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from textauto.ensemble.classifier import EnsembleClassifier
from textauto.exceptions import ExplainError
from textauto.explain.combine import Member, members_of
from textauto.explain.layout import Feature
from textauto.explain.members import MemberTerms
from textauto.inference import Memo, predict_proba

DEFAULT_TOP = 10
# Training rows per class, and text, whose parts are averaged; fewer for a tree ensemble, whose
# parts (TreeSHAP) cost most (docs/design.md, "Explanations").
ROWS_PER_CLASS = 100
CHARS_PER_CLASS = 100_000
TREE_ROWS_PER_CLASS = 20
# Each member's strongest columns named before members are summed by feature (names cost a
# pass over texts; the features summed across members come from these).
NAMED_PER_MEMBER = 5


@dataclass
class Contribution:
    feature: Feature
    weight: float

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.feature.source, "term": self.feature.term, "weight": self.weight}


@dataclass
class Explanation:
    """The features of one text by how much they pushed the model toward ``explained``.

    ``exact``: one pipeline, whose ``intercept`` plus every contribution is ``score``, its
    decision score for the class. Otherwise (an ensemble) the weights are their parts in the
    members' centered log-probabilities of the class, combined as the ensemble combines them
    (``textauto.explain.combine``).
    """

    predicted: str
    explained: str
    probability: float
    contributions: list[Contribution]  # every feature of the text, strongest toward the class first
    exact: bool
    kind: str  # what the weights add up to
    score: float | None = None
    intercept: float | None = None
    probabilities: dict[str, float] = field(default_factory=dict)

    def toward(self, top: int) -> list[Contribution]:
        return [c for c in self.contributions if c.weight > 0][:top]

    def against(self, top: int) -> list[Contribution]:
        return [c for c in reversed(self.contributions) if c.weight < 0][:top]

    def to_dict(self, top: int) -> dict[str, Any]:
        return {
            "predicted": self.predicted,
            "explained": self.explained,
            "probability": self.probability,
            "probabilities": self.probabilities,
            "exact": self.exact,
            "kind": self.kind,
            "score": self.score,
            "intercept": self.intercept,
            "toward": [c.to_dict() for c in self.toward(top)],
            "against": [c.to_dict() for c in self.against(top)],
            "features": len(self.contributions),
        }


def class_index(classes: Sequence[Any], name: str | None, default: int) -> int:
    """The column of the class named ``name`` (as text), or ``default`` when None."""
    if name is None:
        return default
    names = [str(c) for c in classes]
    if name not in names:
        raise ExplainError(f"class {name!r}: not a class of this model; its classes are {', '.join(names)}")
    return names.index(name)


def explain_text(
    model: Any, text: str, class_name: str | None = None, members: list[Member] | None = None
) -> Explanation:
    """How each feature of ``text`` pushed ``model`` (a pipeline or an ensemble of them);
    ``members``: ``members_of(model)`` when the caller keeps them (a service)."""
    if not isinstance(text, str):
        raise ExplainError(f"expected a text, got {type(text).__name__}")
    members = members if members is not None else members_of(model)
    proba = predict_proba(model, np.asarray([text], dtype=object))[0]
    classes = model.classes_
    c = class_index(classes, class_name, int(proba.argmax()))
    terms = [m.terms([text]) for m in members]
    common = {
        "predicted": str(classes[int(proba.argmax())]),
        "explained": str(classes[c]),
        "probability": float(proba[c]),
        "probabilities": {str(k): float(p) for k, p in zip(classes, proba, strict=True)},
    }
    if not isinstance(model, EnsembleClassifier):
        return _exact(members[0], terms[0], text, c, common)
    weights: dict[Feature, float] = defaultdict(float)
    for member, t in zip(members, terms, strict=True):
        row = member.class_terms(t, c)
        _add_by_name(weights, member.layout.names([text], row.indices), row.indices, row.data)
    return Explanation(contributions=_ranked(weights), exact=False, kind="centered log-probability", **common)


def _exact(member: Member, terms: MemberTerms, text: str, c: int, common: dict[str, Any]) -> Explanation:
    """One pipeline: its decision score for class ``c``, term by term (a binary margin scores
    class 1; class 0's score is its negative)."""
    a = np.zeros(len(terms.bias[0]))
    if terms.margin:
        a[1] = 1.0 if c == 1 else -1.0
    else:
        a[c] = 1.0
    row = terms.combine(a)
    weights: dict[Feature, float] = defaultdict(float)
    _add_by_name(weights, member.layout.names([text], row.indices), row.indices, row.data)
    return Explanation(
        contributions=_ranked(weights),
        exact=True,
        kind=f"decision score ({terms.kind})",
        score=float(terms.score(a)[0]),
        intercept=float(terms.bias[0] @ a),
        **common,
    )


def _add_by_name(
    weights: dict[Feature, float], names: dict[int, Feature], columns: np.ndarray, values: np.ndarray
) -> None:
    """Add each column's value to its feature's weight: columns can share a name (a tree's
    absent n-grams; one term in several members)."""
    for column, value in zip(columns.tolist(), values.tolist(), strict=True):
        weights[names[column]] += value


def _ranked(weights: dict[Feature, float]) -> list[Contribution]:
    return [Contribution(f, w) for f, w in sorted(weights.items(), key=lambda fw: (-fw[1], fw[0]))]


def class_features(
    model: Any, texts: Sequence[str], labels: Sequence[Any], top: int = DEFAULT_TOP, seed: int = 0
) -> dict[str, list[Contribution]]:
    """Each class's most indicative features: their mean part in the class's centered
    log-probability over training rows of that class (up to ``ROWS_PER_CLASS`` of them and
    ``CHARS_PER_CLASS`` characters)."""
    members = members_of(model)
    labels = np.asarray([str(v) for v in labels], dtype=object)
    rng = np.random.default_rng(seed)
    out = {}
    for c, cls in enumerate(model.classes_):
        rows = np.flatnonzero(labels == str(cls))
        rows = rng.permutation(rows)[:ROWS_PER_CLASS]
        lengths = np.cumsum([len(texts[i]) for i in rows])
        rows = rows[: max(1, int(np.searchsorted(lengths, CHARS_PER_CLASS)))]
        sample = np.asarray([texts[i] for i in rows], dtype=object)
        weights: dict[Feature, float] = defaultdict(float)
        memo: Memo = {}
        for member in members if len(sample) else []:
            seen = sample[:TREE_ROWS_PER_CLASS] if member.trees else sample
            for feature, weight in _strongest(member, member.terms(seen, memo), c, seen, top).items():
                weights[feature] += weight
        out[str(cls)] = _ranked(weights)[:top]
    return out


def _strongest(
    member: Member, terms: MemberTerms, c: int, sample: np.ndarray, top: int
) -> dict[Feature, float]:
    """A member's ``top * NAMED_PER_MEMBER`` strongest features toward class ``c`` on ``sample``,
    by their mean part, each named from a row that holds it."""
    columns, means, held = terms.column_means(member.coefficients(c))
    k = min(top * NAMED_PER_MEMBER, len(means))
    best = np.argpartition(-means, k - 1)[:k] if k else np.empty(0, dtype=np.int64)
    best = best[means[best] > 0]
    holders = held[:, columns[best]].tocsc()
    rows = {
        int(holders.indices[holders.indptr[j]])
        for j in range(len(best))
        if holders.indptr[j + 1] > holders.indptr[j]
    }
    names = member.layout.names(sample[sorted(rows)].tolist(), columns[best].tolist())
    out: dict[Feature, float] = defaultdict(float)
    _add_by_name(out, names, columns[best], means[best])
    return out
