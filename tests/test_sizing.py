"""The feature-memory estimate the search skips representations by (``search.memory_mb``)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.pipeline import FeatureUnion, Pipeline

from textauto.cost import memory as sizing
from textauto.cost.memory import (
    BYTES_PER_WINDOW,
    FEATURIZE_BYTES,
    FIT_COPY_BYTES,
    HELD_BYTES,
    SAMPLE_TEXTS,
    FeatureSizer,
)
from textauto.features.ngrams import NgramTfidf

MB = 2**20


def _texts(n: int, seed: int = 0) -> list[str]:
    """Texts of 3 to 60 words from a 500-word vocabulary, so their n-gram counts vary."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(500)]
    return [" ".join(rng.choice(words, size=rng.integers(3, 60))) for _ in range(n)]


def test_fewer_texts_than_the_sample_are_counted_exactly():
    texts = _texts(SAMPLE_TEXTS // 2)
    char = NgramTfidf(analyzer="char_wb", ngram_range=(2, 5))
    assert FeatureSizer(texts, 0.8, 0).nonzeros(char) == char.fit_transform(texts).nnz


def test_a_sample_estimates_the_non_zeros_of_many_texts():
    texts = _texts(SAMPLE_TEXTS * 10)
    word = NgramTfidf(analyzer="word", ngram_range=(1, 2))
    real = word.fit_transform(texts).nnz
    for seed in range(3):
        assert FeatureSizer(texts, 0.8, 0, seed=seed).nonzeros(word) == pytest.approx(real, rel=0.1)


def test_pruning_options_share_one_count_as_they_only_lower_it():
    sizer = FeatureSizer(_texts(50), 0.8, 0)
    plain = sizer.nonzeros(NgramTfidf(ngram_range=(1, 2)))
    pruned = NgramTfidf(ngram_range=(1, 2), min_df=3, max_df=0.5, max_features=10, sublinear_tf=True)
    assert sizer.nonzeros(pruned) == plain
    assert len(sizer._nonzeros) == 1
    assert sizer.nonzeros(NgramTfidf(ngram_range=(1, 3))) > plain  # another setting, another count


def test_megabytes_price_featurizing_and_copying_classifiers():
    texts = _texts(100)
    sizer = FeatureSizer(texts, 0.8, n_tokens=0)
    char = NgramTfidf(analyzer="char_wb", ngram_range=(2, 5))
    nnz = char.fit_transform(texts).nnz
    sgd = sizer.megabytes(char, {"representation": "char", "classifier": "sgd"})
    assert sgd == pytest.approx(FEATURIZE_BYTES["char"] * 0.8 * nnz / MB)
    # liblinear copies the matrix: its fit, not the featurizing, sets the peak
    svc = sizer.megabytes(char, {"representation": "char", "classifier": "linear_svc"})
    assert svc == pytest.approx((HELD_BYTES + FIT_COPY_BYTES["linear_svc"] * 0.8) * nnz / MB)
    assert svc > sgd


def test_a_union_adds_its_parts_and_spacy_streams_are_bounded_by_tokens():
    texts = _texts(100)
    sizer = FeatureSizer(texts, 1.0, n_tokens=1000)
    word, char = NgramTfidf(), NgramTfidf(analyzer="char", ngram_range=(1, 3))
    union = FeatureUnion([("word", word), ("char", char)])
    params = {"representation": "word+char", "classifier": "ridge"}
    expected = FEATURIZE_BYTES["word"] * sizer.nonzeros(word) + FEATURIZE_BYTES["char"] * sizer.nonzeros(char)
    assert sizer.megabytes(union, params) == pytest.approx(expected / MB)
    spacy = Pipeline([("tokens", "passthrough")])  # not counted: bounded by its token windows
    params = {"representation": "spacy", "classifier": "ridge", "spacy.ngram_max": 2}
    assert sizer.megabytes(spacy, params) == pytest.approx(BYTES_PER_WINDOW * 1000 * 2 / MB)


def test_the_sample_stops_at_its_character_cap(monkeypatch):
    texts = ["x" * 100] * 50
    monkeypatch.setattr(sizing, "SAMPLE_CHARS", 1_000)
    sizer = FeatureSizer(texts, 0.8, 0)
    assert len(sizer.sample) == 10 and sizer.scale == 5
    monkeypatch.setattr(sizing, "SAMPLE_CHARS", 10)  # one text, even past the cap
    assert len(FeatureSizer(texts, 0.8, 0).sample) == 1
