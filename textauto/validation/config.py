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
    holdout_threshold: int = Field(default=20_000, ge=1)
    holdout_threshold_chars: int = Field(default=5_000_000, ge=1)
    group_repeats: bool = False
    group_phrases: bool = True
