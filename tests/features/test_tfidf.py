from __future__ import annotations

import re

from optuna.trial import FixedTrial

from textauto.components import BuildContext
from textauto.config import RunConfig
from textauto.cost.memory import text_volume_of
from textauto.features.tfidf import WORD, WORD_TOKEN_PATTERN, stop_words_for
from textauto.space.build import PORTFOLIO, build_pipeline


def test_word_tokens_are_runs_of_word_characters_one_letter_ones_included():
    assert re.findall(WORD_TOKEN_PATTERN, "I can't pay 3.5 EUR, ok_go naïve!") == [
        "I", "can", "t", "pay", "3", "5", "EUR", "ok_go", "naïve",
    ]  # fmt: skip


def test_han_and_kana_characters_are_tokens_of_their_own():
    """Chinese and Japanese put no spaces between words: each character is a token, so word
    n-grams over them are character n-grams rather than whole clauses seen once."""
    assert re.findall(WORD_TOKEN_PATTERN, "我的订单abc还没到") == [*"我的订单", "abc", *"还没到"]
    assert re.findall(WORD_TOKEN_PATTERN, "注文した商品") == list("注文した商品")
    assert re.findall(WORD_TOKEN_PATTERN, "주문이 아직") == ["주문이", "아직"]  # Korean spaces its words
    assert re.findall(WORD_TOKEN_PATTERN, "Tokyo・Osaka") == ["Tokyo", "Osaka"]  # a mark, not a word


def test_word_bigrams_over_chinese_are_character_bigrams():
    texts = ["我的订单还没到", "订单到了", "我的地址"]
    params = {**PORTFOLIO[0], "word.min_df": 1}
    features = build_pipeline(FixedTrial(params), RunConfig().space, BuildContext()).named_steps["features"]
    features.fit(texts)
    X = features.transform(["订单"])
    assert X.nnz == 3  # 订, 单 and 订单


def test_the_memory_bound_counts_han_characters_as_tokens():
    assert text_volume_of(["我的订单 ok", "hello world"]) == (18.0, 8.0)  # 2 + 4 Han, 2


def test_stop_words_are_split_like_the_tokens_they_filter():
    assert {"n", "t", "ve", "the"} <= stop_words_for("en")
    assert "und" in stop_words_for("de") and "der" in stop_words_for("de")


def test_chinese_stop_words_do_not_make_their_characters_stop_words():
    """问题 is a stop word; 问 and 题 alone are not (they would vanish from every text)."""
    stop = stop_words_for("zh")
    assert "问" not in stop and "题" not in stop
    assert "的" in stop  # a one-character stop word stays


def test_negation_is_searched_only_where_its_cues_are_known():
    specs = RunConfig().space.specs("word")
    assert WORD.space_for(specs, BuildContext(lang="en"))["negation"] == [False, True]
    for lang in ("de", "xx"):
        assert "negation" not in WORD.space_for(specs, BuildContext(lang=lang))


def test_negation_covers_contractions_as_the_tokenizer_splits_them():
    """ "don't", GLUE's "do n't", "Dont" and "NOT" all open a scope, lower-cased or not."""
    params = {**PORTFOLIO[0], "word.ngram_max": 1, "word.lowercase": False, "word.negation": True}
    texts = ["I don't like it", "I do n't like it", "Dont like it", "NOT like it"]
    features = build_pipeline(FixedTrial(params), RunConfig().space, BuildContext()).named_steps["features"]
    features.fit([*texts, "like"])
    plain = features.transform(["like"]).indices
    assert len(plain) == 1
    assert all(plain[0] not in row.indices for row in features.transform(texts))
    unmarked = build_pipeline(
        FixedTrial({**params, "word.negation": False}), RunConfig().space, BuildContext()
    )
    features = unmarked.named_steps["features"].fit([*texts, "like"])
    assert all(features.transform(["like"]).indices[0] in row.indices for row in features.transform(texts))
