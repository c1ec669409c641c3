"""Declared hyperparameter specs and how a trial samples them.

A spec is one of:
- a scalar (``1.0``, ``true``, ``"english"``): the parameter is fixed, nothing is sampled;
- a list (``[true, false]``): a categorical choice among its items;
- a range (``{low = 0.01, high = 100, log = true}``): integers when both ends are integers.

Parameter names carry their component (``logreg.C``) so conditional branches never collide.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

# every section of the run configuration: unknown keys refused, assignments validated
STRICT = ConfigDict(extra="forbid", validate_assignment=True)

Scalar = bool | int | float | str | None


class Range(BaseModel):
    """A numeric interval, sampled uniformly or log-uniformly; integer when both ends are."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    low: int | float
    high: int | float
    log: bool = False

    @model_validator(mode="after")
    def _check(self) -> Range:
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) must be <= high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"a log range needs low > 0, got {self.low}")
        return self

    @property
    def is_int(self) -> bool:
        return isinstance(self.low, int) and isinstance(self.high, int)

    def contains(self, value: Any) -> bool:
        return self.low <= value <= self.high


ParamSpec = Range | list[Scalar] | Scalar


def suggest(trial: Any, name: str, spec: ParamSpec) -> Any:
    """Sample ``name`` from ``spec`` on an Optuna trial (or return the fixed value)."""
    if isinstance(spec, Range):
        if spec.is_int:
            return trial.suggest_int(name, spec.low, spec.high, log=spec.log)
        return trial.suggest_float(name, float(spec.low), float(spec.high), log=spec.log)
    if isinstance(spec, list):
        if len(spec) == 1:
            return spec[0]
        return trial.suggest_categorical(name, spec)
    return spec


def spec_contains(spec: ParamSpec, value: Any) -> bool:
    """Whether ``value`` is one the spec can produce (used by tests and config checks)."""
    if isinstance(spec, Range):
        return spec.contains(value)
    if isinstance(spec, list):
        return value in spec
    return value == spec


def is_searched(spec: ParamSpec) -> bool:
    """Whether a trial samples this spec (a fixed value or a one-item list is not sampled)."""
    return isinstance(spec, Range) or (isinstance(spec, list) and len(spec) > 1)


def sample_all(trial: Any, component: str, specs: dict[str, ParamSpec]) -> dict[str, Any]:
    """Sample every parameter of a component under its prefix; return plain name -> value."""
    return {param: suggest(trial, f"{component}.{param}", spec) for param, spec in specs.items()}
