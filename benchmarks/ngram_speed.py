"""NgramTfidf against scikit-learn's TfidfVectorizer: seconds, ratio, and the same features.

    python benchmarks/ngram_speed.py [DATASETS...]

Fits on a dataset's train split and transforms its test split with both, for word 1-3-grams,
char 1-5-grams and char_wb 2-5-grams (sublinear tf, float32). Prints seconds, the speed ratio,
the matrix shapes and non-zeros, and the largest difference between the two Gram matrices of
the first 300 test rows (column order differs, inner products must not).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer

from textauto.features.ngrams import NgramTfidf

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
SETTINGS = {
    "word 1-3": {"analyzer": "word", "ngram_range": (1, 3), "token_pattern": r"(?u)\b\w+\b"},
    "char 1-5": {"analyzer": "char", "ngram_range": (1, 5)},
    "char_wb 2-5": {"analyzer": "char_wb", "ngram_range": (2, 5)},
}


def timed(vectorizer, train: list[str], test: list[str]):
    started = time.perf_counter()
    X = vectorizer.fit_transform(train)
    T = vectorizer.transform(test)
    return time.perf_counter() - started, X, T


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="*", default=["20newsgroups", "imdb", "trec6"])
    args = parser.parse_args()
    header = f"{'dataset':<14} {'features':<12} {'ours s':>7} {'sklearn s':>9} {'ratio':>6}"
    print(f"{header} {'shape':>18} {'nnz':>10} max diff")
    for name in args.datasets:
        train = pd.read_parquet(DATASETS / name / "train.parquet")["text"].tolist()
        test = pd.read_parquet(DATASETS / name / "test.parquet")["text"].tolist()
        for label, options in SETTINGS.items():
            common = {"sublinear_tf": True, "dtype": np.float32, **options}
            ours, X, T = timed(NgramTfidf(**common), train, test)
            theirs, X2, T2 = timed(TfidfVectorizer(**common), train, test)
            same = X.shape == X2.shape and X.nnz == X2.nnz
            diff = np.abs((T[:300] @ X[:300].T).toarray() - (T2[:300] @ X2[:300].T).toarray()).max()
            print(
                f"{name:<14} {label:<12} {ours:7.1f} {theirs:9.1f} {theirs / ours:5.1f}x "
                f"{X.shape!s:>18} {X.nnz:>10} {diff:.1e}{'' if same else '  SHAPES DIFFER'}"
            )


if __name__ == "__main__":
    main()
