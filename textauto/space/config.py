"""The declared search space: the ``[space]`` section of the run configuration.

Every representation and classifier gets a field holding its parameter specs; a declared
component keeps the default spec of each parameter it does not name.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

from textauto.components import Component
from textauto.features import FEATURIZERS, REPRESENTATIONS
from textauto.params import STRICT, ParamSpec, Range
from textauto.space.classifiers import CLASSIFIERS

COMPONENTS: dict[str, Component] = {**FEATURIZERS, **CLASSIFIERS}


def _component_field(name: str) -> Any:
    return Field(default_factory=lambda: dict(COMPONENTS[name].space))


class SpaceConfig(BaseModel):
    model_config = STRICT

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
