"""Start real processes on loopback for the end-to-end tests, with bounded waits."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} was ready")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {seconds}s")


@contextmanager
def running(
    cmd: list[str],
    ready_url: str,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    base_env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Iterator[subprocess.Popen]:
    """Run ``cmd`` in its own process group until the block ends; wait for ``ready_url``.

    ``env`` is added to ``base_env`` (this process's environment by default)."""
    out = log.open("w") if log else subprocess.DEVNULL
    environment = {**(os.environ if base_env is None else base_env), **(env or {})}
    proc = subprocess.Popen(
        cmd, env=environment, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=cwd
    )
    try:
        wait_ready(ready_url, proc)
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def serve_cmd(model_dir: Path, port: int, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "textauto",
        "serve",
        str(model_dir),
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]


def predict_requests(base: str, n: int) -> None:
    """``n`` single-text requests, each on a new connection so the kernel spreads them over workers."""
    for i in range(n):
        r = httpx.post(
            f"{base}/v1/predict",
            json={"texts": [f"my order {i} has not arrived"]},
            headers={"Connection": "close"},
            timeout=10,
        )
        assert r.status_code == 200, r.text


def counter_value(metrics_text: str, name: str, **labels: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    for family in text_string_to_metric_families(metrics_text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total
