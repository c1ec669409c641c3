"""The textauto model service: FastAPI app, settings, predictor and Prometheus metrics."""

from service.app import app_from_env, create_app
from service.settings import ServiceSettings

__all__ = ["ServiceSettings", "app_from_env", "create_app"]
