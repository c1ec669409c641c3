"""Request and response bodies of the service."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictStr

MAX_EXPLAIN_TOP = 100


def _json_integer(value: Any) -> Any:
    if isinstance(value, str | bool):
        raise ValueError("must be an integer")
    return value


# Integers as JSON Schema counts them: 3 and 3.0, not "3" or true. (The bounds go before the
# validator, or pydantic writes them into the schema under its own names.)
PositiveInt = Annotated[int, Field(ge=1), BeforeValidator(_json_integer)]
FeatureCount = Annotated[int, Field(ge=1, le=MAX_EXPLAIN_TOP), BeforeValidator(_json_integer)]


class PredictRequest(BaseModel):
    """A value of another JSON type than the schema's is refused, not coerced: 0.0 is not false,
    "3" is not 3 (3.0 is, as JSON Schema counts it an integer)."""

    model_config = ConfigDict(extra="forbid")

    texts: list[StrictStr] = Field(min_length=1, description="Texts to classify, answered in order.")
    top_k: PositiveInt | None = Field(default=None, description="Also return the k most likely classes.")
    return_probabilities: StrictBool = Field(default=False, description="Return every class probability.")


class ExplainRequest(BaseModel):
    """Refused, not coerced, as ``PredictRequest``."""

    model_config = ConfigDict(extra="forbid")

    text: StrictStr = Field(description="The text to explain.")
    top: FeatureCount = Field(default=10, description="Features to list each way.")
    class_name: StrictStr | None = Field(
        default=None, alias="class", description="Explain this class (default: the predicted one)."
    )


class FeatureWeight(BaseModel):
    source: str = Field(description="The representation: word, char or spacy.")
    term: str = Field(description="The n-gram or token as the model reads it.")
    weight: float


class ExplainResponse(BaseModel):
    model_version: str
    predicted: str
    explained: str
    probability: float = Field(description="Probability of the explained class.")
    probabilities: dict[str, float] = Field(description="Every class's probability.")
    exact: bool = Field(description="True: intercept + every feature's weight = score, exactly.")
    kind: str = Field(description="What the weights add up to.")
    score: float | None
    intercept: float | None
    toward: list[FeatureWeight] = Field(description="Features pushing toward the class, strongest first.")
    against: list[FeatureWeight] = Field(description="Features pushing away from it, strongest first.")
    features: int = Field(description="How many features of the text the model weighs.")


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
