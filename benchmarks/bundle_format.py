"""The safe model file against the pickle it replaced: size on disk and time to load.

For each bundle, the model is also written as format 1 wrote it (joblib, zlib level 3), then
both are loaded in alternation: ``joblib.load`` against ``textauto.load``, which checks every
file's SHA-256 and the model's types before skops builds it. Prints the median and range of
``--repeats`` loads, and the ratio of the medians.

    python benchmarks/bundle_format.py runs/sms_spam runs/trec6 ...
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import joblib

import textauto
from textauto.bundle import MODEL_FILE


def timed(load: Callable[[], object]) -> float:
    gc.collect()
    started = time.perf_counter()
    load()
    return time.perf_counter() - started


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def measure(bundle: Path, repeats: int) -> dict[str, str]:
    model = textauto.load(bundle).pipeline
    with tempfile.TemporaryDirectory() as tmp:
        pickled = Path(tmp) / "model.joblib"
        started = time.perf_counter()
        joblib.dump(model, pickled, compress=3)
        dump_s = time.perf_counter() - started
        skops_t, joblib_t = [], []
        for _ in range(repeats):
            skops_t.append(timed(lambda: textauto.load(bundle)))
            joblib_t.append(timed(lambda: joblib.load(pickled)))
        joblib_mb = pickled.stat().st_size / 2**20
    return {
        "bundle": bundle.name,
        "skops MB": f"{(bundle / MODEL_FILE).stat().st_size / 2**20:.1f}",
        "joblib MB": f"{joblib_mb:.1f}",
        "textauto.load s": spread(skops_t),
        "joblib.load s": spread(joblib_t),
        "ratio": f"{statistics.median(skops_t) / statistics.median(joblib_t):.2f}",
        "joblib dump s": f"{dump_s:.2f}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("bundles", nargs="+", type=Path)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rows = [measure(b, args.repeats) for b in args.bundles]
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + "---|" * len(rows[0]))
    for row in rows:
        print("| " + " | ".join(row.values()) + " |")


if __name__ == "__main__":
    main()
