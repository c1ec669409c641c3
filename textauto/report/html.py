"""``report.html``: the run as one self-contained page, rendered from the bundle's files alone.

Everything it shows is read from the manifest and the leaderboard, so ``textauto report`` can
rebuild it from a bundle. Plots are inline SVG (``textauto.report.svg``); the page has no
script and fetches nothing, so it opens from disk with networking off.
"""

from __future__ import annotations

import io
import json
import numbers
from html import escape
from typing import Any

import numpy as np
import pandas as pd

from textauto.report import svg
from textauto.report.card import weak_classes
from textauto.report.convergence import convergence_section
from textauto.report.markdown import cell
from textauto.validation.metrics import METRICS

# The sections in page order: (id, heading). Tests and readers find them by id.
SECTIONS = (
    ("data", "The data"),
    ("space", "The search space and the budget"),
    ("convergence", "How the search converged"),
    ("importance", "What mattered: parameters, representations and classifiers"),
    ("model", "The saved model"),
    ("validation", "On the validation rows, out of fold"),
    ("test", "On the test set"),
    ("features", "What the model looks at"),
    ("reproduction", "Reproducing it"),
)

STYLE = """
body { font-family: sans-serif; max-width: 980px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 0.85em; }
.note { color: #555; font-size: 0.9em; } figure { margin: 0.5em 0; }
figure.class-features { display: inline-block; vertical-align: top; margin-right: 1em; }
"""


def render_html(manifest: dict[str, Any], board: pd.DataFrame) -> str:
    """The whole page for the bundle whose manifest and leaderboard are given."""
    # read as its CSV file reads, so that the page rebuilt from a bundle is the page saved in it
    board = pd.read_csv(io.StringIO(board.to_csv(index=False))) if not board.empty else board
    bodies = {
        "data": _data(manifest),
        "space": _space(manifest),
        "convergence": convergence_section(manifest, board),
        "importance": _importances(manifest) + families_table(board, METRICS[manifest["metric"]].direction),
        "model": _model(manifest),
        "validation": _validation(manifest),
        "test": _test(manifest),
        "features": _features(manifest),
        "reproduction": _reproduction(manifest),
    }
    sections = [
        f'<section id="{key}"><h2>{escape(title)}</h2>{bodies[key]}</section>' for key, title in SECTIONS
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>textauto report: {escape(str(manifest['name']))}</title><style>{STYLE}</style></head>"
        f"<body><h1>textauto model <code>{escape(str(manifest['name']))}</code></h1>"
        f'<p class="note">created {escape(str(manifest["created"]))}</p>{"".join(sections)}</body></html>\n'
    )


def table(frame: pd.DataFrame) -> str:
    """An HTML table of ``frame``, numbers right-aligned."""
    head = "".join(f"<th>{escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for row in frame.itertuples(index=False):
        cells = []
        for value in row:
            numeric = isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)
            text = cell(value)
            cells.append(f'<td class="num">{text}</td>' if numeric else f"<td>{escape(text)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def facts(pairs: list[tuple[str, Any]]) -> str:
    """A two-column table of named facts."""
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(cell(v))}</td></tr>" for k, v in pairs)
    return f"<table>{rows}</table>"


def _data(m: dict[str, Any]) -> str:
    d = m["data"]
    counts = d["class_counts"]
    pairs = [
        ("training file", d["train"]),
        ("rows", d["rows"]),
        ("classes", len(counts)),
        ("test file", d.get("test") or "none"),
        ("language", m.get("lang_detected") or f"{m.get('lang')} (configured)"),
        ("fingerprint", d["fingerprint"][:16]),
    ]
    chart = svg.bars(list(counts), [float(v) for v in counts.values()], x_label="training rows per class")
    profile = d.get("profile")  # manifests written before it lack it
    if not profile:
        return facts(pairs) + f"<figure>{chart}</figure>"
    q = profile["length_quantiles"]
    pairs += [
        ("text length in characters", ", ".join(f"{k} {v}" for k, v in q.items())),
        ("rows repeating an earlier text", profile["duplicates"]),
        ("... with a different label", profile["conflicting"]),
    ]
    if profile.get("test_rows") is not None:
        pairs.append(
            ("test rows also in the training data", f"{profile['test_overlap']} of {profile['test_rows']}")
        )
    bins = dict(profile["length_bins"])
    while len(bins) > 1 and not bins[list(bins)[-1]]:  # up to the longest texts
        bins.pop(list(bins)[-1])
    lengths = svg.bars(list(bins), [float(v) for v in bins.values()], x_label="training rows by characters")
    return facts(pairs) + f"<figure>{chart}</figure><figure>{lengths}</figure>"


