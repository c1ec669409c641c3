"""Word and character TF-IDF featurizers and their search spaces (counted by ``NgramTfidf``)."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import numpy as np

from textauto.components import BuildContext, Component, float_range, int_range, none_if
from textauto.features.language import stop_words
from textauto.features.ngrams import NgramTfidf
from textauto.params import ParamSpec

# Han and kana characters, which Chinese and Japanese write without spaces between words.
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Runs of word characters, one-letter ones included ("I", "a", digits: they carry meaning in
# short texts and questions); each Han or kana character is a token of its own (as BERT's
# tokenizer does), so word n-grams over Chinese or Japanese are character n-grams, not whole
# clauses seen once each.
WORD_TOKEN_PATTERN = rf"(?u)(?=\w)[{CJK}]|[^\W{CJK}]+"  # (?=\w): not the marks among them (・)


_CJK_TOKEN = re.compile(f"[{CJK}]")

# Words that open a negation scope, as our tokenizer splits them: "don't" and GLUE's "do n't"
# both end in the token "t"; apostrophes dropped in informal text leave "dont". Marking what
# follows them (``NgramTfidf(negation_cues=...)``) is a choice of the search space: it helps
# sentiment and costs topics a little (docs/design.md, "The search space's defaults").
NEGATION_CUES: dict[str, frozenset[str]] = {
    "en": frozenset([
        "not", "no", "never", "nothing", "nobody", "none", "neither", "nor", "nowhere", "cannot",
        "without", "t", "dont", "doesnt", "didnt", "isnt", "wasnt", "arent", "werent", "cant",
        "couldnt", "wont", "wouldnt", "shouldnt", "aint",
    ]),
}  # fmt: skip


@cache
def stop_words_for(lang: str) -> frozenset[str]:
    """spaCy's stop words for ``lang`` (shipped with spaCy, no model), as our tokenizer splits them.

    "n't" or "'ve" become "n", "t", "ve": the pieces our word pattern produces, so the list is
    consistent with the tokens it filters.
    """
    pieces = set()
    for word in stop_words(lang):
        tokens = re.findall(WORD_TOKEN_PATTERN, word)
        if len(tokens) > 1:
            # a Chinese stop word such as 问题 would make 问 and 题 stop words everywhere
            tokens = [t for t in tokens if not _CJK_TOKEN.fullmatch(t)]
        pieces.update(tokens)
    return frozenset(pieces)


def negation_cues_for(lang: str) -> list[str] | None:
    """``lang``'s negation cues in lower case, capitalized and upper case (for ``lowercase=False``)."""
    cues = NEGATION_CUES.get(lang)
    return None if cues is None else sorted({f(w) for w in cues for f in (str, str.capitalize, str.upper)})


def build_word(p: dict[str, Any], ctx: BuildContext) -> NgramTfidf:
    stop = sorted(stop_words_for(ctx.lang)) if p["stop_words"] else None
    cues = negation_cues_for(ctx.lang) if p.get("negation", False) else None
    return NgramTfidf(
        analyzer="word",
        token_pattern=WORD_TOKEN_PATTERN,
        ngram_range=(1, p["ngram_max"]),
        min_df=p["min_df"],
        max_df=p["max_df"],
        sublinear_tf=p["sublinear_tf"],
        max_features=none_if(p["max_features"], 0),
        lowercase=p["lowercase"],
        strip_accents=none_if(p["strip_accents"], "none"),
        stop_words=stop,
        negation_cues=cues,
        dtype=np.float32,
    )


def _negation_where_known(specs: dict[str, ParamSpec], ctx: BuildContext) -> dict[str, ParamSpec]:
    """Negation marking exists only for languages with a list of cues."""
    return specs if ctx.lang in NEGATION_CUES else {k: v for k, v in specs.items() if k != "negation"}


def build_char(p: dict[str, Any], ctx: BuildContext) -> NgramTfidf:
    low = p["ngram_min"]
    return NgramTfidf(
        analyzer=p["analyzer"],
        ngram_range=(low, max(low, p["ngram_max"])),
        min_df=p["min_df"],
        sublinear_tf=p["sublinear_tf"],
        max_features=none_if(p["max_features"], 0),
        lowercase=p["lowercase"],
        dtype=np.float32,
    )


WORD = Component(
    name="word",
    space={
        "ngram_max": int_range(1, 3),
        "min_df": int_range(1, 3),
        "max_df": float_range(0.5, 1.0),
        "sublinear_tf": [True, False],
        "max_features": [0, 50_000, 200_000],
        "lowercase": [True, False],
        "strip_accents": ["none", "unicode"],
        "stop_words": [False, True],
        "negation": [False, True],
    },
    build=build_word,
    limits={"ngram_max": (1, 3), "min_df": (1, 1_000), "max_df": (0.0, 1.0)},
    active=_negation_where_known,
)

CHAR = Component(
    name="char",
    space={
        "analyzer": ["char_wb", "char"],
        "ngram_min": int_range(1, 3),
        "ngram_max": int_range(3, 6),
        "min_df": int_range(1, 3),
        "sublinear_tf": [True, False],
        "max_features": [0, 100_000, 300_000],
        "lowercase": [True, False],
    },
    build=build_char,
    limits={"ngram_min": (1, 6), "ngram_max": (1, 6), "min_df": (1, 1_000)},
)
