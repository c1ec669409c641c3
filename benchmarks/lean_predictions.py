"""Predictions before and after a change of the inference path, on each bundle's test split.

    python benchmarks/lean_predictions.py save REF.npz BUNDLE=DATASET [...]   # with the old code
    python benchmarks/lean_predictions.py check REF.npz BUNDLE=DATASET [...]  # with the new code

DATASET names a set in ../shared/datasets. ``check`` prints, per bundle, the labels that differ
(must be 0) and the largest difference of a probability (must be <= 1e-6), and exits 1 if
either fails. Run ``save`` from a checkout of the old commit (PYTHONPATH=that checkout).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import textauto

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
TOLERANCE = 1e-6


def predictions(bundle: str, dataset: str) -> tuple[np.ndarray, np.ndarray]:
    texts = pd.read_parquet(DATASETS / dataset / "test.parquet")["text"].astype(str).tolist()
    labels, proba = textauto.load(bundle).predict_with_proba(texts)
    return np.asarray([str(x) for x in labels]), np.asarray(proba, dtype=np.float64)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=["save", "check"])
    parser.add_argument("reference", type=Path)
    parser.add_argument("bundles", nargs="+", help="BUNDLE=DATASET")
    args = parser.parse_args()
    pairs = [b.split("=", 1) for b in args.bundles]
    if args.action == "save":
        arrays = {}
        for i, (bundle, dataset) in enumerate(pairs):
            arrays[f"labels{i}"], arrays[f"proba{i}"] = predictions(bundle, dataset)
        np.savez(args.reference, **arrays)
        print(f"saved predictions of {len(pairs)} bundles to {args.reference}")
        return 0
    ref = np.load(args.reference)
    failed = False
    for i, (bundle, dataset) in enumerate(pairs):
        labels, proba = predictions(bundle, dataset)
        differ = int(np.sum(labels != ref[f"labels{i}"]))
        gap = float(np.max(np.abs(proba - ref[f"proba{i}"])))
        ok = differ == 0 and gap <= TOLERANCE
        failed |= not ok
        print(
            f"{bundle} on {dataset}: {len(labels)} texts, labels differing {differ}, "
            f"largest probability difference {gap:.2e} {'ok' if ok else 'FAILED'}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
