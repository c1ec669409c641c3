"""The FastAPI application that serves a textauto model bundle.

``create_app(settings)`` builds an app; nothing is loaded at import. The model is loaded in
``lifespan``, so ``/readyz`` answers 200 only once it is ready.
"""

# No `from __future__ import annotations`: FastAPI reads the route signatures, whose
# dependency aliases are local to create_app.
import asyncio
import gc
import logging
import os
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.metrics import CONTENT_TYPE_LATEST, ServiceMetrics
from service.middleware import ObservabilityMiddleware
from service.predicting import ExplainEndpoint, PredictEndpoint, batcher_for
from service.predictor import Predictor
from service.schemas import (
    ErrorBody,
    ExplainRequest,
    ExplainResponse,
    ModelInfo,
    PredictRequest,
    PredictResponse,
    Status,
)
from service.settings import ServiceSettings
from textauto.exceptions import TextAutoError
from textauto.features.spacy_parse import bounded_parses

log = logging.getLogger("textauto.service")
bearer = HTTPBearer(auto_error=False)
WARM_UP_TEXT = "textauto warm-up"
PROCESS_SAMPLE_SECONDS = 5.0


def create_app(settings: ServiceSettings) -> FastAPI:
    metrics = ServiceMetrics()
    app = _new_app(settings, metrics)
    get_predictor = _predictor_of(metrics)
    check_token = _token_check(settings, metrics)
    PredictorDep = Annotated[Predictor, Depends(get_predictor)]
    endpoint = PredictEndpoint(settings, metrics)
    explainer = ExplainEndpoint(endpoint)

    add_error_handlers(app, metrics)

    @app.post(
        "/v1/predict",
        response_model=PredictResponse,
        # The token check is a dependency only when a token is configured: no cost otherwise.
        dependencies=[Depends(check_token)] if settings.api_token else [],
        summary="Classify a batch of texts; answers are in input order.",
    )
    async def predict(body: PredictRequest, request: Request, predictor: PredictorDep) -> PredictResponse:
        return await endpoint(body, predictor, request.app.state.batcher)

    @app.post(
        "/v1/explain",
        response_model=ExplainResponse,
        dependencies=[Depends(check_token)] if settings.api_token else [],
        summary="Which words and n-grams of a text pushed the model toward a class, and by how much.",
    )
    async def explain(body: ExplainRequest, predictor: PredictorDep) -> ExplainResponse:
        return await explainer(body, predictor)

    @app.get("/v1/model", response_model=ModelInfo, summary="What model is served, and how it scored.")
    def model_info(predictor: PredictorDep) -> ModelInfo:
        return predictor.info()

    @app.get("/healthz", response_model=Status, summary="The process is alive.")
    def healthz() -> Status:
        return Status(status="ok")

    @app.get(
        "/readyz",
        response_model=Status,
        responses={503: {"model": ErrorBody}},
        summary="Ready once the model is loaded.",
    )
    def readyz(predictor: PredictorDep) -> Status:
        return Status(status="ready")

    if settings.metrics_port is None:  # else served on its own port (service.runner)

        @app.get("/metrics", summary="Prometheus metrics (summed over workers).", response_class=Response)
        def metrics_endpoint() -> Response:
            metrics.sample_process()
            return Response(content=metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return app


def _new_app(settings: ServiceSettings, metrics: ServiceMetrics) -> FastAPI:
    """The app with its documented answers, its state and its middleware; no routes yet."""
    docs = settings.docs
    app = FastAPI(
        title="textauto model service",
        summary="Text classification by a model that textauto searched and trained.",
        lifespan=lambda app: serving(app, settings, metrics),
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
        responses={
            400: {"model": ErrorBody, "description": "The body is not JSON."},
            401: {"model": ErrorBody, "description": "Missing or wrong bearer token."},
            413: {"model": ErrorBody, "description": "Too many texts, or one too long."},
            422: {"model": ErrorBody, "description": "The body does not match the request schema."},
            503: {"model": ErrorBody, "description": "The model is not loaded yet."},
        },
    )
    app.openapi = lambda: openapi_with_limits(app, settings)  # type: ignore[method-assign]
    app.state.predictor = app.state.batcher = None
    app.state.settings = settings
    app.state.metrics = metrics
    app.add_middleware(ObservabilityMiddleware, metrics=metrics, max_body_bytes=settings.max_body_bytes)
    return app


def _predictor_of(metrics: ServiceMetrics) -> Callable[[Request], Predictor]:
    """The dependency giving routes the loaded predictor; 503 until it is loaded."""

    def get_predictor(request: Request) -> Predictor:
        predictor = request.app.state.predictor
        if predictor is None:
            metrics.errors.labels("not_ready").inc()
            raise HTTPException(status_code=503, detail="model not loaded yet")
        return predictor

    return get_predictor


def _token_check(settings: ServiceSettings, metrics: ServiceMetrics) -> Callable[..., None]:
    """The dependency refusing a missing or wrong bearer token (401) when one is configured."""

    def check_token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
        expected = settings.api_token
        if expected is None:
            return
        given = credentials.credentials if credentials else ""
        if not secrets.compare_digest(given.encode(), expected.get_secret_value().encode()):
            metrics.errors.labels("unauthorized").inc()
            raise HTTPException(
                status_code=401,
                detail="missing or wrong bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return check_token


def add_error_handlers(app: FastAPI, metrics: ServiceMetrics) -> None:
    """Errors answered in the service's own shape, each counted by kind."""

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        metrics.errors.labels("validation").inc()
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return JSONResponse(status_code=422, content={"detail": errors})

    @app.exception_handler(404)
    async def not_found(request: Request, exc: Exception) -> JSONResponse:
        metrics.errors.labels("not_found").inc()
        return JSONResponse(status_code=404, content={"detail": f"no route {request.url.path}"})


@asynccontextmanager
async def serving(app: FastAPI, settings: ServiceSettings, metrics: ServiceMetrics) -> AsyncIterator[None]:
    """The app's lifespan: the model loaded and warmed, the batcher and process sampler running."""
    spacy = settings.spacy_cache_texts, settings.spacy_pipelines, settings.spacy_vocabulary_strings
    with bounded_parses(*spacy):
        predictor = warmed_predictor(settings)
        # The model's objects live as long as the worker: out of the collector's way, or each full
        # collection walks all of them (over 100 ms for an ensemble with spaCy members).
        gc.collect()
        gc.freeze()
        app.state.predictor = predictor
        metrics.model_load.set(predictor.load_seconds)
        metrics.model_info.labels(predictor.name, predictor.version, predictor.bundle_hash).set(1)
        sampler = asyncio.create_task(sample_process(metrics))
        batcher = batcher_for(settings, predictor, metrics)
        app.state.batcher = batcher
        try:
            yield
        finally:
            sampler.cancel()
            if batcher is not None:
                await batcher.stop()
            app.state.predictor = app.state.batcher = None
            metrics.mark_worker_dead(os.getpid())


def openapi_with_limits(app: FastAPI, settings: ServiceSettings) -> dict:
    """The OpenAPI schema, with the request limits of these settings declared in it (they are
    checked in the route, to answer 413 rather than 422), and, once the model is loaded, the
    classes ``/v1/explain`` can explain."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
        bodies = schema["components"]["schemas"]
        texts = bodies["PredictRequest"]["properties"]["texts"]
        texts["maxItems"] = settings.max_texts
        texts["items"]["maxLength"] = settings.max_text_chars
        explain = bodies["ExplainRequest"]["properties"]
        explain["text"]["maxLength"] = settings.max_text_chars
        predictor = app.state.predictor
        if predictor is None:  # not loaded yet: the schema without the classes, not kept
            return schema
        explain["class"]["anyOf"] = [{"type": "string", "enum": predictor.classes}, {"type": "null"}]
        app.openapi_schema = schema
    return app.openapi_schema


def warmed_predictor(settings: ServiceSettings) -> Predictor:
    """The model loaded and one prediction made: /readyz says ready only after this."""
    try:
        predictor = Predictor(settings.model_dir)
        # a full batch: n-gram vocabularies build their hash tables now, not on a request
        predictor.predict([WARM_UP_TEXT] * settings.max_batch_texts, None, False)
    except TextAutoError as exc:
        log.error("cannot serve %s: %s", settings.model_dir, exc)
        raise
    log.info(
        "model %s (version %s) loaded in %.2fs", predictor.name, predictor.version, predictor.load_seconds
    )
    return predictor


async def sample_process(metrics: ServiceMetrics) -> None:
    """Keep this worker's process figures fresh for scrapes served by any worker."""
    while True:
        metrics.sample_process()
        await asyncio.sleep(PROCESS_SAMPLE_SECONDS)


def app_from_env() -> FastAPI:
    """Factory for uvicorn (``--factory``): settings come from ``TEXTAUTO_*`` variables."""
    return create_app(ServiceSettings())
