"""What `textauto serve` answers under the traffic users send, against a bare FastAPI endpoint.

    python benchmarks/serve_load.py NAME=BUNDLE=DATASET [...] [--seconds 4] [--rounds 2]
        [--workers 1 2] [--concurrency 1 16 64] [--write-readme]

For each bundle (DATASET: a set in ../shared/datasets whose test split gives the texts), the
model's own throughput is measured in-process first (one process, 64-text batches). Then
`textauto serve` and the bare endpoint (benchmarks/minimal_endpoint.py: the same bundle's
predict called on each request) run with 1 and 2 uvicorn workers on loopback, and receive
single-text requests and 16-text requests from 1, 16 and 64 keep-alive clients (asyncio
streams in this process), each cell for --seconds, the servers alternating, --rounds times.
Every text is unique (a test-split text and a serial number), so no parse is cached twice.
Prints requests/s, texts/s, p50/p99 latency (median round; the range of requests/s over the
rounds) and textauto's requests/s over the bare endpoint's. Run it alone on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import textauto  # noqa: E402
from service.settings import ServiceSettings  # noqa: E402
from tests.service.helpers import free_port, running  # noqa: E402
from textauto.features.spacy_parse import bounded_parses  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"
SERIAL = itertools.count()
JSON = "content-type: application/json\r\n"


@dataclass
class Cell:
    requests: int
    texts: int
    seconds: float
    latencies: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def tps(self) -> float:
        return self.texts / self.seconds

    def quantile(self, q: int) -> float:
        return statistics.quantiles(self.latencies, n=100)[q - 1] * 1000


def unique_texts(pool: list[str], n: int) -> list[str]:
    return [f"{pool[i % len(pool)]} #{i}" for i in (next(SERIAL) for _ in range(n))]


async def client(port: int, path: str, pool: list[str], per_request: int, until: float, cell: Cell) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until:
            body = json.dumps({"texts": unique_texts(pool, per_request)}).encode()
            head = f"POST {path} HTTP/1.1\r\nhost: b\r\n{JSON}content-length: {len(body)}\r\n\r\n"
            started = time.perf_counter()
            writer.write(head.encode() + body)
            header = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line[15:]) for line in header.split(b"\r\n") if line[:15].lower() == b"content-length:"
            )
            await reader.readexactly(length)
            cell.latencies.append(time.perf_counter() - started)
            if header[9:12] != b"200":
                raise RuntimeError(f"{path}: HTTP {header[9:12].decode()}")
            cell.requests += 1
            cell.texts += per_request
    finally:
        writer.close()


async def load(
    port: int, path: str, pool: list[str], per_request: int, concurrency: int, seconds: float
) -> Cell:
    cell = Cell(0, 0, 0.0, [])
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(*(client(port, path, pool, per_request, until, cell) for _ in range(concurrency)))
    cell.seconds = time.perf_counter() - started
    return cell


def in_process_throughput(bundle: str, pool: list[str], batch: int = 64, seconds: float = 5.0) -> float:
    model = textauto.load(bundle)
    defaults = {name: field.default for name, field in ServiceSettings.model_fields.items()}
    with bounded_parses(4096, 1, defaults["spacy_vocabulary_strings"]):
        model.predict(unique_texts(pool, batch))
        texts, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            model.predict(unique_texts(pool, batch))
            texts += batch
    return texts / (time.perf_counter() - started)


def servers(bundle: str, workers: int, work: Path) -> tuple[tuple, tuple]:
    port_t, port_b = free_port(), free_port()
    textauto_cmd = [sys.executable, "-m", "textauto", "serve", bundle, "--port", str(port_t),
                    "--workers", str(workers), "--log-level", "warning"]  # fmt: skip
    bare_cmd = [sys.executable, "-m", "uvicorn", "--factory", "minimal_endpoint:app", "--port", str(port_b),
                "--workers", str(workers), "--log-level", "warning", "--no-access-log",
                "--app-dir", str(Path(__file__).parent)]  # fmt: skip
    mp = tempfile.mkdtemp(dir=work)
    return (
        (textauto_cmd, f"http://127.0.0.1:{port_t}/readyz", {"PROMETHEUS_MULTIPROC_DIR": mp}, port_t),
        (bare_cmd, f"http://127.0.0.1:{port_b}/docs", {"MODEL_DIR": bundle}, port_b),
    )


def run_bundle(name: str, bundle: str, pool: list[str], args: argparse.Namespace, work: Path) -> list[dict]:
    rows = []
    for workers in args.workers:
        (t_cmd, t_url, t_env, t_port), (b_cmd, b_url, b_env, b_port) = servers(bundle, workers, work)
        cells: dict[tuple, list[Cell]] = {}
        with running(t_cmd, t_url, t_env), running(b_cmd, b_url, b_env):
            for port, path in ((t_port, "/v1/predict"), (b_port, "/predict")):
                asyncio.run(load(port, path, pool, 1, 16, 3.0))  # warm-up
            for _ in range(args.rounds):
                for per_request, c in itertools.product((1, 16), args.concurrency):
                    for server, port, path in (
                        ("textauto", t_port, "/v1/predict"),
                        ("bare", b_port, "/predict"),
                    ):
                        cell = asyncio.run(load(port, path, pool, per_request, c, args.seconds))
                        cells.setdefault((server, per_request, c), []).append(cell)
        for (server, per_request, c), runs in cells.items():
            median = sorted(runs, key=lambda r: r.rps)[len(runs) // 2]
            bare = cells[("bare", per_request, c)]
            ratios = [t.rps / b.rps for t, b in zip(runs, bare, strict=True)]
            rows.append({
                "bundle": name, "workers": workers, "server": server, "texts": per_request, "clients": c,
                "rps": median.rps, "rps_min": min(r.rps for r in runs), "rps_max": max(r.rps for r in runs),
                "tps": median.tps, "p50": median.quantile(50), "p99": median.quantile(99),
                "ratio": statistics.median(ratios) if server == "textauto" else None,
            })  # fmt: skip
    return rows


def table(rows: list[dict], in_process: dict[str, float]) -> str:
    lines = [
        "| bundle | workers | texts/request | clients | server | requests/s (range) | texts/s "
        "| p50 ms | p99 ms | ÷ bare |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(
        rows, key=lambda r: (r["bundle"], r["workers"], r["texts"], r["clients"], r["server"] != "textauto")
    ):
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else ""
        lines.append(
            f"| {r['bundle']} | {r['workers']} | {r['texts']} | {r['clients']} | {r['server']} | "
            f"{r['rps']:.0f} ({r['rps_min']:.0f}-{r['rps_max']:.0f}) | {r['tps']:.0f} | {r['p50']:.1f} | "
            f"{r['p99']:.1f} | {ratio} |"
        )
    lines.append("")
    for name, tps in in_process.items():
        served = [r for r in rows if r["bundle"] == name and r["server"] == "textauto" and r["texts"] == 16]
        best = max(served, key=lambda r: r["tps"], default=None)
        share = ""
        if best:
            share = (
                f"; served 16-text requests at best {best['tps']:.0f} texts/s ({best['tps'] / tps:.2f}x, "
                f"{best['workers']} workers, {best['clients']} clients)"
            )
        lines.append(f"- {name}: in-process {tps:.0f} texts/s (one process, 64-text batches){share}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("bundles", nargs="+", help="NAME=BUNDLE=DATASET")
    parser.add_argument("--seconds", type=float, default=4.0, help="per cell and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="textauto-serve-load-"))
    rows, in_process = [], {}
    for spec in args.bundles:
        name, bundle, dataset = spec.split("=", 2)
        pool = pd.read_parquet(DATASETS / dataset / "test.parquet")["text"].astype(str).tolist()
        in_process[name] = in_process_throughput(bundle, pool)
        print(f"{name}: in-process {in_process[name]:.0f} texts/s", flush=True)
        rows += run_bundle(name, bundle, pool, args, work)
        print(table([r for r in rows if r["bundle"] == name], {name: in_process[name]}), flush=True)
    print(
        f"\nserve load · {args.seconds:.0f} s per cell · median of {args.rounds} rounds · "
        f"{os.cpu_count()} cores"
    )
    print(table(rows, in_process))


if __name__ == "__main__":
    main()
