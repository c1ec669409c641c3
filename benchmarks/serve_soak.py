"""Soak test of `textauto serve --workers 2`: many requests, some hostile, memory before and after.

    python benchmarks/serve_soak.py BUNDLE [BUNDLE ...] [--requests 100000] [--concurrency 16]
        [--texts ../shared/datasets/trec6/test.parquet]

For each bundle, starts the service on loopback with an API token and sends ``--requests``
single-text requests from ``--concurrency`` keep-alive clients. Nine in ten are well-formed,
their texts made unique (a test-split text with a serial number), so that nothing is cached
twice; every tenth is hostile, in turn: not JSON, schema-invalid, a text over the length
limit, a wrong token. Prints the counts by status, p50/p99 latency of the well-formed
requests, whether every answer equals the library's own prediction for that text, and the
service's resident memory (supervisor and workers) after a warm-up and after each fifth of
the run.
Run it alone on the machine.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.service.helpers import free_port, running, serve_cmd  # noqa: E402

TOKEN = "soak-token"
MAX_CHARS = 2_000
WARM_UP = 2_000
CHECKPOINTS = 5


def text_of(pool: list[str], i: int) -> str:
    return f"{pool[i % len(pool)]} #{i}"


def request_of(pool: list[str], i: int) -> tuple[bytes, dict[str, str], bool]:
    """Body, headers and whether request ``i`` is well-formed."""
    headers = {"content-type": "application/json", "authorization": f"Bearer {TOKEN}"}
    if i % 10 != 9:
        return json.dumps({"texts": [text_of(pool, i)]}).encode(), headers, True
    kind = (i // 10) % 4
    if kind == 0:
        return b'{"texts": ["unterminated', headers, False
    if kind == 1:
        return json.dumps({"texts": "not a list", "top_k": -1}).encode(), headers, False
    if kind == 2:
        return json.dumps({"texts": ["x" * (MAX_CHARS + 1)]}).encode(), headers, False
    return (
        json.dumps({"texts": [text_of(pool, i)]}).encode(),
        {**headers, "authorization": "Bearer wrong"},
        False,
    )


def tree_rss_mb(root_pid: int) -> dict[int, float]:
    """Resident memory (MB) of ``root_pid`` and every process below it."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children[ppid].append(int(entry.name))
    rss, todo = {}, [root_pid]
    while todo:
        pid = todo.pop()
        try:
            status = (Path("/proc") / str(pid) / "status").read_text()
        except OSError:
            continue
        rss[pid] = next(
            int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmRSS:")
        )
        todo += children[pid]
    return rss


def role_of(pid: int) -> str:
    try:
        cmdline = (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:
        return "process"
    return "resource tracker" if b"resource_tracker" in cmdline else "worker"


def send(
    port: int, pool: list[str], indices: range, concurrency: int
) -> tuple[collections.Counter, list, dict]:
    """Send requests ``indices``; counts by status, well-formed latencies, answers by index."""
    statuses: collections.Counter = collections.Counter()
    latencies: list[float] = []
    answers: dict[int, str] = {}
    lock = threading.Lock()

    def client(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: collections.Counter = collections.Counter()
        times, got = [], {}
        for i in indices[offset::concurrency]:
            body, headers, good = request_of(pool, i)
            t0 = time.perf_counter()
            conn.request("POST", "/v1/predict", body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            mine[response.status] += 1
            if good:
                times.append(time.perf_counter() - t0)
                if response.status == 200:
                    got[i] = json.loads(payload)["predictions"][0]["label"]
            if response.getheader("connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.close()
        with lock:
            statuses.update(mine)
            latencies.extend(times)
            answers.update(got)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses, latencies, answers


def soak(bundle: Path, pool: list[str], n: int, concurrency: int, workers: int) -> None:
    import textauto

    port = free_port()
    env = {"TEXTAUTO_API_TOKEN": TOKEN, "TEXTAUTO_MAX_TEXT_CHARS": str(MAX_CHARS)}
    log = Path(f"/tmp/soak-{bundle.name}.log")
    cmd = serve_cmd(bundle, port, workers)
    with running(cmd, f"http://127.0.0.1:{port}/readyz", env=env, log=log) as proc:
        send(port, pool, range(n, n + WARM_UP), concurrency)  # texts outside the measured run
        before = tree_rss_mb(proc.pid)
        roles = {pid: "supervisor" if pid == proc.pid else role_of(pid) for pid in before}
        started = time.monotonic()
        statuses, latencies, answers = collections.Counter(), [], {}
        path = []  # workers' RSS after each fifth of the run: growth should level off
        for part in range(CHECKPOINTS):
            part_statuses, part_latencies, part_answers = send(
                port, pool, range(part * n // CHECKPOINTS, (part + 1) * n // CHECKPOINTS), concurrency
            )
            statuses.update(part_statuses)
            latencies += part_latencies
            answers.update(part_answers)
            path.append(tree_rss_mb(proc.pid))
        wall = time.monotonic() - started
        after = path[-1]
    good = [i for i in range(n) if i % 10 != 9]
    expected = textauto.load(bundle).predict([text_of(pool, i) for i in good])
    wrong = sum(answers.get(i) != str(e) for i, e in zip(good, expected, strict=True))
    q = statistics.quantiles(latencies, n=100)
    print(f"\n{bundle}  ({n:,} requests, concurrency {concurrency}, {workers} workers, {wall:.0f} s)")
    print("  by status: " + ", ".join(f"{s}: {c:,}" for s, c in sorted(statuses.items())))
    print(f"  well-formed: {len(good):,}; answered 200 with the library's label: {len(good) - wrong:,}")
    print(f"  latency of well-formed requests: p50 {q[49] * 1e3:.1f} ms, p99 {q[98] * 1e3:.1f} ms")
    print(f"  throughput: {n / wall:.0f} requests/s")
    pids = sorted(set(before) | set(after))
    for pid in pids:
        role = roles.get(pid, "process")
        shown = lambda v: "gone" if v is None else f"{v:.0f} MB"  # noqa: E731
        steps = " -> ".join(shown(p.get(pid)) for p in path)
        print(f"  {role} {pid}: RSS {shown(before.get(pid))} after warm-up, then {steps}")
    print(f"  total RSS: {sum(before.values()):.0f} MB -> {sum(after.values()):.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("bundles", nargs="+", type=Path)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    default_texts = ROOT.parent / "shared" / "datasets" / "trec6" / "test.parquet"
    parser.add_argument("--texts", type=Path, default=default_texts)
    args = parser.parse_args()
    pool = pd.read_parquet(args.texts)["text"].astype(str).tolist()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    for bundle in args.bundles:
        soak(bundle, pool, args.requests, args.concurrency, args.workers)


if __name__ == "__main__":
    main()
