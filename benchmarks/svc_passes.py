"""How many liblinear passes the linear SVM needs (``classifiers.LINEAR_SVC_MAX_ITER``).

    python benchmarks/svc_passes.py [DATASETS...]

Word 1-2 + char_wb 2-5 TF-IDF (sublinear tf) on the full train split, LinearSVC at three C and
3 to 1000 passes, scored on the test split: test accuracy / fit seconds.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC

from textauto.features.ngrams import NgramTfidf
from textauto.features.tfidf import WORD_TOKEN_PATTERN

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"
DEFAULT = ["trec6", "sms_spam", "sst2", "ag_news_test7600_resplit", "20newsgroups", "imdb"]
PASSES = (3, 5, 10, 20, 1000)


def main(names: list[str]) -> None:
    warnings.simplefilter("ignore", ConvergenceWarning)
    for name in names:
        train = pd.read_parquet(DATA / name / "train.parquet")
        test = pd.read_parquet(DATA / name / "test.parquet")
        parts = [
            NgramTfidf(ngram_range=(1, 2), sublinear_tf=True, token_pattern=WORD_TOKEN_PATTERN),
            NgramTfidf(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
        ]
        X = sp.hstack([p.fit_transform(train.text) for p in parts]).tocsr()
        T = sp.hstack([p.transform(test.text) for p in parts]).tocsr()
        for C in (0.3, 1.0, 3.0):
            row = []
            for passes in PASSES:
                started = time.perf_counter()
                svc = LinearSVC(C=C, max_iter=passes, random_state=0).fit(X, train.label)
                seconds = time.perf_counter() - started
                row.append(f"{passes:>4}: {(svc.predict(T) == test.label).mean():.4f} / {seconds:5.1f}s")
            print(f"{name:<25} C={C:<4}", "  ".join(row), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or DEFAULT)
