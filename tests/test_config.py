from __future__ import annotations

import pytest

from tests.conftest import ROOT
from textauto.config import RunConfig, build_config, parse_value
from textauto.exceptions import ConfigError
from textauto.params import Range


def test_default_toml_matches_the_built_in_defaults():
    assert build_config(ROOT / "configs" / "default.toml") == RunConfig()


def test_overrides_merge_into_a_component():
    cfg = build_config(overrides={"space.word.min_df": 2, "search.seed": 3})
    assert cfg.space.word["min_df"] == 2
    assert cfg.space.word["ngram_max"] == Range(low=1, high=3)
    assert cfg.search.seed == 3


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"space.word.nope": 1}, "space.word: unknown parameter 'nope'; word has: ngram_max"),
        ({"space.char.ngram_max": {"low": 3, "high": 9}}, "char.ngram_max: 9 is outside the allowed 1..6"),
        ({"space.word.ngram_max": {"low": 3, "high": 1}}, "low (3) must be <= high (1)"),
        ({"space.classifiers": ["svm"]}, "space.classifiers: unknown name 'svm'; available: logreg"),
        ({"space.representations": []}, "space.representations: choose at least one"),
        ({"search.metric": "f2"}, "search.metric: unknown metric 'f2'; available: accuracy"),
        ({"search.time_budget": -1}, "search.time_budget"),
        ({"validation.folds": 1}, "validation.folds"),
        ({"search.bogus": 1}, "search.bogus"),
    ],
)
def test_invalid_values_name_the_field(overrides, message):
    with pytest.raises(ConfigError) as err:
        build_config(overrides=overrides)
    assert message in str(err.value)


def test_bad_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        build_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[search\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML"):
        build_config(bad)


def test_config_file_and_overrides(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[search]\nseed = 4\nmetric = "macro_f1"\n[space.logreg]\nC = 2.0\n')
    cfg = build_config(path, {"search.seed": 5})
    assert cfg.search.seed == 5 and cfg.search.metric == "macro_f1" and cfg.space.logreg["C"] == 2.0


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3),
        ("0.5", 0.5),
        ("true", True),
        ('["a", "b"]', ["a", "b"]),
        ("{low = 1, high = 2}", {"low": 1, "high": 2}),
        ("logreg", "logreg"),
    ],
)
def test_parse_value(text, value):
    assert parse_value(text) == value
