"""Run `textauto train` on benchmark datasets; print one table and the anytime curves.

    python benchmarks/run.py                                  # every set in ../shared/datasets, 120 s
    python benchmarks/run.py --budget 60 trec6 sms_spam sst2  # the core issue's acceptance runs
    python benchmarks/run.py --budget 120 -- --n-jobs 2       # after --: more `textauto train` options
    python benchmarks/run.py --seeds 3                        # each set with seeds 0, 1, 2; mean, min, spread

Each run is a separate `textauto train` process with the dataset's test split, timed from
launch to exit. Peak memory is the largest sum, sampled every 0.2 s, of the proportional set
size (PSS: shared pages split between the processes sharing them) of that process and its
trial workers. The anytime curve (best validation score against seconds since launch) goes to
anytime.csv and, when matplotlib is installed (`pip install -e '.[bench]'`), anytime.png, both
in --out. `base val` is the hand-written baseline (word 1-2-gram sublinear TF-IDF + LinearSVC)
scored on the run's own validation splits, after the run; `val@30s` is the search's best by
then. With ``--seeds N`` each set runs with seeds 0..N-1 (one search is not a measurement: runs
with parallel trials differ), and a summary gives each set's mean, minimum and spread (max - min)
of test accuracy. Nothing here is asserted: these are measurements.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import optuna
from optuna.trial import TrialState

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
EARLY = 30.0  # seconds: the anytime checkpoint the search promises to be good by


def available() -> list[str]:
    return sorted(p.name for p in DATASETS.iterdir() if (p / "train.parquet").exists())


def anytime(out: Path, launched: float, direction: str) -> list[tuple[float, float]]:
    """(seconds since launch, best validation score so far) at each improvement."""
    study = optuna.load_study(study_name="textauto", storage=f"sqlite:///{out / 'study.db'}")
    done = sorted(
        (t for t in study.trials if t.state == TrialState.COMPLETE), key=lambda t: t.datetime_complete
    )
    curve, best = [], None
    for t in done:
        if best is None or (t.value > best if direction == "maximize" else t.value < best):
            best = t.value
            curve.append((t.datetime_complete.timestamp() - launched, best))
    return curve


def tree_pss_kb(pid: int) -> int:
    """Summed PSS (KiB) of ``pid`` and its descendants, from /proc (0 for what has exited)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def baseline_validation(data: Path, manifest: dict) -> float:
    """The hand-written baseline's score on the validation splits the run used (same seed)."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    from textauto.config import RunConfig
    from textauto.data import load_dataset
    from textauto.validation.metrics import METRICS
    from textauto.validation.splits import plan_validation, recorded_scheme

    cfg = RunConfig.model_validate(manifest["config"])
    d = load_dataset(data / "train.parquet", max_chars=cfg.data.max_text_chars)
    texts, labels = d.texts, d.labels
    v = manifest["validation"]
    scheme = recorded_scheme(v["strategy"], v["folds"], v.get("repeats", 1))
    plan = plan_validation(texts, labels, cfg.validation, manifest["seed"], scheme)
    X, y = np.asarray(texts, dtype=object), np.asarray(labels, dtype=object)
    metric = METRICS[manifest["metric"]]
    scores = []
    for train, val in plan.splits:
        model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True), LinearSVC())
        scores.append(metric(model.fit(X[train], y[train]), X[val], y[val]))
    return float(np.mean(scores))


def run_one(
    name: str, budget: float, out: Path, extra: list[str], seed: int | None = None, data: Path | None = None
) -> dict[str, object]:
    """One `textauto train` on ``data`` (a folder of train.parquet and test.parquet; default the
    shared set ``name``), timed and measured."""
    import subprocess
    import sys

    data = data or DATASETS / name
    seeded = [] if seed is None else ["--seed", str(seed)]
    cmd = [
        sys.executable, "-m", "textauto", "train", str(data / "train.parquet"),
        "--test", str(data / "test.parquet"), "--time-budget", str(budget), "--out", str(out),
        *seeded, *extra,
    ]  # fmt: skip
    launched_wall = time.time()
    started = time.monotonic()
    peak = 0
    with tempfile.TemporaryFile(mode="w+") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, text=True)
        while True:
            pid, status = os.waitpid(proc.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, tree_pss_kb(proc.pid))
            time.sleep(0.2)
        wall = time.monotonic() - started
        err.seek(0)
        stderr = err.read()
    if os.waitstatus_to_exitcode(status) != 0:
        return {"dataset": name, "error": stderr.strip().splitlines()[-1] if stderr.strip() else "failed"}
    m = json.loads((out / "manifest.json").read_text())
    t = m["trials"]
    curve = anytime(out, launched_wall, "minimize" if m["metric"] == "log_loss" else "maximize")
    early = [score for seconds, score in curve if seconds <= EARLY]
    return {
        "dataset": name,
        "seed": m["seed"],
        "accuracy": m["test"]["accuracy"],
        "macro_f1": m["test"]["macro_f1"],
        "val": m["validation"]["score"],
        "val_early": early[-1] if early else float("nan"),
        "wall_s": wall,
        "unused_s": budget - wall,  # budget the command left on the table
        "plan": _plan(m["validation"]["method"]),
        "peak_mb": peak / 1024,
        "base_val": baseline_validation(data, m),
        "trials": f"{t['complete']}/{t['pruned']}/{t['fail']}",
        "best": f"{m['best_params']['representation']} + {m['best_params']['classifier']}",
        "curve": curve,
    }


def _plan(method: str) -> str:
    """ "5f" for 5-fold cross-validation, "ho" for a holdout."""
    folds = re.search(r"(\d+)-fold", method)
    return f"{folds.group(1)}f" if folds else "ho"


def write_curves(results: list[dict[str, object]], out_root: Path) -> None:
    with (out_root / "anytime.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["dataset", "seed", "seconds", "best_validation_score"])
        for r in results:
            for seconds, score in r.get("curve", []):
                writer.writerow([r["dataset"], r.get("seed"), f"{seconds:.2f}", f"{score:.6f}"])
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: anytime.png not drawn; pip install -e '.[bench]')")
        return
    fig, ax = plt.subplots(figsize=(8, 5))
    for r in results:
        curve = r.get("curve") or []
        if curve:
            xs, ys = zip(*curve, strict=True)
            label = f"{r['dataset']} ({r.get('seed')})"
            ax.step([*xs, r["wall_s"]], [*ys, ys[-1]], where="post", label=label)
    ax.axvline(EARLY, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("seconds since launch")
    ax.set_ylabel("best validation score")
    ax.set_title("textauto anytime curves")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_root / "anytime.png", dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("datasets", nargs="*", help="default: every set in ../shared/datasets")
    parser.add_argument("--budget", type=float, default=120.0)
    parser.add_argument("--seeds", type=int, default=1, help="runs per set, with seeds 0..N-1")
    parser.add_argument("--out", type=Path, default=None, help="keep the bundles and curves here")
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    parser.epilog = "after --: more `textauto train` options"
    args = parser.parse_args(argv[:cut])
    if args.seeds < 1:
        parser.error(f"--seeds: at least 1, got {args.seeds}")
    extra = argv[cut + 1 :]
    out_root = args.out or Path(tempfile.mkdtemp(prefix="textauto-bench-"))
    out_root.mkdir(parents=True, exist_ok=True)
    print(f"textauto benchmark · budget {args.budget:g} s · {os.cpu_count()} cores · output in {out_root}")
    print_header()
    results = []
    for name in args.datasets or available():
        for seed in range(args.seeds):
            out = out_root / name if args.seeds == 1 else out_root / name / f"seed{seed}"
            r = run_one(name, args.budget, out, extra, seed if args.seeds > 1 else None)
            results.append(r)
            print_row(r)
    write_curves(results, out_root)
    if args.seeds > 1:
        print_spread(results)


def print_header() -> None:
    header = (
        f"{'dataset':<26} {'seed':>4} {'test acc':>8} {'macro-F1':>8} {'val':>7} {f'val@{EARLY:.0f}s':>8} "
        f"{'base val':>8} {'wall s':>7} {'unused':>6} {'peak MB':>8} {'plan':>4} {'c/p/f trials':>12}  best"
    )
    print(header)
    print("-" * len(header))


def print_row(r: dict[str, object]) -> None:
    name = r["dataset"]
    if "error" in r:
        print(f"{name:<26} error: {r['error']}", flush=True)
        return
    print(
        f"{name:<26} {r['seed']:>4} {r['accuracy']:>8.4f} {r['macro_f1']:>8.4f} {r['val']:>7.4f} "
        f"{r['val_early']:>8.4f} {r['base_val']:>8.4f} {r['wall_s']:>7.1f} {r['unused_s']:>6.1f} "
        f"{r['peak_mb']:>8.0f} {r['plan']:>4} {r['trials']:>12}  {r['best']}",
        flush=True,
    )


def print_spread(results: list[dict[str, object]]) -> None:
    """Each set's test accuracy over its seeds: mean, minimum, spread (max - min)."""
    print(
        f"\n{'dataset':<26} {'runs':>4} {'mean':>7} {'min':>7} {'spread':>7} {'mean val':>8} {'max wall':>8} "
        f"{'max unused':>10}"
    )
    by_set: dict[str, list[dict[str, object]]] = {}
    for r in results:
        by_set.setdefault(str(r["dataset"]), []).append(r)
    for name, runs in by_set.items():
        ok = [r for r in runs if "error" not in r]
        if not ok:
            print(f"{name:<26} {0:>4} every run failed")
            continue
        acc = [float(r["accuracy"]) for r in ok]
        val = [float(r["val"]) for r in ok]
        print(
            f"{name:<26} {len(ok):>4} {sum(acc) / len(acc):>7.4f} {min(acc):>7.4f} "
            f"{max(acc) - min(acc):>7.4f} "
            f"{sum(val) / len(val):>8.4f} {max(float(r['wall_s']) for r in ok):>8.1f} "
            f"{max(float(r['unused_s']) for r in ok):>10.1f}"
            + (f"  ({len(runs) - len(ok)} failed)" if len(ok) < len(runs) else "")
        )


if __name__ == "__main__":
    main()
