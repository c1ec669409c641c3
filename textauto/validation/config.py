"""How a run validates its candidates: the ``[validation]`` section of the run configuration."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from textauto.params import STRICT


class ValidationConfig(BaseModel):
    model_config = STRICT

    strategy: Literal["auto", "kfold", "holdout"] = "auto"
    folds: int = Field(default=5, ge=2, le=20)
    holdout_size: float = Field(default=0.2, gt=0.0, lt=1.0)
    # "auto" takes a holdout only where its standard error is at most ``max_holdout_se`` (at
    # the worst case, 50% accuracy), and either the rows reach ``holdout_threshold`` or the
    # budget could not pay ``reference_trials`` k-fold trials (textauto.validation.splits).
    holdout_threshold: int = Field(default=20_000, ge=1)
    max_holdout_se: float = Field(default=0.0125, gt=0.0, lt=0.5)
    reference_trials: int = Field(default=12, ge=1)
    # "auto" repeats k-fold on data too small to measure finely even with every row validated
    # (worst-case standard error over all rows above ``max_holdout_se``), up to this many times
    max_repeats: int = Field(default=3, ge=1, le=10)
    group_repeats: bool = False
    group_phrases: bool = True
