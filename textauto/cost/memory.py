"""A trial's feature memory, estimated before its features are computed (``search.memory_mb``).

A text's n-gram non-zeros are its distinct n-grams, so a representation's non-zeros over the
training texts are estimated without bias by counting them on a random sample of texts and
scaling up (document-frequency pruning only lowers the true count; docs/design.md, "Memory").
spaCy token streams cannot be counted without parsing, so they keep a bound from the text
volume: each token starts at most one n-gram per order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import FeatureUnion

from textauto.cost.priors import ngram_orders
from textauto.features import REPRESENTATIONS
from textauto.features.ngrams import NgramTfidf
from textauto.features.tfidf import CJK

SAMPLE_TEXTS = 300
# ...and at most this many characters of them (at least one text), so that counting stays under
# a second or so on book-length documents
SAMPLE_CHARS = 2_000_000
# Peak bytes per non-zero, measured as resident memory by benchmarks/feature_memory.py.
# Featurizing (NgramTfidf's counted blocks and vocabulary, on the training side of a fold).
FEATURIZE_BYTES = {"word": 52.0, "char": 40.0}
# Fitting, beyond the float32 matrix (8 bytes per non-zero, both sides of the fold): a float64
# copy and liblinear's own index-value pairs (NB-SVM fits liblinear on a float64 copy of the
# scaled counts). The other classifiers
# take the float32 matrix as it is, or one float64 copy, within the featurizing peak.
HELD_BYTES = 8.0
FIT_COPY_BYTES = {"linear_svc": 52.0, "nbsvm": 52.0, "logreg": 52.0}
# A bound for what is not counted (spaCy streams): the float32 matrix and one copy per window.
BYTES_PER_WINDOW = 24.0
_CJK_CHAR = re.compile(f"[{CJK}]")
_IGNORED = ("min_df", "max_df", "max_features", "sublinear_tf", "dtype")  # do not add non-zeros


class FeatureSizer:
    """Megabytes a trial's features (and a copying classifier) take on ``texts``' folds.

    ``train_fraction``: the share of the texts a fold fits on (its peak comes while fitting);
    ``n_tokens``: tokens of all texts, for the bound on spaCy streams (default: counted by
    ``text_volume_of``). Counts are kept per featurizer setting, so each is sampled once per
    process.
    """

    def __init__(
        self, texts: Sequence[str], train_fraction: float, n_tokens: float | None = None, seed: int = 0
    ) -> None:
        n = len(texts)
        rows = np.random.default_rng(seed).permutation(n)[:SAMPLE_TEXTS]
        lengths = np.fromiter((len(str(texts[i])) for i in rows), dtype=np.int64, count=len(rows))
        rows = rows[: max(int(np.searchsorted(np.cumsum(lengths), SAMPLE_CHARS, side="right")), 1)]
        self.sample = [str(texts[i]) for i in np.sort(rows)]
        self.scale = n / max(len(rows), 1)
        self.train_fraction = train_fraction
        self.n_tokens = text_volume_of(texts)[1] if n_tokens is None else n_tokens
        self._nonzeros: dict[str, float] = {}

    def megabytes(self, features: Any, params: dict[str, Any]) -> float:
        """Peak megabytes of ``features`` (a pipeline's featurizing step) fit on a fold, or of
        the classifier of ``params`` fitting on them, whichever is larger."""
        featurizing = nonzeros = 0.0
        for name, part in _parts(features, params):
            if isinstance(part, NgramTfidf):
                count = self.nonzeros(part)
                featurizing += FEATURIZE_BYTES.get(name, max(FEATURIZE_BYTES.values())) * count
            else:
                count = self.n_tokens * ngram_orders(name, params)
                featurizing += BYTES_PER_WINDOW * count
            nonzeros += count
        featurizing *= self.train_fraction
        copy = FIT_COPY_BYTES.get(str(params.get("classifier")), 0.0)
        fitting = HELD_BYTES * nonzeros + copy * self.train_fraction * nonzeros
        return max(featurizing, fitting) / 2**20

    def nonzeros(self, featurizer: NgramTfidf) -> float:
        """Expected non-zeros of ``featurizer``'s output over all the texts, before pruning."""
        probe = clone(featurizer).set_params(min_df=1, max_df=1.0, max_features=None)
        key = repr(sorted((k, v) for k, v in probe.get_params().items() if k not in _IGNORED))
        if key not in self._nonzeros:
            try:
                counted = probe.fit_transform(self.sample).nnz
            except ValueError:  # no n-gram at all (say, only stop words)
                counted = 0
            self._nonzeros[key] = counted * self.scale
        return self._nonzeros[key]


def _parts(features: Any, params: dict[str, Any]) -> list[tuple[str, Any]]:
    """(name, featurizer) of each part of the representation (as ``build_pipeline`` makes it)."""
    if isinstance(features, FeatureUnion):
        return list(features.transformer_list)
    return [(REPRESENTATIONS[params["representation"]][0], features)]


def text_volume_of(texts: Sequence[str]) -> tuple[float, float]:
    """Characters and word tokens of ``texts``: what bounds a trial's feature memory.

    Tokens are counted as white-space tokens plus Han and kana characters (each one a word
    token, see ``WORD_TOKEN_PATTERN``): a bound, not an exact count.
    """
    tokens = sum(len(t.split()) + len(_CJK_CHAR.findall(t)) for t in texts)
    return float(sum(map(len, texts))), float(tokens)


# Dense float64 arrays of (features x outputs) a classifier holds while it fits: liblinear's
# Newton solver (logreg) a few vectors per binary fit beside every class's coefficients; the
# others a copy or two of their coefficients; a tree's size does not grow with the columns.
DENSE_COPIES = {
    "logreg": 4, "linear_svc": 3, "sgd": 3, "ridge": 3, "nbsvm": 3,
    "complement_nb": 4, "multinomial_nb": 4, "lightgbm": 0,
}  # fmt: skip


def classifier_megabytes(params: dict[str, Any], n_features: int, n_classes: int) -> float:
    """What the classifier of ``params`` holds in dense coefficients-sized arrays while it fits."""
    outputs = 1 if n_classes <= 2 else n_classes
    copies = DENSE_COPIES.get(str(params.get("classifier")), 3)
    return copies * n_features * outputs * 8 / 2**20
