"""Request and response bodies of the service."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, field_validator


class PredictRequest(BaseModel):
    """A value of another JSON type than the schema's is refused, not coerced: 0.0 is not false,
    "3" is not 3 (3.0 is, as JSON Schema counts it an integer)."""

    model_config = ConfigDict(extra="forbid")

    texts: list[StrictStr] = Field(min_length=1, description="Texts to classify, answered in order.")
    top_k: int | None = Field(default=None, ge=1, description="Also return the k most likely classes.")
    return_probabilities: StrictBool = Field(default=False, description="Return every class probability.")

    @field_validator("top_k", mode="before")
    @classmethod
    def _a_number(cls, value: Any) -> Any:
        if isinstance(value, str | bool):
            raise ValueError("must be an integer")
        return value


class ClassScore(BaseModel):
    label: str
    probability: float


class Prediction(BaseModel):
    label: str
    confidence: float = Field(description="Probability of the predicted label.")
    top_k: list[ClassScore] | None = None
    probabilities: dict[str, float] | None = None


class PredictResponse(BaseModel):
    model_version: str
    predictions: list[Prediction]


class ModelInfo(BaseModel):
    name: str
    version: str
    classes: list[str]
    metric: str
    validation_score: float
    test_metrics: dict[str, float] | None
    best_params: dict[str, Any]
    created: str
    bundle_hash: str


class Status(BaseModel):
    status: str


class ErrorBody(BaseModel):
    detail: Any
