"""``build_pipeline``: the only place a pipeline is assembled from a trial.

The same function serves the search (an Optuna trial), the refit and tests
(``optuna.trial.FixedTrial(best_params)``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, TypeVar

from sklearn.pipeline import FeatureUnion, Pipeline

from textauto.components import BuildContext
from textauto.features import FEATURIZERS, REPRESENTATIONS
from textauto.params import is_searched, sample_all, spec_contains
from textauto.space.classifiers import CLASSIFIERS
from textauto.space.config import SpaceConfig


class HasParams(Protocol):
    params: dict[str, Any]


T = TypeVar("T", bound=HasParams)


def build_pipeline(trial: Any, space: SpaceConfig, ctx: BuildContext) -> Pipeline:
    """Sample a representation and a classifier with their parameters; return the pipeline."""
    representation = trial.suggest_categorical("representation", space.representations)
    classifier = trial.suggest_categorical("classifier", space.classifiers)
    parts = []
    for name in REPRESENTATIONS[representation]:
        component = FEATURIZERS[name]
        params = sample_all(trial, name, component.space_for(space.specs(name), ctx))
        parts.append((name, component.build(params, ctx)))
    features = parts[0][1] if len(parts) == 1 else FeatureUnion(parts)
    component = CLASSIFIERS[classifier]
    params = sample_all(trial, classifier, component.space_for(space.specs(classifier), ctx))
    return Pipeline([("features", features), ("clf", component.build(params, ctx))])


def featurizer_key(params: dict[str, Any]) -> str:
    """The part of a trial's parameters that determines its representation, as a string."""
    representation = params["representation"]
    prefixes = tuple(f"{name}." for name in REPRESENTATIONS[representation])
    own = sorted((k, v) for k, v in params.items() if k.startswith(prefixes))
    return repr((representation, own))


def pipeline_kind(params: dict[str, Any]) -> tuple[str, str]:
    """A trial's representation and classifier: what diverse ensemble members differ in."""
    return params.get("representation"), params.get("classifier")


def best_of_each_kind(trials: Iterable[T], k: int | None = None) -> list[T]:
    """The first trial of each kind (``pipeline_kind``) in ``trials``' order, at most ``k``:
    given trials best first, the best of each kind."""
    out: list[T] = []
    kinds: set[tuple[str, str]] = set()
    for t in trials:
        if (kind := pipeline_kind(t.params)) not in kinds and (k is None or len(out) < k):
            kinds.add(kind)
            out.append(t)
    return out


def needs_calibration(params: dict[str, Any]) -> bool:
    """Whether the classifier of these parameters lacks ``predict_proba`` of its own."""
    name = params.get("classifier")
    if name in ("linear_svc", "ridge"):
        return True
    return name == "sgd" and params.get("sgd.loss") == "hinge"


WORD_DEFAULTS = {
    "word.ngram_max": 3, "word.min_df": 1, "word.max_df": 1.0, "word.sublinear_tf": True,
    "word.max_features": 0, "word.lowercase": True, "word.strip_accents": "none",
    "word.stop_words": False, "word.negation": False,
}  # fmt: skip
CHAR_DEFAULTS = {
    "char.analyzer": "char", "char.ngram_min": 1, "char.ngram_max": 5, "char.min_df": 1,
    "char.sublinear_tf": True, "char.max_features": 0, "char.lowercase": True,
}  # fmt: skip

# 300 trees of 31 leaves, each seeing 30% of the columns: as accurate as the linear SVM on
# short texts, in seconds (docs/design.md, "The search space's defaults").
LIGHTGBM_DEFAULTS = {
    "n_estimators": 300, "learning_rate": 0.1, "num_leaves": 31, "min_child_samples": 5,
    "colsample_bytree": 0.3, "reg_lambda": 0.01, "class_weight": "none",
}  # fmt: skip

