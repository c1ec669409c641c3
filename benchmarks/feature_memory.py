"""What a trial's features cost in memory, per non-zero, against ``sizing.FeatureSizer``.

    python benchmarks/feature_memory.py

Each case runs in a fresh process: the peak RSS it adds while featurizing the full train split,
then while fitting a classifier on it, in bytes per non-zero of the matrix; and the estimate the
search skips representations by (non-zeros counted on a sample of texts, times the bytes per
non-zero in ``textauto/sizing.py``), here for a fit on the whole split.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"
CASES = [
    ("20newsgroups", "char_wb 2-5", "linear_svc"),
    ("20newsgroups", "char_wb 2-5", "complement_nb"),
    ("20newsgroups", "char_wb 2-5", "sgd"),
    ("imdb", "word 1-3", "linear_svc"),
    ("sst2", "char_wb 2-5", "linear_svc"),
]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(name: str, features: str, classifier: str) -> dict[str, float]:
    from sklearn.linear_model import SGDClassifier
    from sklearn.naive_bayes import ComplementNB
    from sklearn.svm import LinearSVC

    from textauto.cost.memory import FeatureSizer
    from textauto.features.ngrams import NgramTfidf
    from textauto.features.tfidf import WORD_TOKEN_PATTERN

    warnings.simplefilter("ignore")
    train = pd.read_parquet(DATA / name / "train.parquet")
    texts = train.text.tolist()
    if features == "word 1-3":
        featurizer = NgramTfidf(ngram_range=(1, 3), sublinear_tf=True, token_pattern=WORD_TOKEN_PATTERN)
        params = {"representation": "word", "word.ngram_max": 3}
    else:
        featurizer = NgramTfidf(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
        params = {"representation": "char", "char.ngram_min": 2, "char.ngram_max": 5}
    base = _peak_mb()
    X = featurizer.fit_transform(texts)
    featurized = _peak_mb()
    model = {
        "linear_svc": LinearSVC(max_iter=3),
        "complement_nb": ComplementNB(),
        "sgd": SGDClassifier(loss="modified_huber", max_iter=3, tol=None),
    }[classifier]
    model.fit(X, train.label)
    fitted = _peak_mb()
    per_nonzero = 2**20 / X.nnz
    estimate = FeatureSizer(texts, 1.0, 0).megabytes(featurizer, {**params, "classifier": classifier})
    return {
        "nnz_m": X.nnz / 1e6,
        "featurize_b": (featurized - base) * per_nonzero,
        "fit_b": (fitted - base) * per_nonzero,
        "estimate_mb": estimate,
        "peak_added_mb": fitted - base,
    }


def main() -> None:
    print(f"{'dataset':<14} {'features':<12} {'classifier':<14} {'nnz':>6} "
          f"{'featurize B/nnz':>15} {'+fit B/nnz':>10} {'added MB':>9} {'estimate MB':>11}")  # fmt: skip
    for case in CASES:
        out = subprocess.run(
            [sys.executable, __file__, *case], capture_output=True, text=True, check=True
        ).stdout
        r = json.loads(out)
        print(f"{case[0]:<14} {case[1]:<12} {case[2]:<14} {r['nnz_m']:5.1f}M {r['featurize_b']:15.1f} "
              f"{r['fit_b']:10.1f} {r['peak_added_mb']:9.0f} {r['estimate_mb']:11.0f}")  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) == 4:
        print(json.dumps(measure(*sys.argv[1:])))
    else:
        main()
