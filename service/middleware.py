"""A pure ASGI middleware: request metrics, in-flight gauge and the request-body size limit.

Pure ASGI (not BaseHTTPMiddleware) keeps the per-request overhead to a few microseconds.
"""

from __future__ import annotations

import json
import time
from typing import Any

from service.metrics import ServiceMetrics, method_label

Scope = dict[str, Any]
UNMATCHED = "unmatched"  # bounded label for paths no route knows


class ObservabilityMiddleware:
    def __init__(self, app: Any, metrics: ServiceMetrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        m = self.metrics
        method = method_label(scope["method"])
        status = 500
        started = time.perf_counter()
        m.in_flight.inc()

        async def send_and_record(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            declared = _content_length(scope)
            if declared is not None and declared > self.max_body_bytes:
                status = await self._too_large(send)
                return
            if declared is None and scope["method"] in ("POST", "PUT", "PATCH"):
                # A body without Content-Length (chunked) is read here first, up to the limit.
                body = await self._read_limited(receive)
                if body is None:
                    status = await self._too_large(send)
                    return
                receive = _replay(body)
            await self.app(scope, receive, send_and_record)
        finally:
            m.in_flight.dec()
            route = scope.get("route")
            path = getattr(route, "path", UNMATCHED)
            m.requests.labels(path, method, str(status)).inc()
            m.request_latency.labels(path, method).observe(time.perf_counter() - started)

    async def _read_limited(self, receive: Any) -> bytes | None:
        """The whole body, or None once it grows past the limit."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _too_large(self, send: Any) -> int:
        self.metrics.errors.labels("too_large").inc()
        body = json.dumps({"detail": f"request body larger than {self.max_body_bytes} bytes"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return 413


def _replay(body: bytes) -> Any:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
