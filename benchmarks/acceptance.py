"""Run `textauto train` on benchmark datasets and print test accuracy, macro-F1, wall time,
peak memory and trials.

    python benchmarks/acceptance.py                       # trec6, sms_spam, sst2 at 60 s
    python benchmarks/acceptance.py --budget 120 imdb     # any datasets in ../shared/datasets

Each run is a separate `textauto train` process, timed from launch to exit; peak RSS is the
child's maximum resident set size. Nothing here is asserted: these are measurements.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
DEFAULT = ("trec6", "sms_spam", "sst2")


def run_one(name: str, budget: float, out_root: Path, extra: list[str]) -> dict[str, object]:
    data = DATASETS / name
    out = out_root / name
    cmd = [
        sys.executable, "-m", "textauto", "train", str(data / "train.parquet"),
        "--test", str(data / "test.parquet"), "--time-budget", str(budget), "--out", str(out), *extra,
    ]  # fmt: skip
    started = time.monotonic()
    with tempfile.TemporaryFile(mode="w+") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        err.seek(0)
        stderr = err.read()
    peak_mb = usage.ru_maxrss / 1024  # KiB on Linux, this child only
    if os.waitstatus_to_exitcode(status) != 0:
        return {"dataset": name, "error": stderr.strip().splitlines()[-1] if stderr.strip() else "failed"}
    m = json.loads((out / "manifest.json").read_text())
    t = m["trials"]
    return {
        "dataset": name,
        "accuracy": m["test"]["accuracy"],
        "macro_f1": m["test"]["macro_f1"],
        "val": m["validation"]["score"],
        "wall_s": wall,
        "peak_mb": peak_mb,
        "trials": f"{t['complete']}/{t['pruned']}/{t['fail']}",
        "best": f"{m['best_params']['representation']} + {m['best_params']['classifier']}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("datasets", nargs="*", default=list(DEFAULT))
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=None, help="keep the bundles here")
    parser.add_argument("extra", nargs=argparse.REMAINDER, help="after --: more `textauto train` options")
    args = parser.parse_args()
    extra = [a for a in args.extra if a != "--"]
    out_root = args.out or Path(tempfile.mkdtemp(prefix="textauto-bench-"))
    print(f"textauto benchmark · budget {args.budget:g} s · {os.cpu_count()} cores · bundles in {out_root}")
    header = (
        f"{'dataset':<26} {'test acc':>8} {'macro-F1':>8} {'val':>7} {'wall s':>7} {'peak MB':>8} "
        f"{'c/p/f trials':>12}  best"
    )
    print(header)
    print("-" * len(header))
    for name in args.datasets:
        r = run_one(name, args.budget, out_root, extra)
        if "error" in r:
            print(f"{name:<26} error: {r['error']}")
            continue
        print(
            f"{name:<26} {r['accuracy']:>8.4f} {r['macro_f1']:>8.4f} {r['val']:>7.4f} {r['wall_s']:>7.1f} "
            f"{r['peak_mb']:>8.0f} {r['trials']:>12}  {r['best']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
