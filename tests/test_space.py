"""Every search-space branch samples exactly its declared parameters, within their declared ranges."""

from __future__ import annotations

import itertools

import optuna
import pytest
from optuna.trial import FixedTrial
from sklearn.pipeline import FeatureUnion

from textauto.components import BuildContext
from textauto.config import RunConfig, build_config
from textauto.features import FEATURIZERS, REPRESENTATIONS
from textauto.params import is_searched, spec_contains
from textauto.space.build import PORTFOLIO, build_pipeline, classifier_swaps, featurizer_key, portfolio_for
from textauto.space.classifiers import CLASSIFIERS
from textauto.space.config import SpaceConfig

optuna.logging.set_verbosity(optuna.logging.ERROR)
BRANCHES = list(itertools.product(REPRESENTATIONS, CLASSIFIERS))


def expected_params(space: SpaceConfig, ctx: BuildContext, representation: str, classifier: str) -> set[str]:
    names = {"representation", "classifier"}
    for comp in (*REPRESENTATIONS[representation], classifier):
        registry = FEATURIZERS if comp in FEATURIZERS else CLASSIFIERS
        specs = registry[comp].space_for(space.specs(comp), ctx)
        names |= {f"{comp}.{p}" for p, spec in specs.items() if is_searched(spec)}
    return names


@pytest.mark.parametrize(("representation", "classifier"), BRANCHES)
def test_branch_samples_declared_params_within_ranges(representation, classifier):
    space = build_config(
        overrides={"space.representations": [representation], "space.classifiers": [classifier]}
    ).space
    ctx = BuildContext()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(15):
        trial = study.ask()
        build_pipeline(trial, space, ctx)
        assert set(trial.params) == expected_params(space, ctx, representation, classifier)
        for name, value in trial.params.items():
            if "." in name:
                comp, param = name.split(".", 1)
                assert spec_contains(space.specs(comp)[param], value), (name, value)
        study.tell(trial, 0.0)


def test_random_sampling_reaches_both_ends_of_choices():
    """Each categorical value and both halves of each range are actually visited."""
    space = RunConfig().space
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    seen: dict[str, set] = {}
    for _ in range(400):
        trial = study.ask()
        build_pipeline(trial, space, BuildContext())
        for k, v in trial.params.items():
            seen.setdefault(k, set()).add(v)
        study.tell(trial, 0.0)
    assert seen["representation"] == set(REPRESENTATIONS)
    assert seen["classifier"] == set(CLASSIFIERS)
    for comp in [*FEATURIZERS, *CLASSIFIERS]:
        for param, spec in space.specs(comp).items():
            name = f"{comp}.{param}"
            if comp == "spacy" and param in ("pos", "entities"):
                assert name not in seen  # only with a trained pipeline
                continue
            if isinstance(spec, list):
                assert seen[name] == set(spec), name
            else:
                mid = (spec.low + spec.high) / 2
                assert min(seen[name]) < mid < max(seen[name]), name


def test_pos_and_entities_are_searched_only_with_a_trained_pipeline():
    space = build_config(overrides={"space.representations": ["spacy"], "space.spacy_model": "x"}).space
    trial = optuna.create_study().ask()
    build_pipeline(trial, space, BuildContext(spacy_model="x"))
    assert {"spacy.pos", "spacy.entities"} <= set(trial.params)


def test_fixed_values_are_not_sampled_and_reach_the_estimator():
    space = build_config(
        overrides={
            "space.representations": ["word"],
            "space.classifiers": ["logreg"],
            "space.word.ngram_max": 3,
            "space.word.min_df": [2],
            "space.logreg.C": 7.5,
        }
    ).space
    trial = optuna.create_study().ask()
    pipe = build_pipeline(trial, space, BuildContext())
    assert "word.ngram_max" not in trial.params and "logreg.C" not in trial.params
    params = pipe.get_params()
    assert params["features__ngram_range"] == (1, 3)
    assert params["features__min_df"] == 2
    assert params["clf__estimator__C"] == 7.5