def _space(m: dict[str, Any]) -> str:
    space = m["config"]["space"]
    rows = []
    for name in [*space["representations"], *space["classifiers"]]:
        for part in name.split("+"):
            ranges = space.get(part) or {}
            for param, spec in ranges.items():
                rows.append({"component": part, "parameter": param, "searched over": _range(spec)})
    declared = pd.DataFrame(rows).drop_duplicates() if rows else pd.DataFrame(columns=["component"])
    budget = [
        ("time budget (s)", m.get("time_budget") or "none"),
        *_stages(m["timings"]),
        ("trials", ", ".join(f"{state} {n}" for state, n in m["trials"].items() if n)),
    ]
    return (
        f"<p>Representations: {escape(', '.join(space['representations']))}. "
        f"Classifiers: {escape(', '.join(space['classifiers']))}.</p>" + facts(budget) + table(declared)
    )


def _stages(t: dict[str, Any]) -> list[tuple[str, Any]]:
    """Seconds spent per stage, as recorded (bundles saved before a stage was timed lack it)."""
    search = None
    if t.get("search_and_refit_s") is not None and t.get("refit_s") is not None:
        search = round(t["search_and_refit_s"] - t["refit_s"], 2)
    stages = [
        ("loading: start-up, reading and checking the data (s)", t.get("loading_s")),
        ("search (s)", search),
        ("... of which spaCy parsing, summed over processes (s)", t.get("spacy_parsing_s")),
        ("refit of the saved model (s)", t.get("refit_s")),
        ("scoring the test set (s)", t.get("test_scoring_s")),
        ("report: importances, scores out of fold, class features (s)", t.get("report_s")),
        ("saving the bundle (s)", t.get("saving_s")),
        ("whole run (s)", t.get("total_s")),
    ]
    extended = t.get("search_extended") or []
    went_on = "; ".join(f"at {e['at']} s, holding back {e['held_back']} s" for e in extended)
    if went_on:  # the refit chosen cost less than the reserve held back (search.run.Session.extend)
        stages.insert(2, ("... searched on once the refit was priced", went_on))
    return [(name, value) for name, value in stages if value is not None]


def _range(spec: Any) -> str:
    if isinstance(spec, dict) and "low" in spec:
        scale = ", log scale" if spec.get("log") else ""
        return f"{spec['low']} to {spec['high']}{scale}"
    if isinstance(spec, list):
        return " | ".join(map(str, spec))
    return str(spec)


def _importances(m: dict[str, Any], top: int = 15) -> str:
    found = m.get("importances") or {}
    if not found:
        return "<p>Too few trials completed to say which parameters mattered.</p>"
    names = list(found)[:top]
    chart = svg.bars(names, [float(found[n]) for n in names], x_label="share of the importance (PED-ANOVA)")
    return (
        "<p>How much of the variation in validation score each searched parameter explains, by "
        "Optuna's PED-ANOVA evaluator over the completed trials.</p>"
        f"<figure>{chart}</figure>"
    )


def families_table(board: pd.DataFrame, direction: str) -> str:
    """Per representation and classifier: trials run, completed, best and median score, mean seconds."""
    if board.empty:
        return "<p>No trial ran.</p>"
    frame = board.assign(family=board["param.representation"] + " + " + board["param.classifier"])
    rows = []
    for family, group in frame.groupby("family"):
        scores = group["score"].dropna()
        best = (scores.max() if direction == "maximize" else scores.min()) if len(scores) else None
        rows.append(
            {
                "representation + classifier": family,
                "trials": len(group),
                "completed": len(scores),
                "best": best,
                "median": scores.median() if len(scores) else None,
                "mean seconds": group["duration_s"].mean(),
            }
        )
    out = pd.DataFrame(rows).sort_values("best", ascending=direction == "minimize", na_position="last")
    return table(out)


def _model(m: dict[str, Any]) -> str:
    v = m["validation"]
    pairs = [
        ("validation", v["method"]),
        ("validation score", v["score"]),
        ("standard error", v.get("standard_error")),
        ("selection's optimism", v.get("optimism")),
    ]
    ens = m.get("ensemble")
    if not ens:
        params = pd.DataFrame({"parameter": list(m["best_params"]), "value": list(m["best_params"].values())})
        return facts(pairs) + f"<p>The best single pipeline, trial {m['best_trial']}.</p>" + table(params)
    members = pd.DataFrame(ens["members"])
    held = pd.DataFrame(
        {"combiner": list(ens["held_out_scores"]), "held-out score": list(ens["held_out_scores"].values())}
    )
    return (
        facts([*pairs, ("combiner", ens["combiner"])])
        + "<h3>Members</h3>"
        + table(members)
        + "<h3>Every combiner on held-out folds of the out-of-fold rows</h3>"
        + table(held)
    )


