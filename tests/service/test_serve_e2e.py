"""`textauto serve --workers 2` as a real process on loopback; metrics summed across workers."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.service.helpers import counter_value, free_port, predict_requests, running, serve_cmd

N_REQUESTS = 40


def test_two_workers_count_every_request_exactly(trained_bundle, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    prom_dir = tmp_path / "prom"  # serve makes it
    env = {"PROMETHEUS_MULTIPROC_DIR": str(prom_dir)}
    with running(serve_cmd(trained_bundle, port, 2), f"{base}/readyz", env, tmp_path / "serve.log"):
        predict_requests(base, N_REQUESTS)
        text = httpx.get(f"{base}/metrics", timeout=10).text
        pids = {p.stem.rsplit("_", 1)[1] for p in prom_dir.glob("counter_*.db")}
    assert len(pids) == 2, f"expected both workers to serve requests, saw pids {pids}"
    route = {"route": "/v1/predict", "method": "POST", "status": "200"}
    assert counter_value(text, "textauto_http_requests_total", **route) == N_REQUESTS
    assert counter_value(text, "textauto_predictions_total") == N_REQUESTS
    assert counter_value(text, "textauto_batch_size_texts_count") == N_REQUESTS


LISTEN, ESTABLISHED = "0A", "01"  # TCP states as /proc/net/tcp writes them


def sockets_by_process(parent: int, port: int, state: str) -> list[int]:
    """TCP sockets on ``port`` in ``state`` held by each child of ``parent`` that holds any (Linux)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                inodes.add(f"socket:[{fields[9]}]")
    counts = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) != parent:
                continue
            links = [os.readlink(fd) for fd in (stat.parent / "fd").iterdir()]
        except OSError:  # gone meanwhile
            continue
        counts.append(sum(link in inodes for link in links))
    return [n for n in counts if n]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_REUSEPORT spreads connections on Linux")
def test_two_workers_share_connections_that_arrive_together(trained_bundle, tmp_path):
    """16 keep-alive clients connecting at once are spread over both workers; on one shared
    socket the worker woken first took them all."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    body = b'{"texts": ["hi"]}'
    request = b"POST /v1/predict HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\n"
    request += b"content-length: %d\r\n\r\n%s" % (len(body), body)
    with running(serve_cmd(trained_bundle, port, 2), f"{base}/readyz", log=tmp_path / "serve.log") as proc:
        deadline = time.monotonic() + 60  # /readyz answers once the first worker is up
        while len(sockets_by_process(proc.pid, port, LISTEN)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        clients = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(16)]  # a burst
        try:
            for client in clients:
                client.sendall(request)
            answers = [client.recv(65536).split(b"\r\n", 1)[0] for client in clients]
            assert answers == [b"HTTP/1.1 200 OK"] * 16
            per_worker = sockets_by_process(proc.pid, port, ESTABLISHED)
        finally:
            for client in clients:
                client.close()
    assert sum(per_worker) == 16 and len(per_worker) == 2, per_worker


def test_serve_with_workers_refuses_a_port_in_use_in_one_line(trained_bundle):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            serve_cmd(trained_bundle, port, 2), capture_output=True, text=True, timeout=120
        )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"--port {port}: cannot listen on 127.0.0.1:{port}" in result.stderr


def test_serve_refuses_a_missing_bundle(tmp_path):
    result = subprocess.run(
        serve_cmd(tmp_path / "nothing", free_port(), 1), capture_output=True, text=True, timeout=60
    )
    assert (
        result.returncode == 2
        and "no model bundle here" in result.stderr
        and "Traceback" not in result.stderr
    )


PROMETHEUS = shutil.which("prometheus")


@pytest.mark.skipif(
    PROMETHEUS is None and not os.environ.get("TEXTAUTO_REQUIRE_PROMETHEUS"),
    reason="needs Debian's prometheus package (.ci/run installs it and sets TEXTAUTO_REQUIRE_PROMETHEUS)",
)
def test_real_prometheus_scrapes_the_request_count_from_the_metrics_port(trained_bundle, tmp_path):
    assert PROMETHEUS, "prometheus binary not found"
    port, prom_port, metrics_port = free_port(), free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: textauto\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{metrics_port}']\n"
    )
    prom_cmd = [
        PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{prom_port}",
    ]  # fmt: skip
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "mp")}
    cmd = [*serve_cmd(trained_bundle, port, 2), "--metrics-port", str(metrics_port)]
    with running(cmd, f"{base}/readyz", env, tmp_path / "serve.log"):
        predict_requests(base, N_REQUESTS)
        assert httpx.get(f"{base}/metrics").status_code == 404  # not on the public port
        with running(prom_cmd, f"http://127.0.0.1:{prom_port}/-/ready", None, tmp_path / "prom.log"):
            query = 'sum(textauto_http_requests_total{route="/v1/predict",status="200"})'
            seen = None
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                r = httpx.get(
                    f"http://127.0.0.1:{prom_port}/api/v1/query", params={"query": query}, timeout=5
                ).json()
                result = r["data"]["result"]
                if result:
                    seen = float(result[0]["value"][1])
                    if seen == N_REQUESTS:
                        break
                time.sleep(0.5)
    assert seen == N_REQUESTS


def test_sigterm_lets_in_flight_requests_finish_then_exits(trained_bundle, tmp_path):
    """Requests already being answered when SIGTERM arrives get their answers; then the
    service stops listening and exits within its shutdown timeout."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "TEXTAUTO_MAX_TEXTS": "256",
        "TEXTAUTO_MAX_BODY_BYTES": str(8 * 2**20),
        "TEXTAUTO_SHUTDOWN_TIMEOUT": "60",
    }
    heavy = {
        "texts": [f"parcel {i} " + "where is my refund for the broken blender " * 400 for i in range(256)]
    }
    with running(
        serve_cmd(trained_bundle, port, workers=1), f"{base}/readyz", env=env, log=tmp_path / "log"
    ) as proc:
        with ThreadPoolExecutor(4) as pool:
            started = time.monotonic()
            answers = [
                pool.submit(httpx.post, f"{base}/v1/predict", json=heavy, timeout=60) for _ in range(4)
            ]
            time.sleep(0.3)
            assert not any(a.done() for a in answers), "requests finished before SIGTERM: make them heavier"
            proc.send_signal(signal.SIGTERM)
            assert [a.result().status_code for a in answers] == [200] * 4
            assert all(len(a.result().json()["predictions"]) == 256 for a in answers)
        # uvicorn re-raises the signal it handled once it has shut down cleanly
        assert proc.wait(timeout=60) in (0, -signal.SIGTERM)
        assert time.monotonic() - started < 60
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{base}/healthz", timeout=2)
