import numpy as np
import pytest

from textauto.validation import phrases
from textauto.validation.config import ValidationConfig
from textauto.validation.phrases import phrase_groups, phrase_share
from textauto.validation.splits import plan_validation


def phrase_data(n_sentences: int = 40, seed: int = 0) -> tuple[list[str], list[str]]:
    """Sentences of made-up words, each followed by the phrases parsed out of it (as SST)."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for s in range(n_sentences):
        words = [f"w{s}x{rng.integers(1000)}" for _ in range(6)]
        label = "pos" if s % 2 else "neg"
        texts.append(" ".join(words).capitalize())
        labels.append(label)
        for start, stop in [(0, 3), (3, 6), (1, 4), (2, 3)]:
            texts.append(" ".join(words[start:stop]))
            labels.append(label)
    return texts, labels


def test_phrases_join_the_longest_text_containing_them():
    texts, _ = phrase_data()
    assert phrase_share(texts) > phrases.PHRASE_SHARE
    groups = phrase_groups(texts)
    assert groups is not None and len(np.unique(groups)) == 40
    # a sentence and its four phrases share one group, case and white space aside
    assert (groups[:5] == groups[0]).all() and groups[5] != groups[0]


def test_ordinary_data_is_not_grouped():
    texts = [f"message number {i} about topic {i % 7} and item {i * 13}" for i in range(300)]
    assert phrase_share(texts) < phrases.PHRASE_SHARE
    assert phrase_groups(texts) is None


def test_too_large_data_is_not_searched_or_grouped(monkeypatch):
    texts, _ = phrase_data()
    monkeypatch.setattr(phrases, "MAX_WORK", 10)
    assert phrase_groups(texts) is None
    monkeypatch.setattr(phrases, "MAX_CHARS", 100)
    assert phrase_share(texts) == 0.0


@pytest.mark.parametrize("strategy", ["kfold", "holdout"])
def test_validation_keeps_phrases_with_their_sentence(strategy):
    texts, labels = phrase_data()
    plan = plan_validation(texts, labels, ValidationConfig(strategy=strategy), seed=0)
    assert plan.grouped and "phrases and the texts containing them kept together" in plan.description
    groups = phrase_groups(texts)
    for train, val in plan.splits:
        assert not set(groups[train]) & set(groups[val])
    plain = plan_validation(texts, labels, ValidationConfig(strategy=strategy, group_phrases=False), seed=0)
    assert not plain.grouped
