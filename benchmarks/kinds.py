"""Kinds of data the six shared sets do not cover, derived from them; textauto beside the baseline.

    python benchmarks/kinds.py                          # every variant, 120 s, one search each
    python benchmarks/kinds.py --seeds 3 --budget 30    # three searches (seeds 0, 1, 2) each
    python benchmarks/kinds.py imdb_1600 trec6_300      # some variants
    python benchmarks/kinds.py --list                   # what each variant is

Each variant's train and test split is fixed (derived with seed 0 from ../shared/datasets and
written under --out, never into the project). On it `textauto train` runs with default settings
and the given budget, and the three-line baseline (word 1-2-gram sublinear TF-IDF + LinearSVC,
scikit-learn's defaults otherwise) is fitted on the same training rows; both are scored on the
same test rows. Nothing here is asserted: these are measurements.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import DATASETS, print_header, print_row, run_one

SPLIT_SEED = 0
# Eight newsgroups of different topics (the unseen many-class set it stands for has eight).
NEWSGROUPS_8 = [
    "comp.graphics", "misc.forsale", "rec.autos", "rec.sport.hockey",
    "sci.med", "sci.space", "soc.religion.christian", "talk.politics.guns",
]  # fmt: skip
PUNCTUATION_AND_DIGITS = re.compile(r"[^\w\s]|[\d_]")


def read(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.read_parquet(DATASETS / name / "train.parquet"), pd.read_parquet(
        DATASETS / name / "test.parquet"
    )


def sample(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    """``n`` rows, stratified by label (all rows when there are no more)."""
    if n >= len(frame):
        return frame.reset_index(drop=True)
    kept, _ = train_test_split(frame, train_size=n, stratify=frame["label"], random_state=SPLIT_SEED)
    return kept.reset_index(drop=True)


def imdb_1600() -> tuple[pd.DataFrame, pd.DataFrame]:
    train, test = read("imdb")
    return sample(train, 1_600), sample(test, 2_000)


def newsgroups_8_plain() -> tuple[pd.DataFrame, pd.DataFrame]:
    train, test = read("20newsgroups")
    pool = pd.concat([train, test], ignore_index=True)
    pool = pool[pool["label"].isin(NEWSGROUPS_8)].copy()
    pool["text"] = [" ".join(PUNCTUATION_AND_DIGITS.sub(" ", t.lower()).split()) for t in pool["text"]]
    train, test = train_test_split(pool, train_size=5_500, stratify=pool["label"], random_state=SPLIT_SEED)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def small(name: str) -> Callable[[], tuple[pd.DataFrame, pd.DataFrame]]:
    def derive() -> tuple[pd.DataFrame, pd.DataFrame]:
        train, test = read(name)
        return sample(train, 300), test

    return derive


def ag_news_first_words() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Headline-length texts: each article cut to its first 8 words (the set joins title and
    description with a space, so the title cannot be cut out exactly)."""
    train, test = read("ag_news_test7600_resplit")
    cut = [frame.assign(text=[" ".join(t.split()[:8]) for t in frame["text"]]) for frame in (train, test)]
    return cut[0], cut[1]


@dataclass(frozen=True)
class Variant:
    name: str
    kind: str
    derive: Callable[[], tuple[pd.DataFrame, pd.DataFrame]]


VARIANTS = [
    Variant("imdb_1600", "few long documents: 1,600 imdb reviews; test 2,000 of its test reviews", imdb_1600),
    Variant(
        "20ng_8class_plain",
        "many classes, moderately long: 8 newsgroups, lower-cased, no punctuation or digits; "
        "5,500 posts to train, the rest of both splits to test",
        newsgroups_8_plain,
    ),
    Variant("sms_spam_300", "small data: 300 sms_spam messages; its test split", small("sms_spam")),
    Variant("trec6_300", "small data: 300 trec6 questions; its test split", small("trec6")),
    Variant(
        "ag_news_first8words",
        "headline-length texts: ag_news cut to its first 8 words; its splits",
        ag_news_first_words,
    ),
]


def materialize(variant: Variant, root: Path) -> Path:
    """The variant's train.parquet and test.parquet under ``root``; written once."""
    folder = root / variant.name
    if not (folder / "test.parquet").exists():
        folder.mkdir(parents=True, exist_ok=True)
        train, test = variant.derive()
        train[["text", "label"]].to_parquet(folder / "train.parquet", index=False)
        test[["text", "label"]].to_parquet(folder / "test.parquet", index=False)
    return folder


def baseline_test_accuracy(folder: Path) -> float:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    train, test = pd.read_parquet(folder / "train.parquet"), pd.read_parquet(folder / "test.parquet")
    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True), LinearSVC())
    model.fit(train["text"], train["label"])
    return float((model.predict(test["text"]) == test["label"].to_numpy()).mean())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("variants", nargs="*", help="default: every variant")
    parser.add_argument("--budget", type=float, default=120.0)
    parser.add_argument("--seeds", type=int, default=1, help="searches per variant, with seeds 0..N-1")
    parser.add_argument("--out", type=Path, default=None, help="keep the variants and bundles here")
    parser.add_argument("--list", action="store_true", help="describe the variants and stop")
    args = parser.parse_args()
    known = {v.name: v for v in VARIANTS}
    if args.list:
        for v in VARIANTS:
            print(f"{v.name:<22} {v.kind}")
        return
    unknown = [n for n in args.variants if n not in known]
    if unknown or args.seeds < 1:
        parser.error(
            f"unknown variant {unknown[0]!r}; known: {', '.join(known)}" if unknown else "--seeds: >= 1"
        )
    out_root = args.out or Path(tempfile.mkdtemp(prefix="textauto-kinds-"))
    print(f"textauto kinds · budget {args.budget:g} s · {args.seeds} seed(s) · output in {out_root}")
    print_header()
    summary = []
    for variant in [known[n] for n in args.variants] or VARIANTS:
        folder = materialize(variant, out_root / "variants")
        baseline = baseline_test_accuracy(folder)
        runs = []
        for seed in range(args.seeds):
            r = run_one(variant.name, args.budget, out_root / variant.name / f"seed{seed}", [], seed, folder)
            print_row(r)
            runs.append(r)
        summary.append((variant.name, baseline, [float(r["accuracy"]) for r in runs if "error" not in r]))
    print(f"\n{'variant':<22} {'baseline':>8} {'mean':>7} {'min':>7} {'mean-base':>9}  runs")
    for name, baseline, accs in summary:
        if not accs:
            print(f"{name:<22} {baseline:>8.4f} every run failed")
            continue
        mean = sum(accs) / len(accs)
        runs = ", ".join(f"{a:.4f}" for a in accs)
        print(f"{name:<22} {baseline:>8.4f} {mean:>7.4f} {min(accs):>7.4f} {mean - baseline:>+9.4f}  {runs}")


if __name__ == "__main__":
    main()
