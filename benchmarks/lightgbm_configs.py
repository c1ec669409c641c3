"""LightGBM sizes against the linear SVM on the same word TF-IDF features (train split -> test split).

    python benchmarks/lightgbm_configs.py trec6 sms_spam ag_news_test7600_resplit

For each set: word 1-1 and 1-2-grams seen twice (sublinear TF-IDF, as the portfolio's LightGBM
entry), a LinearSVC (C=1), and LightGBM at three sizes, one thread each: test accuracy and fit
seconds. Sets over 20,000 rows are subsampled to 20,000. These figures chose the LightGBM
portfolio entry and its ranges (`textauto/space.py`, `textauto/classifiers.py`).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier
from sklearn.svm import LinearSVC

from textauto.features.ngrams import NgramTfidf
from textauto.features.tfidf import WORD_TOKEN_PATTERN
from textauto.space.classifiers import LIGHTGBM_MAX_BIN

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
SIZES = {
    "100 trees, 10% cols": dict(n_estimators=100, learning_rate=0.15, num_leaves=16, min_child_samples=5,
                                colsample_bytree=0.1, reg_lambda=0.01),
    "300 trees, 30% cols": dict(n_estimators=300, learning_rate=0.1, num_leaves=31, min_child_samples=5,
                                colsample_bytree=0.3, reg_lambda=0.01),
    "500 trees, 20% cols": dict(n_estimators=500, learning_rate=0.05, num_leaves=16, min_child_samples=3,
                                colsample_bytree=0.2, reg_lambda=0.1),
}  # fmt: skip


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("datasets", nargs="+")
    args = parser.parse_args()
    print(f"{'dataset':<26} {'features':<12} {'model':<22} {'test acc':>8} {'fit s':>7}")
    for name in args.datasets:
        train = pd.read_parquet(DATASETS / name / "train.parquet")
        test = pd.read_parquet(DATASETS / name / "test.parquet")
        if len(train) > 20_000:
            train = train.sample(20_000, random_state=0)
        for high in (1, 2):
            vec = NgramTfidf(analyzer="word", token_pattern=WORD_TOKEN_PATTERN, ngram_range=(1, high),
                             min_df=2, sublinear_tf=True, dtype=np.float32)  # fmt: skip
            X, Xt = vec.fit_transform(train.text.tolist()), vec.transform(test.text.tolist())
            models = {"LinearSVC C=1": LinearSVC(C=1.0)}
            models.update({
                size: LGBMClassifier(**p, max_bin=LIGHTGBM_MAX_BIN, n_jobs=1, verbose=-1, random_state=0)
                for size, p in SIZES.items()
            })  # fmt: skip
            for label, model in models.items():
                t0 = time.monotonic()
                model.fit(X, train.label.values)
                seconds = time.monotonic() - t0
                accuracy = float(np.mean(model.predict(Xt) == test.label.values))
                features = f"word 1-{high}"
                print(f"{name:<26} {features:<12} {label:<22} {accuracy:>8.4f} {seconds:>7.1f}", flush=True)


if __name__ == "__main__":
    main()
