"""Service settings, read once from ``TEXTAUTO_*`` environment variables and validated."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
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
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Serve /metrics on this port only (not on the API's); None: on the API's port.",
    )
    docs: bool = Field(default=True, description="Serve /docs, /redoc and /openapi.json.")
    spacy_cache_texts: int = Field(
        default=4096, ge=0, description="spaCy parses kept per pipeline (least recently used go first)."
    )
    spacy_pipelines: int = Field(
        default=2, ge=1, description="Threads that may parse with spaCy at once, each with its own pipeline."
    )
    spacy_vocabulary_strings: int = Field(
        default=20_000,
        ge=0,
        description=(
            "Strings (words, lemmas, shapes) each spaCy pipeline keeps from the first texts it parses, "
            "so that common words are found, not made anew per request; later texts' are forgotten."
        ),
    )
    max_batch_texts: int = Field(
        default=64, ge=1, description="Most texts the model predicts in one call (requests batched together)."
    )
    max_batch_wait_ms: float = Field(
        default=2.0,
        ge=0,
        description="Longest a request waits for others to share its model call; 0 turns batching off.",
    )
    inference_threads: int = Field(
        default=1,
        ge=1,
        description="Model calls a worker runs at once, each in a thread of its own (they share one GIL).",
    )
    shutdown_timeout: float = Field(
        default=30.0, gt=0, description="Seconds in-flight requests get to finish after SIGTERM."
    )

    @field_validator("api_token")
    @classmethod
    def _token_not_blank(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("is set but empty: give a token, or unset it to serve without one")
        return value
