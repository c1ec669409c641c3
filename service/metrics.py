"""Every Prometheus metric of the service, defined here and only here.

Units are in the names; label values are bounded (route templates, methods, status codes,
model classes, error kinds), never user text. With several workers, prometheus-client's
multiprocess mode is on (``PROMETHEUS_MULTIPROC_DIR``): each worker writes its values to that
directory and ``/metrics`` sums them across workers.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client import multiprocess as mp

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
WAIT_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
LENGTH_BUCKETS = (10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 100_000)
CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)
ERROR_KINDS = ("validation", "too_large", "unauthorized", "not_found", "not_ready", "internal")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

__all__ = ["CONTENT_TYPE_LATEST", "ServiceMetrics", "method_label", "multiprocess_dir"]


def method_label(method: str) -> str:
    """A client may send any method name: beyond the standard ones, count it as "other"."""
    return method if method in METHODS else "other"


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class ServiceMetrics:
    """The service's metrics on their own registry (one per app, so tests stay independent)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._http(self.registry)
        self._inference(self.registry)
        self._model(self.registry)
        self._processes(self.registry)

    def _http(self, r: CollectorRegistry) -> None:
        self.requests = Counter(
            "textauto_http_requests_total", "HTTP requests by route, method and status.",
            ["route", "method", "status"], registry=r,
        )  # fmt: skip
        self.request_latency = Histogram(
            "textauto_http_request_duration_seconds", "Time to answer an HTTP request.",
            ["route", "method"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.in_flight = Gauge(
            "textauto_http_requests_in_flight", "Requests being answered now.",
            multiprocess_mode="livesum", registry=r,
        )  # fmt: skip
        self.errors = Counter("textauto_errors_total", "Failed requests by kind.", ["kind"], registry=r)

    def _inference(self, r: CollectorRegistry) -> None:
        self.inference_latency = Histogram(
            "textauto_inference_duration_seconds", "Time the model takes for one call (a batch of texts).",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.batch_size = Histogram(
            "textauto_batch_size_texts", "Texts per prediction request.", buckets=BATCH_BUCKETS, registry=r
        )
        self.model_batch = Histogram(
            "textauto_model_batch_texts", "Texts per model call (requests batched together).",
            buckets=BATCH_BUCKETS, registry=r,
        )  # fmt: skip
        self.queue_wait = Histogram(
            "textauto_batch_queue_wait_seconds", "Time a request waited for its model call to begin.",
            buckets=WAIT_BUCKETS, registry=r,
        )  # fmt: skip
        self.input_length = Histogram(
            "textauto_input_length_chars", "Characters per input text.", buckets=LENGTH_BUCKETS, registry=r
        )
        self.predictions = Counter(
            "textauto_predictions_total", "Predicted labels by class.", ["label"], registry=r
        )
        self.explain_latency = Histogram(
            "textauto_explain_duration_seconds", "Time the model takes to explain one text.",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.explanations = Counter(
            "textauto_explanations_total",
            "Explanations answered, by the class explained.",
            ["label"],
            registry=r,
        )
        self.confidence = Histogram(
            "textauto_prediction_confidence_ratio",
            "Probability of the predicted label (falling values are the first sign of drift).",
            buckets=CONFIDENCE_BUCKETS, registry=r,
        )  # fmt: skip

    def _model(self, r: CollectorRegistry) -> None:
        self.model_info = Gauge(
            "textauto_model_info", "The model being served (value 1), by name, version and bundle hash.",
            ["name", "version", "bundle_hash"], multiprocess_mode="max", registry=r,
        )  # fmt: skip
        self.model_load = Gauge(
            "textauto_model_load_duration_seconds", "Seconds it took to load the model.",
            multiprocess_mode="max", registry=r,
        )  # fmt: skip

    def _processes(self, r: CollectorRegistry) -> None:
        """Process figures of every live worker, summed (prometheus-client's own process
        collector does not work across processes)."""

        def summed(name: str, doc: str) -> Gauge:
            return Gauge(name, doc, multiprocess_mode="livesum", registry=r)

        self.resident_memory = summed(
            "textauto_process_resident_memory_bytes", "Resident memory of the service's workers."
        )
        self.cpu_seconds = summed(
            "textauto_process_cpu_seconds", "CPU seconds the service's workers have used."
        )
        self.open_fds = summed("textauto_process_open_fds", "Open file descriptors of the service's workers.")
        self._process = ProcessCollector(registry=None)

    def sample_process(self) -> None:
        """Record this worker's resident memory, CPU time and open files (Linux /proc)."""
        values = {s.name: s.value for family in self._process.collect() for s in family.samples}
        if "process_resident_memory_bytes" in values:
            self.resident_memory.set(values["process_resident_memory_bytes"])
            self.cpu_seconds.set(values["process_cpu_seconds_total"])
            self.open_fds.set(values.get("process_open_fds", 0))

    def render(self) -> bytes:
        """The exposition text: summed over every worker in multiprocess mode."""
        if multiprocess_dir():
            registry = CollectorRegistry()
            mp.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)

    @staticmethod
    def mark_worker_dead(pid: int) -> None:
        if multiprocess_dir():
            mp.mark_process_dead(pid)
