"""What a search-space component is: a declared space plus a builder from sampled values."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from textauto.params import ParamSpec, Range


@dataclass(frozen=True)
class BuildContext:
    """Run-wide facts a builder needs besides its own sampled parameters."""

    lang: str = "en"
    spacy_model: str | None = None
    probability: bool = False
    seed: int = 0
    n_classes: int = 2


@dataclass(frozen=True)
class Component:
    """A featurizer or classifier: its default space and how to build it from sampled values.

    ``limits`` bounds what a user may declare (for example word n-grams up to 3); ``active``
    narrows the declared space for a context (POS features only with a trained pipeline).
    """

    name: str
    space: dict[str, ParamSpec]
    build: Callable[[dict[str, Any], BuildContext], Any]
    limits: dict[str, tuple[float, float]] = field(default_factory=dict)
    active: Callable[[dict[str, ParamSpec], BuildContext], dict[str, ParamSpec]] | None = None

    def space_for(self, specs: dict[str, ParamSpec], ctx: BuildContext) -> dict[str, ParamSpec]:
        return self.active(specs, ctx) if self.active else specs


def none_if(value: Any, *nulls: Any) -> Any:
    """TOML has no null: declared specs spell "no value" as ``"none"`` or ``0``."""
    return None if value in nulls else value


def log_range(low: float, high: float) -> Range:
    return Range(low=low, high=high, log=True)


def int_range(low: int, high: int) -> Range:
    return Range(low=low, high=high)


def float_range(low: float, high: float) -> Range:
    return Range(low=float(low), high=float(high))
