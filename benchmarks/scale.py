"""`textauto train` on training sets made large by repeating them: does the budget hold?

    python benchmarks/scale.py [--budget 120]

ag_news_test7600_resplit repeated 20 times (121,600 rows, the size of the official AG News
training split) and sst2 4 times (269,396 rows); each copy's texts end with the copy's number,
so no two rows are equal. Each is trained with its own test split by ``run.py``'s ``run_one``
(wall from launch to exit, peak PSS of the process tree). The accuracies say little (the copies
make validation easy); the walls and peaks are the point.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd
import run

COPIES = {"ag_news_test7600_resplit": 20, "sst2": 4}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--budget", type=float, default=120.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="textauto-scale-") as tmp:
        root = Path(tmp)
        for name, copies in COPIES.items():
            train = pd.read_parquet(run.DATASETS / name / "train.parquet")
            big = pd.concat(
                [train.assign(text=train.text + f" {i}") for i in range(copies)], ignore_index=True
            )
            target = root / "data" / f"{name}_x{copies}"
            target.mkdir(parents=True)
            big.sample(frac=1.0, random_state=0).to_parquet(target / "train.parquet")
            pd.read_parquet(run.DATASETS / name / "test.parquet").to_parquet(target / "test.parquet")
        run.DATASETS = root / "data"
        print(
            f"{'dataset':<32} {'rows':>8} {'test acc':>8} {'wall s':>7} {'peak MB':>8} {'c/p/f trials':>12}"
        )
        for name, copies in COPIES.items():
            label = f"{name}_x{copies}"
            r = run.run_one(label, args.budget, root / "runs", [])
            if "error" in r:
                print(f"{label:<32} error: {r['error']}")
                continue
            rows = len(pd.read_parquet(run.DATASETS / label / "train.parquet"))
            print(
                f"{label:<32} {rows:>8} {r['accuracy']:>8.4f} {r['wall_s']:>7.1f} {r['peak_mb']:>8.0f} "
                f"{r['trials']:>12}",
                flush=True,
            )


if __name__ == "__main__":
    main()
