"""Service settings, read once from ``TEXTAUTO_*`` environment variables and validated."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Where the model is and the limits every request must respect."""

    model_config = SettingsConfigDict(env_prefix="TEXTAUTO_", extra="ignore")

    model_dir: Path = Field(description="A model bundle written by `textauto train`.")
    max_texts: int = Field(default=256, ge=1, description="Most texts in one request.")
    max_text_chars: int = Field(default=20_000, ge=1, description="Most characters in one text.")
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, description="Largest request body.")
    api_token: SecretStr | None = Field(
        default=None, description="When set, /v1/predict requires `Authorization: Bearer <token>`."
    )
