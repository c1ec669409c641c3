"""What ``/v1/predict`` and ``/v1/explain`` do once a request is parsed and authorized: the
request limits, the model call (for predictions, shared with other requests' texts by the
batcher, or alone), the metrics, the answer."""

from __future__ import annotations

import time

import anyio
from fastapi import HTTPException
from starlette.concurrency import run_in_threadpool

from service.batching import BatchStats, MicroBatcher, Rows
from service.metrics import ServiceMetrics
from service.predictor import Predictor
from service.schemas import ExplainRequest, ExplainResponse, Prediction, PredictRequest, PredictResponse
from service.settings import ServiceSettings
from textauto.exceptions import ExplainError


class PredictEndpoint:
    def __init__(self, settings: ServiceSettings, metrics: ServiceMetrics) -> None:
        self.settings = settings
        self.metrics = metrics

    async def __call__(
        self, body: PredictRequest, predictor: Predictor, batcher: MicroBatcher | None
    ) -> PredictResponse:
        texts = body.texts
        self.check_limits(texts, "texts")
        labels, proba = await self.rows(texts, predictor, batcher)
        predictions = predictor.answers(labels, proba, body.top_k, body.return_probabilities)
        self.record(texts, predictions)
        return PredictResponse(model_version=predictor.version, predictions=predictions)

    def check_limits(self, texts: list[str], field: str) -> None:
        """413 (not 422: the request is well formed) for too many texts or one too long;
        ``field`` names them in the answer (``texts[i]``; a lone ``text`` by itself)."""
        most, longest = self.settings.max_texts, self.settings.max_text_chars
        if len(texts) > most:
            self.metrics.errors.labels("too_large").inc()
            raise HTTPException(413, detail=f"{len(texts)} texts; at most {most} per request")
        for i, text in enumerate(texts):
            if len(text) > longest:
                self.metrics.errors.labels("too_large").inc()
                where = f"{field}[{i}]" if field == "texts" else field
                raise HTTPException(413, detail=f"{where} has {len(text)} characters; at most {longest}")

    async def rows(self, texts: list[str], predictor: Predictor, batcher: MicroBatcher | None) -> Rows:
        if batcher is not None:
            return await batcher.predict(texts)
        started = time.perf_counter()
        rows = await run_in_threadpool(predictor.rows, texts)
        self.metrics.inference_latency.observe(time.perf_counter() - started)
        self.metrics.model_batch.observe(len(texts))
        return rows

    def record(self, texts: list[str], predictions: list[Prediction]) -> None:
        metrics = self.metrics
        metrics.batch_size.observe(len(texts))
        for text, p in zip(texts, predictions, strict=True):
            metrics.input_length.observe(len(text))
            metrics.predictions.labels(p.label).inc()
            metrics.confidence.observe(p.confidence)


class ExplainEndpoint:
    """``/v1/explain``: the limits of ``/v1/predict`` for one text; at most
    ``inference_threads`` explanations run at once (each holds a text's full feature vectors)."""

    def __init__(self, predict: PredictEndpoint) -> None:
        self.predict = predict
        self.limiter: anyio.CapacityLimiter | None = None  # made in the event loop, on first use

    async def __call__(self, body: ExplainRequest, predictor: Predictor) -> ExplainResponse:
        self.predict.check_limits([body.text], "text")
        metrics = self.predict.metrics
        if self.limiter is None:
            self.limiter = anyio.CapacityLimiter(self.predict.settings.inference_threads)
        started = time.perf_counter()
        try:
            answer = await anyio.to_thread.run_sync(
                predictor.explain, body.text, body.class_name, body.top, limiter=self.limiter
            )
        except ExplainError as exc:  # a class the model does not have, or a model it cannot explain
            metrics.errors.labels("validation").inc()
            raise HTTPException(422, detail=str(exc)) from None
        metrics.explain_latency.observe(time.perf_counter() - started)
        metrics.explanations.labels(answer.explained).inc()
        metrics.input_length.observe(len(body.text))
        return answer


def batcher_for(
    settings: ServiceSettings, predictor: Predictor, metrics: ServiceMetrics
) -> MicroBatcher | None:
    """A started batcher of the predictor's model calls; None when batching is off (wait 0)."""
    if settings.max_batch_wait_ms <= 0:
        return None

    def observe(stats: BatchStats) -> None:
        metrics.inference_latency.observe(stats.seconds)
        metrics.model_batch.observe(stats.texts)
        for wait in stats.queue_waits:
            metrics.queue_wait.observe(wait)

    batcher = MicroBatcher(
        predictor.rows,
        settings.max_batch_texts,
        settings.max_batch_wait_ms / 1000,
        observe,
        threads=settings.inference_threads,
    )
    batcher.start()
    return batcher