# Configurations known to be strong on text, evaluated first so that the first trials
# already give a model at least as good as a hand-written baseline.
PORTFOLIO: list[dict[str, Any]] = [
    {  # the hand-written baseline: word 1-2-gram sublinear TF-IDF + linear SVM
        "representation": "word",
        "classifier": "linear_svc",
        **WORD_DEFAULTS,
        "word.ngram_max": 2,
        "linear_svc.C": 1.0,
        "linear_svc.class_weight": "none",
    },
    {  # NB-SVM on word 1-3-grams seen twice (Wang & Manning 2012; Mesnil et al. 2014): strong
        # on sentiment
        "representation": "word",
        "classifier": "nbsvm",
        **WORD_DEFAULTS,
        "word.ngram_max": 3,
        "word.min_df": 2,
        "nbsvm.C": 1.0,
        "nbsvm.alpha": 1.0,
        "nbsvm.class_weight": "none",
    },
    {  # word 1-3-grams beside char 1-5-grams + linear SVM: robust across domains
        "representation": "word+char",
        "classifier": "linear_svc",
        **WORD_DEFAULTS,
        **CHAR_DEFAULTS,
        "linear_svc.C": 0.5,
        "linear_svc.class_weight": "none",
    },
    {  # char 2-6-grams alone: noisy or non-English text
        "representation": "char",
        "classifier": "linear_svc",
        **CHAR_DEFAULTS,
        "char.ngram_min": 2,
        "char.ngram_max": 6,
        "linear_svc.C": 1.0,
        "linear_svc.class_weight": "none",
    },
    {  # char_wb 2-5-grams + SGD (modified Huber, scikit-learn's alpha): a char model that stays
        # cheap where the SVMs above are too slow or too large
        "representation": "char",
        "classifier": "sgd",
        **CHAR_DEFAULTS,
        "char.analyzer": "char_wb",
        "char.ngram_min": 2,
        "char.ngram_max": 5,
        "sgd.loss": "modified_huber",
        "sgd.alpha": 1e-4,
        "sgd.class_weight": "none",
    },
    {  # gradient-boosted trees on word 1-2-grams seen twice: where term interactions matter
        # more than a linear model can express; skipped when the data makes it too slow
        "representation": "word",
        "classifier": "lightgbm",
        **WORD_DEFAULTS,
        "word.ngram_max": 2,
        "word.min_df": 2,
        **{f"lightgbm.{k}": v for k, v in LIGHTGBM_DEFAULTS.items()},
    },
]


# Sound settings of each classifier, for trying it on a representation that won. Not SGD: a
# near twin of the linear SVM, it adds little diversity and drew the sampler to itself
# (docs/design.md, "Pruning and diversity"); SGD stays in the portfolio, on char_wb n-grams.
CLASSIFIER_DEFAULTS: dict[str, dict[str, Any]] = {
    "linear_svc": {"C": 0.5, "class_weight": "none"},
    "logreg": {"C": 4.0, "class_weight": "none"},
    "nbsvm": {"C": 1.0, "alpha": 1.0, "class_weight": "none"},
    "ridge": {"alpha": 1.0, "class_weight": "none"},
    "complement_nb": {"alpha": 0.3, "norm": False},
    "lightgbm": LIGHTGBM_DEFAULTS,
}


def _expressible(entry: dict[str, Any], space: SpaceConfig) -> dict[str, Any] | None:
    """``entry`` cut to the parameters ``space`` searches (and whose values it allows)."""
    if entry["representation"] not in space.representations or entry["classifier"] not in space.classifiers:
        return None
    kept = {"representation": entry["representation"], "classifier": entry["classifier"]}
    for key, value in entry.items():
        component, _, param = key.partition(".")
        if not param:
            continue
        specs = space.specs(component)
        if param in specs and is_searched(specs[param]) and spec_contains(specs[param], value):
            kept[key] = value
    return kept


def portfolio_for(space: SpaceConfig, ctx: BuildContext) -> list[dict[str, Any]]:
    """The portfolio entries this space can express, each cut to the parameters it declares."""
    return [kept for entry in PORTFOLIO if (kept := _expressible(entry, space)) is not None]


def classifier_swaps(params: dict[str, Any], space: SpaceConfig) -> list[dict[str, Any]]:
    """``params``' representation with each other classifier at its defaults.

    Their features come from the cache, so they cost only a classifier fit, and they give the
    ensemble diverse members on the strongest representation.
    """
    prefixes = tuple(f"{name}." for name in REPRESENTATIONS[params["representation"]])
    features = {k: v for k, v in params.items() if k.startswith(prefixes)}
    swaps = []
    for name, defaults in CLASSIFIER_DEFAULTS.items():
        if name == params["classifier"]:
            continue
        entry = {"representation": params["representation"], "classifier": name, **features}
        entry.update({f"{name}.{k}": v for k, v in defaults.items()})
        if (kept := _expressible(entry, space)) is not None:
            swaps.append(kept)
    return swaps
