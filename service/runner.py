"""`textauto serve`: run the app under uvicorn, with multiprocess metrics for several workers.

Everything that can be told before the workers start is checked here, so that a bad setting or
bundle is one line and exit code 2, not a worker's traceback: the settings, the bundle's hashes
and types, and the metrics directory.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import socket
import sys
import tempfile
from pathlib import Path

from pydantic import ValidationError
from uvicorn.supervisors import Multiprocess

from service.settings import ServiceSettings
from textauto.bundle import spacy_pipeline, verify
from textauto.exceptions import ConfigError

log = logging.getLogger("uvicorn.error")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
OURS = ".textauto-metrics"  # marks a metrics directory textauto serve created


def prepare_multiprocess_dir() -> Path:
    """An empty directory for prometheus-client's multiprocess files, named in the environment.

    Stale files from an earlier run would add old counts to the new one, so a directory that
    ``serve`` made before is emptied of them; one it did not make is used only if empty.
    """
    given = os.environ.get(MULTIPROC_ENV)
    path = Path(given) if given else Path(tempfile.mkdtemp(prefix="textauto-metrics-"))
    path.mkdir(parents=True, exist_ok=True)
    entries = [p for p in path.iterdir() if p.name != OURS]
    if entries and not (path / OURS).exists():
        raise ConfigError(
            f"{MULTIPROC_ENV}={path}: not empty and not made by textauto serve; point it at a new "
            "or empty directory (serve empties only the metrics directories it made)"
        )
    for entry in entries:
        if entry.is_file() and entry.suffix == ".db":
            entry.unlink()
    (path / OURS).touch()
    os.environ[MULTIPROC_ENV] = str(path)
    return path


def read_settings() -> ServiceSettings:
    try:
        return ServiceSettings()
    except ValidationError as exc:
        problems = "; ".join(
            f"TEXTAUTO_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"service settings: {problems}") from None


def serve(
    model_dir: Path,
    host: str,
    port: int,
    workers: int,
    log_level: str = "info",
    metrics_port: int | None = None,
) -> None:
    import uvicorn

    manifest, _ = verify(model_dir)
    pipeline = spacy_pipeline(manifest)
    if pipeline and importlib.util.find_spec(pipeline) is None:
        raise ConfigError(
            f"{model_dir}: the model parses with the spaCy pipeline {pipeline!r}, which is not installed "
            f"here; install it (python -m spacy download {pipeline}) and serve again"
        )
    os.environ["TEXTAUTO_MODEL_DIR"] = str(Path(model_dir).resolve())
    if metrics_port is not None:
        os.environ["TEXTAUTO_METRICS_PORT"] = str(metrics_port)
    settings = read_settings()
    if settings.metrics_port == port:
        raise ConfigError(f"--metrics-port {port}: the API listens there; choose another port")
    if workers > 1 or settings.metrics_port is not None:
        prepare_multiprocess_dir()
    if settings.metrics_port is not None:
        start_metrics_server(host, settings.metrics_port)
    options = {
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        "log_level": log_level,
        "access_log": False,  # requests are counted in /metrics; a line per request costs throughput
        "timeout_graceful_shutdown": settings.shutdown_timeout,
    }
    if workers > 1 and sys.platform.startswith("linux"):  # SO_REUSEPORT spreads connections there
        held = listening_socket(host, port)  # the port, checked and kept while workers come and go
        options["port"] = port = held.getsockname()[1]  # --port 0: the one the system chose
        config = uvicorn.Config("service.app:app_from_env", **options)  # sets up uvicorn's logging
        log.info("Uvicorn running on http://%s:%d, a listening socket per worker", host, port)
        try:
            SocketPerWorker(config, sockets=[]).run()
        finally:
            held.close()
    else:
        uvicorn.run("service.app:app_from_env", **options)


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` with SO_REUSEPORT: several can share the port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"--port {port}: cannot listen on {host}:{port} ({exc.strerror})") from exc
    sock.set_inheritable(True)
    return sock


class SocketPerWorker(Multiprocess):
    """uvicorn's supervisor (restarts, signals, health checks), each worker listening on a socket
    of its own, all bound to one port.

    On one shared socket, the worker woken first accepts every pending connection: 16 clients
    connecting together mostly landed on one of two workers. With a socket each, the kernel
    spreads connections over the workers by their addresses. uvicorn hands ``sockets`` to each
    worker it starts; here each start gets a new one.
    """

    @property
    def sockets(self) -> list[socket.socket]:
        return [listening_socket(self.config.host, self.config.port)]

    @sockets.setter
    def sockets(self, given: list[socket.socket]) -> None:
        for sock in given:  # none: uvicorn's one shared socket is not made
            sock.close()


def start_metrics_server(host: str, port: int) -> None:
    """``/metrics`` summed over the workers, on a port of its own, from this (supervising) process."""
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client import multiprocess as mp

    registry = CollectorRegistry()
    mp.MultiProcessCollector(registry)
    try:
        start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise ConfigError(f"--metrics-port {port}: cannot listen on {host}:{port} ({exc.strerror})") from exc