def _validation(m: dict[str, Any]) -> str:
    scores = m["validation"].get("out_of_fold")
    if not scores:
        return (
            "<p>Not recorded: the saved model left no out-of-fold predictions (a single pipeline "
            "refit with its own calibration, or a bundle saved by an older textauto).</p>"
        )
    note = (
        f"<p>The saved model's predictions for the {scores['n']} rows validation scored: each "
        "pipeline's scores come from models that never trained on the row. An ensemble's weights "
        "or stacker were fitted on these same rows, so for an ensemble these figures flatter it "
        "a little; its held-out score above does not.</p>"
    )
    return note + _scores(scores, [("validation", m["validation"]["method"])])


def _test(m: dict[str, Any]) -> str:
    test = m.get("test")
    if not test:
        return "<p>No test set was given.</p>"
    return _scores(test, [("test file", m["data"].get("test"))])


def _scores(scores: dict[str, Any], where: list[tuple[str, Any]]) -> str:
    """Summary figures, per-class precision/recall/F1, the confusion heat map and reliability."""
    per_class = pd.DataFrame(
        [
            {"class": c, **{k: s[k] for k in ("precision", "recall", "f1", "support")}}
            for c, s in scores["per_class"].items()
        ]
    )
    weak = weak_classes(scores)
    matrix = scores["confusion_matrix"]
    summary = [
        (k, scores[k])
        for k in ("n", "accuracy", "macro_f1", "weighted_f1", "balanced_accuracy")
        if k in scores
    ]
    weak_note = f"<p>Weakest classes by F1: {escape(', '.join(map(str, weak)))}.</p>" if weak else ""
    heat = svg.heatmap(matrix["labels"], matrix["labels"], matrix["matrix"])
    reliability = _reliability(scores.get("calibration"))
    return facts([*where, *summary]) + weak_note + table(per_class) + f"<figure>{heat}</figure>" + reliability


def _features(m: dict[str, Any]) -> str:
    """Each class's most indicative features, as ``textauto explain --global`` lists them."""
    record = m.get("class_features")
    if not record:
        return "<p>Not recorded for this model (saved by an older textauto, or not explainable).</p>"
    charts = []
    for cls, rows in record.items():
        labels = [
            f"{r['source']}: {r['term'] if r['term'] == r['term'].strip() else repr(r['term'])}" for r in rows
        ]
        chart = svg.bars(labels, [float(r["weight"]) for r in rows], x_label=f"toward {cls}", width=460)
        charts.append(
            f'<figure class="class-features"><figcaption>{escape(str(cls))}</figcaption>{chart}</figure>'
        )
    return (
        "<p>For each class, the features with the largest mean part in the model's centered "
        "score of that class (an ensemble's: its members' centered log-probabilities, combined), "
        "over a sample of its training rows "
        "(<code>textauto explain MODEL_DIR --global</code>; one text: <code>textauto explain "
        'MODEL_DIR "some text"</code>).</p>' + "".join(charts)
    )


def _reliability(calibration: dict[str, Any] | None) -> str:
    """The predicted class's probability against how often it was right, beside the diagonal."""
    if not calibration or not calibration["bins"]:
        return ""
    bins = calibration["bins"]
    curve = svg.Series(
        "the model",
        [(b["confidence"], b["accuracy"]) for b in bins],
        titles=[f"{b['rows']} predictions at {b['confidence']:.2f}: {b['accuracy']:.1%} right" for b in bins],
    )
    chart = svg.chart(
        [svg.Series("perfect calibration", [(0.0, 0.0), (1.0, 1.0)], kind="line", color=svg.GREY), curve],
        x_label="probability of the predicted class",
        y_label="share right",
    )
    return (
        f"<h3>Reliability (expected calibration error {calibration['ece']:.3f})</h3><figure>{chart}</figure>"
    )


def _reproduction(m: dict[str, Any]) -> str:
    oof = (m.get("reproduction") or {}).get("oof_predictions")
    pairs = [
        ("seed", m["seed"]),
        ("data fingerprint", m["data"]["fingerprint"]),
        ("out-of-fold predictions (SHA-256)", f"{oof['sha256']} ({oof['rows']} rows)" if oof else None),
        *[(f"{name} version", version) for name, version in m.get("versions", {}).items()],
    ]
    config = escape(json.dumps(m["config"], indent=2, sort_keys=True))
    rerun = (
        "<p>To refit this model on its training file and check that it predicts the same: "
        f"<code>textauto reproduce MODEL_DIR --data {escape(str(m['data']['train']))}</code>.</p>"
        if m.get("reproduction")
        else ""
    )
    return (
        rerun
        + facts([(k, v) for k, v in pairs if v is not None])
        + f"<details><summary>The run's configuration</summary><pre>{config}</pre></details>"
    )
