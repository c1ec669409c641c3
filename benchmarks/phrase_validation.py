"""Which validation score ranks pipelines as the sst2 test sentences do?

    python benchmarks/phrase_validation.py

sst2's training set holds sentences beside the phrases parsed out of them; its test set holds
sentences. On the grouped holdout textauto uses (each phrase kept with the longest text
containing it), 20 pipelines (4 representations x 5 classifiers) are fit on the training side
and scored three ways: on every held-out phrase, on the held-out sentences alone, and on the
test split. Nothing is asserted: compare the rankings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.naive_bayes import ComplementNB
from sklearn.svm import LinearSVC

from textauto.features.ngrams import NgramTfidf
from textauto.features.tfidf import WORD_TOKEN_PATTERN
from textauto.space.nbsvm import NBSVMClassifier
from textauto.validation.config import ValidationConfig
from textauto.validation.phrases import phrase_groups
from textauto.validation.splits import plan_validation

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "sst2"


def tfidf(**options) -> NgramTfidf:
    return NgramTfidf(sublinear_tf=True, **options)


REPRESENTATIONS = {
    "word 1-2": lambda: [tfidf(ngram_range=(1, 2), token_pattern=WORD_TOKEN_PATTERN)],
    "word 1-3": lambda: [tfidf(ngram_range=(1, 3), token_pattern=WORD_TOKEN_PATTERN)],
    "word 1-3 + char 1-5": lambda: [
        tfidf(ngram_range=(1, 3), token_pattern=WORD_TOKEN_PATTERN),
        tfidf(analyzer="char", ngram_range=(1, 5)),
    ],
    "char 2-6": lambda: [tfidf(analyzer="char", ngram_range=(2, 6))],
}
CLASSIFIERS = {
    "linear_svc": lambda: LinearSVC(C=0.5),
    "ridge": lambda: RidgeClassifier(),
    "complement_nb": lambda: ComplementNB(alpha=0.3),
    "nbsvm": lambda: NBSVMClassifier(C=1.0, alpha=1.0),
    "logreg": lambda: LogisticRegression(C=4.0, max_iter=1000),
}


def main() -> None:
    train, test = pd.read_parquet(DATA / "train.parquet"), pd.read_parquet(DATA / "test.parquet")
    texts, y = train.text.tolist(), train.label.to_numpy()
    plan = plan_validation(texts, y, ValidationConfig(), seed=0)
    fit_rows, held_out = plan.splits[0]
    # a group's sentence: its text with the most words (copies of it too)
    groups = phrase_groups(texts)
    words = np.fromiter((len(t.split()) for t in texts), dtype=np.int64, count=len(texts))
    most = np.zeros(groups.max() + 1, dtype=np.int64)
    np.maximum.at(most, groups, words)
    is_sentence = (words == most[groups])[held_out]
    print(f"{len(fit_rows)} rows fit; held out: {len(held_out)} phrases, {is_sentence.sum()} sentences")
    print(f"{'representation':<20} {'classifier':<14} {'phrases':>8} {'sentences':>9} {'test':>7}")
    for rep, make in REPRESENTATIONS.items():
        featurizers = make()
        X = sp.hstack([f.fit_transform(train.text.iloc[fit_rows]) for f in featurizers]).tocsr()
        V = sp.hstack([f.transform(train.text.iloc[held_out]) for f in featurizers]).tocsr()
        T = sp.hstack([f.transform(test.text) for f in featurizers]).tocsr()
        for name, build in CLASSIFIERS.items():
            model = build().fit(X, y[fit_rows])
            right = model.predict(V) == y[held_out]
            phrases, sentences_only = right.mean(), right[is_sentence].mean()
            accuracy = (model.predict(T) == test.label.to_numpy()).mean()
            print(f"{rep:<20} {name:<14} {phrases:8.4f} {sentences_only:9.4f} {accuracy:7.4f}")


if __name__ == "__main__":
    main()
