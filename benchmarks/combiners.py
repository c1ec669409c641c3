"""Every combiner's test accuracy after one search, beside its held-out score.

    python benchmarks/combiners.py trec6 --budget 120 --seed 1
    python benchmarks/combiners.py ag_news_first8words --budget 120 --seeds 3   # a kinds.py variant

The search runs in this process (``AutoTextClassifier.fit`` with the budget and seed; a run's
trials differ from a `textauto train` run's with the same seed, whose clock also counts
loading). The candidates and held-out folds that chose the saved model are captured as the
refit receives them; then each combiner compared there (the best pipeline, the greedy average,
a stack per regularisation) and the twelve leading pipelines are fitted on all training rows
and scored on the test split. Printed per run: each combiner's held-out mean and per-fold
scores, whether a stack's lead over the average is within one standard error of their paired
difference, and every test accuracy. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kinds
from run import DATASETS

import textauto.ensemble.refit as refit_module
import textauto.estimator as estimator_module
from textauto import AutoTextClassifier
from textauto.ensemble import stacking
from textauto.ensemble.recipe import Recipe

LEADERS = 12


def data_folder(name: str, root: Path) -> Path:
    variants = {v.name: v for v in kinds.VARIANTS}
    return kinds.materialize(variants[name], root) if name in variants else DATASETS / name


def capture() -> dict[str, Any]:
    """Patches the refit to record the run's config, build context and combiner inputs."""
    seen: dict[str, Any] = {}
    fit_final, choose = estimator_module.fit_final, refit_module.choose_combination

    def recording_fit_final(result, texts, labels, cfg, ctx, *args, **kwargs):
        seen.update(cfg=cfg, ctx=ctx)
        return fit_final(result, texts, labels, cfg, ctx, *args, **kwargs)

    def recording_choose(*args, **kwargs):
        seen.update(args=args, seed=kwargs.get("seed", 0))
        return choose(*args, **kwargs)

    estimator_module.fit_final, refit_module.choose_combination = recording_fit_final, recording_choose
    return seen


def one_run(folder: Path, budget: float, seed: int) -> dict[str, Any]:
    train, test = pd.read_parquet(folder / "train.parquet"), pd.read_parquet(folder / "test.parquet")
    seen = capture()
    model = AutoTextClassifier(time_budget=budget, seed=seed)
    model.fit(train["text"].tolist(), train["label"].tolist(), predict_rows=len(test))
    truth = test["label"].to_numpy()

    def accuracy(estimator: Any) -> float:
        return round(float((np.asarray(estimator.predict(test["text"].tolist())) == truth).mean()), 4)

    out: dict[str, Any] = {"saved": accuracy(model), "trials": len(model.study_.trials)}
    if "args" not in seen:
        return out  # no combiners were compared
    candidates, y, classes, metric, rounds, refit_budget, workers = seen["args"]
    chooser = stacking.Chooser(candidates, y, len(classes), metric, rounds, refit_budget, workers)
    members = stacking.diverse_members(candidates, refit_budget, workers)
    choices = chooser.choices(members)
    held = chooser.held_out(choices, members, seen["seed"])
    average = held.get(stacking.Choice(stacking.Combiner.AVERAGE))
    out["held_out"] = {str(c): [round(s, 4) for s in h.scores] for c, h in held.items()}
    out["stack_within_noise"] = {
        str(c): stacking.within_noise(held[c], average, metric)
        for c in choices
        if c.combiner is stacking.Combiner.STACK and average is not None
    }
    X, Y = train["text"].tolist(), train["label"].to_numpy(dtype=object)
    space, ctx = seen["cfg"].space, seen["ctx"]
    with threadpool_limits(limits=1):
        means = {c: h.mean for c, h in held.items()}
        out["test"] = {}
        for choice in choices:
            combination = chooser.fit(choice, members, means)
            recipe = Recipe.of(combination, workers)
            out["test"][str(choice)] = (
                len(combination.members),
                accuracy(recipe.build(space, ctx).fit(X, Y)),
            )
        out["leaders"] = [
            (c.number, c.params["representation"], c.params["classifier"],
             round(float(metric.from_proba(y, c.proba, np.arange(len(classes)))), 4),
             accuracy(Recipe.pipeline(c.number, c.params).build(space, ctx).fit(X, Y)))
            for c in candidates[:LEADERS]
        ]  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dataset", help="a shared set or a benchmarks/kinds.py variant")
    parser.add_argument("--budget", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=None, help="one run with this seed")
    parser.add_argument("--seeds", type=int, default=1, help="runs with seeds 0..N-1")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "textauto-variants")
    args = parser.parse_args()
    folder = data_folder(args.dataset, args.out)
    for seed in [args.seed] if args.seed is not None else range(args.seeds):
        result = {
            "dataset": args.dataset,
            "budget": args.budget,
            "seed": seed,
            **one_run(folder, args.budget, seed),
        }
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
