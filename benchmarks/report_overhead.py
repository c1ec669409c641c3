"""What the report costs a run: each stage's seconds as the manifest records them, and the pages.

    python benchmarks/report_overhead.py                        # 20newsgroups and trec6, 120 s, seed 0
    python benchmarks/report_overhead.py --budget 120 --seeds 2 imdb sms_spam

Each run is a separate `textauto train` process on the set's train split with its test split,
timed from launch to exit. The report's share of the run is the manifest's ``report_s``
(importances, out-of-fold scores, each class's indicative features, report.md) plus the time
``report.html`` and ``MODEL_CARD.md`` take to render, which the bundle writes after its clock
stops (re-rendered here from the saved manifest, best of three). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
STAGES = (
    "loading_s",
    "search_and_refit_s",
    "refit_s",
    "spacy_parsing_s",
    "test_scoring_s",
    "report_s",
    "saving_s",
)


def render_seconds(bundle: Path) -> float:
    """Best of three renders of report.html and MODEL_CARD.md from the saved bundle."""
    from textauto.report import render_card, render_html

    manifest = json.loads((bundle / "manifest.json").read_text())
    board = pd.read_csv(bundle / "leaderboard.csv")
    times = []
    for _ in range(3):
        started = time.perf_counter()
        render_html(manifest, board)
        render_card(manifest)
        times.append(time.perf_counter() - started)
    return min(times)


def run(name: str, budget: float, seed: int, work: Path) -> dict[str, float]:
    data = DATASETS / name
    train, test = work / f"{name}-train.parquet", work / f"{name}-test.parquet"
    pd.read_parquet(data / "train.parquet").to_parquet(train)
    pd.read_parquet(data / "test.parquet").to_parquet(test)
    out = work / f"{name}-{seed}"
    cmd = [sys.executable, "-m", "textauto", "train", str(train), "--test", str(test)]
    cmd += ["--time-budget", str(budget), "--seed", str(seed), "--out", str(out)]
    launched = time.monotonic()
    subprocess.run(cmd, check=True, capture_output=True)
    wall = time.monotonic() - launched
    timings = json.loads((out / "manifest.json").read_text())["timings"]
    pages = render_seconds(out)
    report = timings["report_s"] + pages
    return {**{k: timings.get(k, float("nan")) for k in STAGES}, "pages_s": pages, "wall_s": wall,
            "report_share_%": 100 * report / wall}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sets", nargs="*", default=["20newsgroups", "trec6"])
    parser.add_argument("--budget", type=float, default=120.0)
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="textauto-report-") as tmp:
        for name in args.sets:
            for seed in range(args.seeds):
                rows.append({"set": name, "seed": seed, **run(name, args.budget, seed, Path(tmp))})
                print(pd.DataFrame(rows[-1:]).round(2).to_string(index=False), flush=True)
    print("\nall runs:")
    print(pd.DataFrame(rows).round(2).to_string(index=False))


if __name__ == "__main__":
    main()
