"""Does negation marking (``word.negation``) help, and where?

    python benchmarks/negation.py                  # every English set in ../shared/datasets
    python benchmarks/negation.py sst2 imdb

Two portfolio pipelines, built by ``build_pipeline`` exactly as the search builds them (word
1-3-grams + char 1-5-grams + linear SVM; word 1-3-grams + NB-SVM), are fit with negation
marking off and on, on textauto's first validation split (phrase-grouped where the data is
phrase-level) and then on the whole training split, and scored on the held-out rows and on the
test split. Nothing is asserted: the search chooses the option per dataset on validation.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import pandas as pd
from optuna.trial import FixedTrial
from sklearn.exceptions import ConvergenceWarning

from textauto.components import BuildContext
from textauto.config import RunConfig
from textauto.space.build import PORTFOLIO, build_pipeline
from textauto.validation.config import ValidationConfig
from textauto.validation.splits import plan_validation

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
PIPELINES = {"word+char + linear_svc": PORTFOLIO[2], "word + nbsvm": PORTFOLIO[1]}
ENGLISH = ["sst2", "imdb", "sms_spam", "trec6", "ag_news_test7600_resplit", "20newsgroups"]


def main(names: list[str]) -> None:
    space = RunConfig().space
    warnings.simplefilter("ignore", ConvergenceWarning)  # liblinear's, as the search ignores it
    print(f"{'dataset':<26} {'pipeline':<24} {'negation':>8} {'val':>7} {'test':>7} {'fit s':>6}")
    for name in names:
        train = pd.read_parquet(DATASETS / name / "train.parquet")
        test = pd.read_parquet(DATASETS / name / "test.parquet")
        texts, y = train.text.tolist(), train.label.to_numpy()
        fit_rows, held_out = plan_validation(texts, y, ValidationConfig(), seed=0).splits[0]
        for label, params in PIPELINES.items():
            for negation in (False, True):
                trial = FixedTrial({**params, "word.negation": negation})
                started = time.perf_counter()
                model = build_pipeline(trial, space, BuildContext(lang="en"))
                model.fit([texts[i] for i in fit_rows], y[fit_rows])
                seconds = time.perf_counter() - started
                val = (model.predict([texts[i] for i in held_out]) == y[held_out]).mean()
                model.fit(texts, y)
                accuracy = (model.predict(test.text.tolist()) == test.label.to_numpy()).mean()
                row = f"{name:<26} {label:<24} {negation!s:>8} {val:7.4f} {accuracy:7.4f} {seconds:6.1f}"
                print(row, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or [n for n in ENGLISH if (DATASETS / n / "train.parquet").exists()])
