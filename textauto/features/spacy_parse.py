"""Parse texts with spaCy once per process and keep the result for every later trial.

A parse is stored compactly as one string per token attribute, aligned by token position,
so long corpora stay affordable in memory. Pipelines are loaded lazily and held here, never
inside an estimator, so estimators stay cheap to clone and pickle.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from textauto.exceptions import ConfigError

log = logging.getLogger(__name__)

_PIPELINES: dict[str, Any] = {}
_PARSES: dict[str, dict[str, Parse]] = {}
BATCH_SIZE = 256


@dataclass(frozen=True, slots=True)
class Parse:
    """Token attributes of one text; each field is space-separated, one item per token."""

    lower: str
    lemma: str
    kind: str  # one char per token: n(umber) u(rl) e(mail) s(top word) or -
    shape: str
    pos: str
    ent: str

    def tokens(self) -> Iterable[tuple[str, str, str, str, str, str]]:
        return zip(
            self.lower.split(),
            self.lemma.split(),
            self.kind,
            self.shape.split(),
            self.pos.split(),
            self.ent.split(),
            strict=True,
        )


def pipeline_key(lang: str, model: str | None) -> str:
    return model if model else f"blank:{lang}"


def load_pipeline(lang: str, model: str | None) -> Any:
    """The spaCy pipeline for a key: a trained one by name, else blank + lookup lemmatizer."""
    key = pipeline_key(lang, model)
    if key not in _PIPELINES:
        import spacy

        if model:
            try:
                nlp = spacy.load(model, exclude=["parser"])
            except OSError as exc:
                raise ConfigError(
                    f"space.spacy_model: cannot load spaCy pipeline {model!r} ({exc}); "
                    f"install it with `python -m spacy download {model}`"
                ) from exc
        else:
            nlp = blank_pipeline(lang)
        _PIPELINES[key] = nlp
    return _PIPELINES[key]


def blank_pipeline(lang: str) -> Any:
    import spacy

    try:
        nlp = spacy.blank(lang)
    except ImportError as exc:
        raise ConfigError(f"lang: spaCy has no language {lang!r}") from exc
    try:
        nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        nlp.initialize()
    except Exception as exc:  # spacy-lookups-data has no table for this language
        nlp.remove_pipe("lemmatizer")
        warnings.warn(
            f"no lookup lemmatizer for language {lang!r} ({exc}); lemmas fall back to lower case",
            stacklevel=2,
        )
    return nlp


def _clean(text: str) -> str:
    return "_".join(text.split()) or "_"


def _kind(token: Any) -> str:
    if token.like_email:
        return "e"
    if token.like_url:
        return "u"
    if token.like_num:
        return "n"
    if token.is_stop:
        return "s"
    return "-"


def to_parse(doc: Any) -> Parse:
    tokens = [t for t in doc if not t.is_space]
    return Parse(
        lower=" ".join(_clean(t.lower_) for t in tokens),
        lemma=" ".join(_clean((t.lemma_ or t.text).lower()) for t in tokens),
        kind="".join(_kind(t) for t in tokens),
        shape=" ".join(_clean(t.shape_) for t in tokens),
        pos=" ".join(t.pos_ or "X" for t in tokens),
        ent=" ".join(t.ent_type_ or "-" for t in tokens),
    )


def parse_texts(texts: Sequence[str], lang: str, model: str | None) -> list[Parse]:
    """Parses of ``texts``, in order; each distinct text is parsed once per process."""
    key = pipeline_key(lang, model)
    cache = _PARSES.setdefault(key, {})
    missing = list(dict.fromkeys(t for t in texts if t not in cache))
    if missing:
        nlp = load_pipeline(lang, model)
        log.debug("spaCy %s: parsing %d new texts", key, len(missing))
        for text, doc in zip(missing, nlp.pipe(missing, batch_size=BATCH_SIZE), strict=True):
            cache[text] = to_parse(doc)
    return [cache[t] for t in texts]


def cached_count(lang: str, model: str | None) -> int:
    """How many distinct texts this process holds parses for (for tests and reports)."""
    return len(_PARSES.get(pipeline_key(lang, model), {}))


def clear_cache() -> None:
    _PARSES.clear()
