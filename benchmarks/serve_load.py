"""Throughput and latency of `textauto serve --workers 2` against a minimal FastAPI endpoint.

    python benchmarks/serve_load.py [--model DIR] [--requests 2000]

Without --model it first trains a trec6 model (`textauto train`, 60 s). Both servers run with
2 uvicorn workers on loopback and serve the same pipeline; each gets single-text POST requests,
a fixed number of them, from 1 and from 16 concurrent keep-alive clients (threads, stdlib
http.client), in alternating rounds. Prints requests/s and p50/p99 latency of the median
round, and textauto's throughput ratio per round.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.service.helpers import free_port, running  # noqa: E402

TREC6 = ROOT.parent / "shared" / "datasets" / "trec6"
QUESTIONS = [
    "How far is it from Denver to Aspen ?", "What county is Modesto , California in ?",
    "Who was Galileo ?", "What is an atom ?", "When did Hawaii become a state ?",
    "How tall is the Sears Building ?", "What is the population of Mexico ?",
    "Why is the sky blue ?", "What does CPR stand for ?", "Where is the Eiffel Tower ?",
]  # fmt: skip


def load(port: int, path: str, body_of, n: int, concurrency: int) -> tuple[float, list[float]]:
    """Send ``n`` requests from ``concurrency`` keep-alive clients; return wall seconds and latencies."""
    latencies: list[float] = []
    lock = threading.Lock()
    per_client = [n // concurrency + (1 if i < n % concurrency else 0) for i in range(concurrency)]

    def client(count: int, offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        for i in range(count):
            body = json.dumps(body_of(QUESTIONS[(offset + i) % len(QUESTIONS)]))
            t0 = time.perf_counter()
            conn.request("POST", path, body=body, headers={"content-type": "application/json"})
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - t0)
            if response.status != 200:
                raise RuntimeError(f"{path}: HTTP {response.status}")
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(c, i)) for i, c in enumerate(per_client)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, latencies


def measure(port: int, path: str, body_of, n: int, concurrency: int) -> dict[str, float]:
    load(port, path, body_of, 100, concurrency)  # warm-up: imports, caches, connections
    wall, lat = load(port, path, body_of, n, concurrency)
    q = statistics.quantiles(lat, n=100)
    return {"rps": n / wall, "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000}


def train_trec6(out: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "textauto", "train", str(TREC6 / "train.parquet"),
         "--test", str(TREC6 / "test.parquet"), "--time-budget", "60", "--out", str(out)],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, help="a bundle; default: train one on trec6 first")
    parser.add_argument("--requests", type=int, default=1000, help="per row and round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="textauto-serve-load-"))
    model = args.model or train_trec6(work / "trec6")

    port_t, port_m = free_port(), free_port()
    textauto_cmd = [sys.executable, "-m", "textauto", "serve", str(model), "--port", str(port_t),
                    "--workers", "2", "--log-level", "warning"]  # fmt: skip
    minimal_cmd = [sys.executable, "-m", "uvicorn", "--factory", "minimal_endpoint:app",
                   "--port", str(port_m), "--workers", "2", "--log-level", "warning", "--no-access-log",
                   "--app-dir", str(Path(__file__).parent)]  # fmt: skip
    # Both servers run side by side (idle when not under load); rounds alternate between them
    # so that drift in the machine's speed falls on both. The median round is reported.
    runs: dict[tuple[str, int], list[dict[str, float]]] = {}
    env_t = {"PROMETHEUS_MULTIPROC_DIR": str(work / "mp")}
    env_m = {"MODEL_DIR": str(model)}
    with (
        running(textauto_cmd, f"http://127.0.0.1:{port_t}/readyz", env_t),
        running(minimal_cmd, f"http://127.0.0.1:{port_m}/docs", env_m),
    ):
        for _ in range(args.rounds):
            for c in (1, 16):
                runs.setdefault(("textauto", c), []).append(
                    measure(port_t, "/v1/predict", lambda t: {"texts": [t]}, args.requests, c)
                )
                runs.setdefault(("minimal", c), []).append(
                    measure(port_m, "/predict", lambda t: {"texts": [t]}, args.requests, c)
                )
        metrics = httpx.get(f"http://127.0.0.1:{port_t}/metrics").text
    results = {key: sorted(rs, key=lambda r: r["rps"])[len(rs) // 2] for key, rs in runs.items()}

    print(
        f"serve load · {args.requests} single-text requests per row and round · median of "
        f"{args.rounds} rounds · 2 workers each · {os.cpu_count()} cores"
    )
    print(f"{'server':<10} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for (server, c), r in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0] != "textauto")):
        print(f"{server:<10} {c:>4} {r['rps']:>8.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f}")
    for c in (1, 16):
        ratios = [
            t["rps"] / m["rps"] for t, m in zip(runs[("textauto", c)], runs[("minimal", c)], strict=True)
        ]
        print(
            f"throughput ratio textauto / minimal at concurrency {c}: "
            f"{statistics.median(ratios):.2f} (rounds: {', '.join(f'{r:.2f}' for r in ratios)})"
        )
    counted = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("textauto_http_requests_total{") and 'route="/v1/predict"' in line
    )
    print(f"textauto /metrics counted {counted:.0f} /v1/predict requests (warm-ups included)")


if __name__ == "__main__":
    main()
