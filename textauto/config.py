"""The validated configuration of a run: data, validation, search and search space.

Config flows one way: a TOML file and dotted CLI overrides -> ``RunConfig`` -> plain arguments.
The defaults here are the ones ``configs/default.toml`` documents (a test keeps them equal).
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator

from textauto.exceptions import ConfigError
from textauto.params import STRICT
from textauto.space.config import SpaceConfig
from textauto.validation.config import ValidationConfig
from textauto.validation.metrics import METRICS

# Longer training texts are cut: one 50 MB line made a 200-row run peak at 3 GB.
MAX_TEXT_CHARS = 100_000
# the stacker takes at most this many members; the refit reserve prices that many
STACK_MEMBERS = 8


class _Strict(BaseModel):
    model_config = STRICT


class DataConfig(_Strict):
    text_col: str = "text"
    label_col: str = "label"
    lang: str = "auto"
    test_size: float | None = Field(default=None, gt=0.0, lt=1.0)
    max_text_chars: int = Field(default=MAX_TEXT_CHARS, ge=1)


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