def test_sampled_values_map_onto_estimator_params():
    """Guard against inverted or dropped mappings (sampled value != what the estimator gets)."""
    space = RunConfig().space
    params = {
        "representation": "word+char", "classifier": "sgd",
        "word.ngram_max": 2, "word.min_df": 3, "word.max_df": 0.7, "word.sublinear_tf": False,
        "word.max_features": 50000, "word.lowercase": False, "word.strip_accents": "unicode",
        "word.stop_words": True, "word.negation": True,
        "char.analyzer": "char", "char.ngram_min": 2, "char.ngram_max": 6, "char.min_df": 2,
        "char.sublinear_tf": True, "char.max_features": 0, "char.lowercase": True,
        "sgd.loss": "log_loss", "sgd.alpha": 1e-5, "sgd.class_weight": "balanced",
    }  # fmt: skip
    pipe = build_pipeline(FixedTrial(params), space, BuildContext())
    assert isinstance(pipe.named_steps["features"], FeatureUnion)
    p = pipe.get_params()
    assert p["features__word__ngram_range"] == (1, 2)
    assert p["features__word__min_df"] == 3 and p["features__word__max_df"] == 0.7
    assert p["features__word__sublinear_tf"] is False and p["features__word__lowercase"] is False
    assert p["features__word__max_features"] == 50000
    assert p["features__word__strip_accents"] == "unicode"
    assert "the" in p["features__word__stop_words"]
    assert "not" in p["features__word__negation_cues"] and "Not" in p["features__word__negation_cues"]
    assert p["features__char__analyzer"] == "char" and p["features__char__ngram_range"] == (2, 6)
    assert p["features__char__max_features"] is None
    assert p["clf__loss"] == "log_loss" and p["clf__alpha"] == 1e-5 and p["clf__class_weight"] == "balanced"


def test_char_ngram_max_never_below_min():
    space = build_config(overrides={"space.char.ngram_min": 3, "space.char.ngram_max": 3}).space
    params = {"representation": "char", "classifier": "ridge", "char.analyzer": "char",
              "char.min_df": 1, "char.sublinear_tf": True, "char.max_features": 0, "char.lowercase": True,
              "ridge.alpha": 1.0, "ridge.class_weight": "none"}  # fmt: skip
    pipe = build_pipeline(FixedTrial(params), space, BuildContext())
    assert pipe.get_params()["features__ngram_range"] == (3, 3)


def test_margin_classifiers_get_probabilities_only_when_asked():
    space = build_config(
        overrides={"space.representations": ["word"], "space.classifiers": ["linear_svc"]}
    ).space
    params = {"representation": "word", "classifier": "linear_svc", "linear_svc.C": 1.0,
              "linear_svc.class_weight": "none"} | {f"word.{k}": v[0] if isinstance(v, list) else v.low
                                                   for k, v in space.word.items()}  # fmt: skip
    plain = build_pipeline(FixedTrial(params), space, BuildContext())
    calibrated = build_pipeline(FixedTrial(params), space, BuildContext(probability=True))
    assert not hasattr(plain, "predict_proba")
    assert hasattr(calibrated, "predict_proba")


def test_portfolio_entries_are_complete_and_valid():
    space = RunConfig().space
    entries = portfolio_for(space, BuildContext())
    assert len(entries) == len(PORTFOLIO)
    for entry in entries:
        trial = FixedTrial(entry)
        build_pipeline(trial, space, BuildContext())  # every sampled name is present


def test_portfolio_respects_a_restricted_space():
    space = build_config(overrides={"space.classifiers": ["nbsvm", "ridge"], "space.word.min_df": 1}).space
    entries = portfolio_for(space, BuildContext())
    assert entries and all(e["classifier"] == "nbsvm" for e in entries)
    assert all("word.min_df" not in e for e in entries)  # a fixed value is not enqueued


def test_classifier_swaps_keep_the_representation_and_try_every_other_classifier():
    space = RunConfig().space
    best = {**PORTFOLIO[2], "classifier": "linear_svc"}
    swaps = classifier_swaps(best, space)
    assert {s["classifier"] for s in swaps} == {"logreg", "nbsvm", "ridge", "complement_nb", "lightgbm"}
    for swap in swaps:
        assert featurizer_key(swap) == featurizer_key(best)
        build_pipeline(FixedTrial(swap), space, BuildContext())  # complete and valid


def test_classifier_swaps_respect_a_restricted_space():
    overrides = {"space.classifiers": ["linear_svc", "logreg"], "space.logreg.C": {"low": 0.01, "high": 1.0}}
    space = build_config(overrides=overrides).space
    swaps = classifier_swaps({**PORTFOLIO[0]}, space)
    assert [s["classifier"] for s in swaps] == ["logreg"]
    assert "logreg.C" not in swaps[0]  # the default lies outside the declared range: sampled instead
