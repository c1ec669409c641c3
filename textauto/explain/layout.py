"""Which text feature each column of a fitted pipeline's feature matrix is.

``NgramTfidf`` keeps its vocabulary as hashes, so its columns are named from texts that hold
them (``NgramTfidf.terms``); a token-stream vectorizer keeps its terms and names any column.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.pipeline import FeatureUnion, Pipeline

from textauto.exceptions import ExplainError
from textauto.features.ngrams import NgramTfidf

ABSENT = "(n-grams absent from the text)"


@dataclass(frozen=True, order=True)
class Feature:
    """A column named as a user reads it: where it comes from and the n-gram or token."""

    source: str  # "word", "char" or "spacy": the representation it belongs to
    term: str

    def __str__(self) -> str:
        """``word:refund``; a term with spaces at its ends in quotes (``char:" re"``)."""
        term = self.term if self.term == self.term.strip() or self.term == ABSENT else f'"{self.term}"'
        return f"{self.source}:{term}"


@dataclass
class Part:
    source: str
    step: Any  # a fitted NgramTfidf, or a pipeline ending in a vectorizer that names its columns
    start: int
    width: int


class Layout:
    """The columns of a pipeline's features, part by part, in the order a union stacks them."""

    def __init__(self, parts: list[Part]) -> None:
        self.parts = parts
        self._vocabularies: dict[int, np.ndarray] = {}

    @classmethod
    def of(cls, pipeline: Pipeline) -> Layout:
        steps = [step for _, step in pipeline.steps[:-1] if step is not None and not isinstance(step, str)]
        if len(steps) != 1:
            raise ExplainError(f"cannot name the features of a pipeline with {len(steps)} featurizing steps")
        features = steps[0]
        pairs = features.transformer_list if isinstance(features, FeatureUnion) else [(None, features)]
        parts, start = [], 0
        for name, step in pairs:
            if isinstance(step, str):  # "drop"
                continue
            width = _width(step)
            parts.append(Part(name or _source(step), step, start, width))
            start += width
        return cls(parts)

    def part(self, column: int) -> Part:
        for p in self.parts:
            if p.start <= column < p.start + p.width:
                return p
        raise IndexError(column)

    def names(self, texts: Iterable[str], columns: Iterable[int]) -> dict[int, Feature]:
        """Names of ``columns``; a hashed n-gram's found in the first of ``texts`` holding it."""
        wanted = set(columns)
        out: dict[int, Feature] = {}
        hashed = [p for p in self.parts if isinstance(p.step, NgramTfidf)]
        for p in self.parts:
            if p not in hashed:
                vocabulary = self._vocabulary(p)
                out |= {
                    c: Feature(p.source, str(vocabulary[c - p.start])) for c in wanted if self.part(c) is p
                }
        missing = {c for c in wanted if c not in out}
        for text in texts:
            if not missing:
                break
            for p in hashed:
                own = {c - p.start for c in missing if p.start <= c < p.start + p.width}
                for column, term in p.step.terms(text, own).items() if own else ():
                    out[column + p.start] = Feature(p.source, term)
                    missing.discard(column + p.start)
        # a tree's contribution can come from an n-gram's absence, which no text here spells
        return out | {c: Feature(self.part(c).source, ABSENT) for c in missing}

    def _vocabulary(self, part: Part) -> np.ndarray:
        if id(part.step) not in self._vocabularies:
            last = part.step[-1] if isinstance(part.step, Pipeline) else part.step
            self._vocabularies[id(part.step)] = last.get_feature_names_out()
        return self._vocabularies[id(part.step)]


def _width(step: Any) -> int:
    if isinstance(step, NgramTfidf):
        return len(step.vocabulary_hashes_)
    last = step[-1] if isinstance(step, Pipeline) else step
    if hasattr(last, "vocabulary_"):
        return len(last.vocabulary_)
    raise ExplainError(f"cannot name the columns of a {type(last).__name__}")


def _source(step: Any) -> str:
    """A lone featurizer's representation, told from its kind."""
    if isinstance(step, NgramTfidf):
        return "word" if step.analyzer == "word" else "char"
    return "spacy" if isinstance(step, Pipeline) else type(step).__name__
