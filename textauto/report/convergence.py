"""The convergence path: every trial's score against time and trial number, the best so far,
and the trials that gave no score (pruned, skipped, failed) with why."""

from __future__ import annotations

from typing import Any

import pandas as pd

from textauto.report import svg
from textauto.validation.metrics import METRICS

BASELINE = ("word", "linear_svc")  # the portfolio's first entry: the three-line baseline


def convergence_section(manifest: dict[str, Any], board: pd.DataFrame) -> str:
    if board.empty:
        return "<p>No trial ran.</p>"
    metric = manifest["metric"]
    trials = board.sort_values("trial")
    charts = [
        _chart(trials, manifest, "finished_s", "seconds since the first trial started", metric),
        _chart(trials, manifest, "trial", "trial number", metric),
    ]
    charts = [c for c in charts if c]  # leaderboards written before finished_s have no times
    return (
        "<p>Each mark is a trial, its colour the classifier and its shape the representation; "
        "the line is the best score so far. Hover a mark for its trial, parameters and note. "
        "Trials that gave no score are in the rows under the plot.</p>"
        + "".join(f"<figure>{c}</figure>" for c in charts)
    )


def _chart(trials: pd.DataFrame, manifest: dict[str, Any], x: str, x_label: str, metric: str) -> str:
    space = manifest["config"]["space"]
    colours = {c: svg.PALETTE[i % len(svg.PALETTE)] for i, c in enumerate(space["classifiers"])}
    shapes = {r: svg.SHAPES[i % len(svg.SHAPES)] for i, r in enumerate(space["representations"])}
    if x not in trials:
        return ""
    at = trials[x]
    done = trials[trials["state"] == "complete"].assign(at=at)
    series = []
    for (rep, clf), group in done.groupby(["param.representation", "param.classifier"], sort=False):
        series.append(
            svg.Series(
                f"{rep} + {clf}",
                list(zip(group["at"].astype(float), group["score"].astype(float), strict=True)),
                color=colours.get(clf, svg.GREY),
                shape=shapes.get(rep, "circle"),
                titles=[_title(row) for row in group.to_dict("records")],
            )
        )
    best = best_so_far(done.sort_values("at"), METRICS[metric].direction)
    series.append(svg.Series("best so far", best, kind="step", color="#222"))
    return svg.chart(
        series,
        x_label=x_label,
        y_label=f"validation {metric}",
        references=baseline(done),
        strips=_unscored(trials.assign(at=at)),
    )


def best_so_far(done: pd.DataFrame, direction: str) -> list[tuple[float, float]]:
    """(x, best score up to x) at each trial that improved it, ``done`` in order of x."""
    path: list[tuple[float, float]] = []
    for row in done.itertuples(index=False):
        better = not path or (row.score > path[-1][1] if direction == "maximize" else row.score < path[-1][1])
        if better:
            path.append((float(row.at), float(row.score)))
    return path


def baseline(done: pd.DataFrame) -> list[svg.Reference]:
    """The portfolio's word TF-IDF + linear SVM, the hand-written baseline, as a line."""
    rep, clf = BASELINE
    found = done[
        done["portfolio"] & (done["param.representation"] == rep) & (done["param.classifier"] == clf)
    ]
    if found.empty:
        return []
    first = found.sort_values("trial").iloc[0]
    return [
        svg.Reference(float(first["score"]), f"baseline: word TF-IDF + linear SVM (trial {first['trial']})")
    ]


def _unscored(trials: pd.DataFrame) -> dict[str, list[tuple[float, str]]]:
    note = trials["note"].astype(object).fillna("").astype(str)  # all empty: read as floats
    skipped = (trials["state"] == "pruned") & note.str.startswith("skipped")
    rows = {
        "pruned": trials[(trials["state"] == "pruned") & ~skipped],
        "skipped": trials[skipped],
        "failed": trials[trials["state"] == "fail"],
    }
    return {
        name: [(float(r["at"]), _title(r)) for r in group.to_dict("records") if r["at"] == r["at"]]
        for name, group in rows.items()
    }


def _title(row: dict[str, Any]) -> str:
    """A trial as its mark's hover text: number, pipeline, score, note, parameters."""
    score = row.get("score")
    scored = f" {score:.4f}" if isinstance(score, float) and score == score else ""
    note = f" · {row['note']}" if isinstance(row.get("note"), str) and row["note"] else ""
    params = ", ".join(
        f"{k.removeprefix('param.')}={svg.fmt(v) if isinstance(v, float) else v}"
        for k, v in row.items()
        if k.startswith("param.") and k not in FAMILY and v == v and v is not None
    )
    family = f"{row.get('param.representation')} + {row.get('param.classifier')}"
    return f"trial {row['trial']}: {family}{scored}{note}" + (f"\n{params}" if params else "")


FAMILY = ("param.representation", "param.classifier")
