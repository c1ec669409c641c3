"""The validated configuration of a run: data, validation, search and search space.

Config flows one way: a TOML file and dotted CLI overrides -> ``RunConfig`` -> plain arguments.
The defaults here are the ones ``configs/default.toml`` documents (a test keeps them equal).
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from textauto.classifiers import CLASSIFIERS
from textauto.components import Component
from textauto.exceptions import ConfigError
from textauto.features import FEATURIZERS, REPRESENTATIONS
from textauto.metrics import METRICS
from textauto.params import ParamSpec, Range

# Longer training texts are cut: one 50 MB line made a 200-row run peak at 3 GB.
MAX_TEXT_CHARS = 100_000
COMPONENTS: dict[str, Component] = {**FEATURIZERS, **CLASSIFIERS}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(_Strict):
    text_col: str = "text"
    label_col: str = "label"
    lang: str = "auto"
    test_size: float | None = Field(default=None, gt=0.0, lt=1.0)
    max_text_chars: int = Field(default=MAX_TEXT_CHARS, ge=1)


class ValidationConfig(_Strict):
    strategy: Literal["auto", "kfold", "holdout"] = "auto"
    folds: int = Field(default=5, ge=2, le=20)
    holdout_size: float = Field(default=0.2, gt=0.0, lt=1.0)
    holdout_threshold: int = Field(default=20_000, ge=1)
    holdout_threshold_chars: int = Field(default=5_000_000, ge=1)
    group_repeats: bool = False
    group_phrases: bool = True


class SearchConfig(_Strict):
    metric: str = "accuracy"
    time_budget: float | None = Field(default=300.0, gt=0)
    n_trials: int | None = Field(default=None, ge=1)
    seed: int = 0
    storage: str | None = None
    study_name: str = "textauto"
    warm_start: bool = True
    pruning: bool = True
    max_trial_fraction: float = Field(default=0.5, gt=0.0, le=1.0)
    n_jobs: int = -1
    ensemble_size: int = Field(default=25, ge=0)
    cache_mb: int = Field(default=512, ge=0)
    memory_mb: int = Field(default=1024, ge=1)
    heartbeat_seconds: int = Field(default=20, ge=1)
    stale_seconds: int = Field(default=120, ge=1)
    trial_retries: int = Field(default=1, ge=0)

    @field_validator("n_jobs")
    @classmethod
    def _jobs(cls, v: int) -> int:
        if v != -1 and v < 1:
            raise ValueError("must be -1 (all cores) or at least 1")
        return v

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, v: str) -> str:
        if v not in METRICS:
            raise ValueError(f"unknown metric {v!r}; available: {', '.join(METRICS)}")
        return v


def _component_field(name: str) -> Any:
    return Field(default_factory=lambda: dict(COMPONENTS[name].space))


class SpaceConfig(_Strict):
    representations: list[str] = Field(default_factory=lambda: list(REPRESENTATIONS))
    classifiers: list[str] = Field(default_factory=lambda: list(CLASSIFIERS))
    spacy_model: str | None = None
    word: dict[str, ParamSpec] = _component_field("word")
    char: dict[str, ParamSpec] = _component_field("char")
    spacy: dict[str, ParamSpec] = _component_field("spacy")
    logreg: dict[str, ParamSpec] = _component_field("logreg")
    linear_svc: dict[str, ParamSpec] = _component_field("linear_svc")
    sgd: dict[str, ParamSpec] = _component_field("sgd")
    ridge: dict[str, ParamSpec] = _component_field("ridge")
    complement_nb: dict[str, ParamSpec] = _component_field("complement_nb")
    multinomial_nb: dict[str, ParamSpec] = _component_field("multinomial_nb")
    nbsvm: dict[str, ParamSpec] = _component_field("nbsvm")
    lightgbm: dict[str, ParamSpec] = _component_field("lightgbm")

    @field_validator("representations", "classifiers")
    @classmethod
    def _known_names(cls, v: list[str], info: Any) -> list[str]:
        known = REPRESENTATIONS if info.field_name == "representations" else CLASSIFIERS
        if not v:
            raise ValueError(f"choose at least one; available: {', '.join(known)}")
        unknown = [n for n in v if n not in known]
        if unknown:
            raise ValueError(f"unknown name {unknown[0]!r}; available: {', '.join(known)}")
        return list(dict.fromkeys(v))

    @field_validator(*COMPONENTS, mode="before")
    @classmethod
    def _merge_defaults(cls, v: Any, info: Any) -> Any:
        """A declared component keeps the default spec of every parameter it does not name."""
        component = COMPONENTS[info.field_name]
        if not isinstance(v, dict):
            return v
        unknown = [k for k in v if k not in component.space]
        if unknown:
            raise ValueError(
                f"unknown parameter {unknown[0]!r}; {component.name} has: {', '.join(component.space)}"
            )
        return {**component.space, **v}

    @model_validator(mode="after")
    def _within_limits(self) -> SpaceConfig:
        for name, component in COMPONENTS.items():
            for param, (low, high) in component.limits.items():
                spec = getattr(self, name)[param]
                values = [spec.low, spec.high] if isinstance(spec, Range) else spec
                for value in values if isinstance(values, list) else [values]:
                    if not isinstance(value, int | float) or not low <= value <= high:
                        raise ValueError(f"{name}.{param}: {value!r} is outside the allowed {low}..{high}")
        return self

    def specs(self, component: str) -> dict[str, ParamSpec]:
        return getattr(self, component)


class RunConfig(_Strict):
    data: DataConfig = Field(default_factory=DataConfig)
    validation: ValidationConfig = Field(default_factory=ValidationConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)
    space: SpaceConfig = Field(default_factory=SpaceConfig)


def parse_value(text: str) -> Any:
    """A CLI override value: a TOML literal (number, bool, list, inline table) or a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``tree["a"]["b"]["c"] = value`` for ``dotted == "a.b.c"``."""
    *parents, leaf = dotted.split(".")
    node = tree
    for key in parents:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{dotted}: {key!r} is a value, not a section")
        node = child
    node[leaf] = value


def build_config(
    path: Path | None = None,
    overrides: dict[str, Any] | None = None,
    tree: dict[str, Any] | None = None,
) -> RunConfig:
    """Load ``path`` (TOML) or take ``tree``, apply dotted ``overrides``, validate everything."""
    tree = copy.deepcopy(tree) if tree else {}
    source = "config"
    if path is not None:
        source = str(path)
        try:
            tree = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"{path}: config file not found") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    for dotted, value in (overrides or {}).items():
        set_dotted(tree, dotted, value)
    try:
        return RunConfig.model_validate(tree)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, source)) from exc


def describe_validation_error(exc: ValidationError, source: str) -> str:
    """One line per problem, each naming the dotted field."""
    lines = []
    for err in exc.errors():
        # Drop pydantic's union-branch markers so the path reads like the config file.
        loc = [str(p) for p in err["loc"] if not str(p).startswith(("function-", "list[", "Range"))]
        field = ".".join(p for p in loc if p not in ("bool", "int", "float", "str", "none"))
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{source}: {field or 'config'}: {msg}")
    return "\n".join(dict.fromkeys(lines))
