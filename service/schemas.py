"""Request and response bodies of the service."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    texts: list[str] = Field(min_length=1, description="Texts to classify, answered in order.")
    top_k: int | None = Field(default=None, ge=1, description="Also return the k most likely classes.")
    return_probabilities: bool = Field(default=False, description="Return every class probability.")


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
