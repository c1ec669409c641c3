"""One-vs-rest against multinomial fits: what each costs and scores, set by set.

    python benchmarks/multiclass_cost.py                     # the six shared sets
    python benchmarks/multiclass_cost.py --variants DIR      # and kinds.py's variants under DIR

On word 1-2-gram TF-IDF (sublinear, min_df 2; at most 20,000 training rows), for C in 0.1-100:
logistic regression by multinomial L-BFGS against one-vs-rest liblinear, then the linear SVM
(20 passes, C 0.5) one-vs-rest against Crammer-Singer. Prints fit seconds and test accuracy.
Nothing is asserted: these are measurements (docs/design.md, "The search space's defaults").
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import LinearSVC

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import DATASETS

MAX_ROWS = 20_000


def timed(model: object, X: object, y: object, X_test: object, y_test: object) -> str:
    started = time.monotonic()
    model.fit(X, y)
    seconds = time.monotonic() - started
    return f"{seconds:6.2f}s {(model.predict(X_test) == y_test).mean():.4f}"


def compare(folder: Path) -> None:
    train, test = pd.read_parquet(folder / "train.parquet"), pd.read_parquet(folder / "test.parquet")
    if len(train) > MAX_ROWS:
        train = train.sample(MAX_ROWS, random_state=0)
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    X, X_test = vectorizer.fit_transform(train["text"]), vectorizer.transform(test["text"])
    y, y_test = train["label"].to_numpy(), test["label"].to_numpy()
    name = f"{folder.name} ({y.size} rows, {len(set(y))} classes)"
    for C in (0.1, 1.0, 10.0, 100.0):
        multinomial = timed(LogisticRegression(C=C, max_iter=1000), X, y, X_test, y_test)
        ovr = timed(OneVsRestClassifier(LogisticRegression(C=C, solver="liblinear")), X, y, X_test, y_test)
        print(f"{name:<44} logreg C={C:<5g} multinomial {multinomial} | one-vs-rest {ovr}", flush=True)
    for multi_class in ("ovr", "crammer_singer"):
        svm = LinearSVC(C=0.5, max_iter=20, multi_class=multi_class)
        print(f"{name:<44} linear SVM {multi_class:<14} {timed(svm, X, y, X_test, y_test)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--variants", type=Path, help="also the variants under this folder (kinds.py --out)")
    args = parser.parse_args()
    folders = sorted(p for p in DATASETS.iterdir() if (p / "train.parquet").exists())
    if args.variants:
        folders += sorted(p for p in args.variants.iterdir() if (p / "train.parquet").exists())
    warnings.simplefilter("ignore", ConvergenceWarning)
    for folder in folders:
        compare(folder)


if __name__ == "__main__":
    main()
