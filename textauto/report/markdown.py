"""The readable report saved beside a model: what was searched, what won, how it scored."""

from __future__ import annotations

from typing import Any

import pandas as pd

TOP = 10


def cell(value: Any) -> str:
    """A value as a table shows it: floats to 4 significant digits, nothing for None or NaN."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None or value != value else str(value)


def markdown_table(frame: pd.DataFrame) -> str:
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *rows])


def _language(m: dict[str, Any]) -> str:
    lang, detected = m.get("lang"), m.get("lang_detected")
    if detected is None:
        return f"`{lang}` (configured)"
    if detected != lang:
        return f"detected `{detected}`; spaCy's tokenizer for it is not installed, so `{lang}`"
    return f"`{lang}` (detected)"


def render_report(manifest: dict[str, Any], board: pd.DataFrame) -> str:
    lines = [*_summary(manifest), *_saved_model(manifest), *_test_set(manifest), *_leaderboard(board)]
    return "\n".join(lines) + "\n"


def _summary(m: dict[str, Any]) -> list[str]:
    return [
        f"# textauto model `{m['name']}`",
        "",
        f"- created: {m['created']}",
        f"- training data: `{m['data']['train']}` ({m['data']['rows']} rows, "
        f"{len(m['classes'])} classes), fingerprint `{m['data']['fingerprint'][:16]}`",
        *_validation(m),
        f"- language: {_language(m)}",
        "- trials: " + ", ".join(f"{k} {v}" for k, v in m["trials"].items() if v),
        f"- seed: {m['seed']}; time budget: {m['time_budget']} s; search and refit took "
        f"{m['timings']['search_and_refit_s']} s (every stage's time: manifest.json, report.html)",
        "",
        "## Best pipeline",
        "",
        *[f"- `{k}` = `{v}`" for k, v in m["best_params"].items()],
    ]


def _validation(m: dict[str, Any]) -> list[str]:
    v = m["validation"]
    why = f" ({v['why']})" if v.get("why") else ""  # manifests written before it lack these
    se = ""
    if "standard_error" in v:
        se = f" (the best pipeline's standard error over {v['rows']} rows: {v['standard_error']:.4f})"
    lines = [f"- validation: {v['method']}{why}; {m['metric']} = {v['score']:.4f}{se}"]
    if "optimism" in v:
        lines.append(
            f"- selection's optimism: {v['optimism']:+.4f} ({v['in_sample_score']:.4f} on the rows that "
            f"chose the saved model, {v['held_out_score']:.4f} on rows that played no part in choosing it)"
        )
    return lines


def _saved_model(m: dict[str, Any]) -> list[str]:
    e = m.get("ensemble")
    if not e:
        return []
    if e.get("combiner") == "single":
        others = ", ".join(
            f"{kind} {value:.4f}" for kind, value in e["held_out_scores"].items() if kind != "single"
        )
        return [
            "",
            "## Saved model: the best pipeline",
            "",
            f"No combination of the best trials did better on held-out folds of their out-of-fold "
            f"predictions: {m['metric']} {e['held_out_scores']['single']:.4f} for the best pipeline "
            f"chosen that way, against {others}.",
        ]
    how = (
        "A logistic regression over the members' out-of-fold log-probabilities"
        if e.get("combiner") == "stack"
        else "Greedy selection over the best trials' out-of-fold predictions"
    )
    lines = [
        "",
        "## Saved model: an ensemble",
        "",
        how + f": {m['metric']} {e['validation_score']:.4f} on held-out folds of those predictions, "
        f"against {e['held_out_scores']['single']:.4f} for the best pipeline chosen the same way "
        f"({e['best_single_score']:.4f} on all of them).",
        "",
        markdown_table(pd.DataFrame(e["members"], columns=["trial", "weight", "temperature", "pipeline"])),
    ]
    if timed := e.get("refit_seconds"):  # manifests written before it lack it
        phases = [f"{k} {t['took']:.1f} s (priced at {t['priced']:.1f} s)" for k, t in timed.items()]
        lines += ["", f"Refit on all the training data, in threads: {'; '.join(phases)}."]
    return lines


def _test_set(m: dict[str, Any]) -> list[str]:
    t = m.get("test")
    if not t:
        return []
    per_class = pd.DataFrame(
        [{"class": c, **v} for c, v in t["per_class"].items()],
        columns=["class", "precision", "recall", "f1", "support"],
    )
    return [
        "",
        f"## Test set (`{m['data']['test']}`, {t['n']} rows)",
        "",
        f"accuracy {t['accuracy']:.4f} · macro-F1 {t['macro_f1']:.4f} · "
        f"weighted-F1 {t['weighted_f1']:.4f} · balanced accuracy {t['balanced_accuracy']:.4f}",
        "",
        markdown_table(per_class),
    ]


def _leaderboard(board: pd.DataFrame) -> list[str]:
    if board.empty:
        return []
    cols = [
        c
        for c in ("trial", "state", "score", "duration_s", "param.representation", "param.classifier")
        if c in board
    ]
    # why a trial ranks above a higher score, ran on a share of the rows, or failed
    if "note" in board and board["note"].head(TOP).astype(bool).any():
        cols.append("note")
    return [
        "",
        f"## Leaderboard (top {TOP}; all trials in leaderboard.csv)",
        "",
        markdown_table(board[cols].head(TOP)),
    ]
