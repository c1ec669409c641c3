"""A featurizer that turns texts into normalized spaCy token streams, then TF-IDF."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from textauto.components import BuildContext, Component, int_range
from textauto.features.spacy_parse import parse_texts
from textauto.params import ParamSpec

PLACEHOLDERS = {"n": "<num>", "u": "<url>", "e": "<email>"}
# The stream's tokens are split on white space as str.split does (re's \s is str.isspace), by a
# pattern rather than a function: a fitted model holds data, which a safe format can rebuild.
TOKEN_PATTERN = r"(?u)\S+"


# auto_wrap_output_keys=None: no set_output wrapper around transform, whose output is texts.
class SpacyTokens(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Map each text to a space-separated stream of normalized tokens.

    Uses ``spacy.blank(lang)`` with the lookup lemmatizer, or the trained pipeline ``model``
    (needed for ``pos`` and ``entities``). Parses are cached per process, so every trial of
    a search reuses them.

    Parameters
    ----------
    lang : spaCy language code of the blank pipeline.
    model : name of an installed trained pipeline, or None.
    lemmatize : emit lemmas instead of lower-cased forms.
    remove_stop : drop stop words.
    normalize : replace numbers, URLs and e-mail addresses by placeholders.
    shapes : add a ``shape=Xxxx`` token after each token.
    pos : add a ``pos=NOUN`` token after each token (needs ``model``).
    entities : add an ``ent=ORG`` token after each token inside an entity (needs ``model``).
    """

    def __init__(
        self,
        lang: str = "en",
        model: str | None = None,
        lemmatize: bool = True,
        remove_stop: bool = False,
        normalize: bool = True,
        shapes: bool = False,
        pos: bool = False,
        entities: bool = False,
    ) -> None:
        self.lang = lang
        self.model = model
        self.lemmatize = lemmatize
        self.remove_stop = remove_stop
        self.normalize = normalize
        self.shapes = shapes
        self.pos = pos
        self.entities = entities

    def fit(self, X: Any, y: Any = None) -> SpacyTokens:
        if (self.pos or self.entities) and not self.model:
            raise ValueError(
                "SpacyTokens: pos=True or entities=True needs a trained pipeline in `model` "
                f"(got model={self.model!r})"
            )
        self.n_texts_fit_ = len(_as_texts(X))
        return self

    def transform(self, X: Any) -> list[str]:
        check_is_fitted(self)
        return [self._render(p) for p in parse_texts(_as_texts(X), self.lang, self.model)]

    def _render(self, parse: Any) -> str:
        out: list[str] = []
        for lower, lemma, kind, shape, pos, ent in parse.tokens():
            if self.remove_stop and kind == "s":
                continue
            if self.normalize and kind in PLACEHOLDERS:
                out.append(PLACEHOLDERS[kind])
            else:
                out.append(lemma if self.lemmatize else lower)
            if self.shapes:
                out.append("shape=" + shape)
            if self.pos:
                out.append("pos=" + pos)
            if self.entities and ent != "-":
                out.append("ent=" + ent)
        return " ".join(out)


class StreamTfidf(TfidfVectorizer):
    """``TfidfVectorizer`` over token streams, whose saved state holds the vocabulary as two arrays.

    skops writes a dict entry by entry, some 500 bytes and 20 µs each; a stream's vocabulary
    reaches hundreds of thousands of terms. As UTF-8 bytes and their ends, it is a few bytes a term.
    """

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())  # a copy: the default state is the instance's own dict
        vocabulary = state.pop("vocabulary_", None)
        if vocabulary is not None:
            encoded = [term.encode("utf-8") for term in sorted(vocabulary, key=vocabulary.__getitem__)]
            state["vocabulary_bytes_"] = np.frombuffer(b"".join(encoded), dtype=np.uint8)
            state["vocabulary_ends_"] = np.cumsum([len(e) for e in encoded], dtype=np.int64)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        data, ends = state.pop("vocabulary_bytes_", None), state.pop("vocabulary_ends_", None)
        if data is not None and ends is not None:
            raw = np.asarray(data, dtype=np.uint8).tobytes()
            starts = [0, *ends[:-1].tolist()]
            terms = (raw[a:b].decode("utf-8") for a, b in zip(starts, ends.tolist(), strict=True))
            state["vocabulary_"] = {term: column for column, term in enumerate(terms)}
        super().__setstate__(state)


def _as_texts(X: Any) -> list[str]:
    if isinstance(X, str):
        raise ValueError("SpacyTokens expects a sequence of texts, got a single string")
    return [str(x) for x in X]


def build_spacy(p: dict[str, Any], ctx: BuildContext) -> Pipeline:
    tokens = SpacyTokens(
        lang=ctx.lang,
        model=ctx.spacy_model,
        lemmatize=p["lemmatize"],
        remove_stop=p["remove_stop"],
        normalize=p["normalize"],
        shapes=p["shapes"],
        pos=p.get("pos", False),
        entities=p.get("entities", False),
    )
    tfidf = StreamTfidf(
        token_pattern=TOKEN_PATTERN,
        lowercase=False,
        ngram_range=(1, p["ngram_max"]),
        min_df=p["min_df"],
        sublinear_tf=p["sublinear_tf"],
        dtype=np.float32,
    )
    return Pipeline([("tokens", tokens), ("tfidf", tfidf)])


def _needs_trained_pipeline(specs: dict[str, ParamSpec], ctx: BuildContext) -> dict[str, ParamSpec]:
    """POS and entity features exist only when a trained pipeline is configured."""
    if ctx.spacy_model:
        return specs
    return {k: v for k, v in specs.items() if k not in ("pos", "entities")}


SPACY = Component(
    name="spacy",
    space={
        "lemmatize": [True, False],
        "remove_stop": [False, True],
        "normalize": [True, False],
        "shapes": [False, True],
        "pos": [False, True],
        "entities": [False, True],
        "ngram_max": int_range(1, 2),
        "min_df": int_range(1, 3),
        "sublinear_tf": [True, False],
    },
    build=build_spacy,
    limits={"ngram_max": (1, 3), "min_df": (1, 1_000)},
    active=_needs_trained_pipeline,
)
