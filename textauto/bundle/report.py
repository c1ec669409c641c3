"""The readable report saved beside a model: what was searched, what won, how it scored."""

from __future__ import annotations

from typing import Any

import pandas as pd

TOP = 10


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None or value != value else str(value)


def markdown_table(frame: pd.DataFrame) -> str:
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *rows])


def _language(m: dict[str, Any]) -> str:
    lang, detected = m.get("lang"), m.get("lang_detected")
    if detected is None:
        return f"`{lang}` (configured)"
    if detected != lang:
        return f"detected `{detected}`; spaCy's tokenizer for it is not installed, so `{lang}`"
    return f"`{lang}` (detected)"


def render_report(manifest: dict[str, Any], board: pd.DataFrame) -> str:
    m = manifest
    lines = [
        f"# textauto model `{m['name']}`",
        "",
        f"- created: {m['created']}",
        f"- training data: `{m['data']['train']}` ({m['data']['rows']} rows, "
        f"{len(m['classes'])} classes), fingerprint `{m['data']['fingerprint'][:16]}`",
        f"- validation: {m['validation']['method']}; {m['metric']} = {m['validation']['score']:.4f}",
        f"- language: {_language(m)}",
        "- trials: " + ", ".join(f"{k} {v}" for k, v in m["trials"].items() if v),
        f"- seed: {m['seed']}; time budget: {m['time_budget']} s; took {m['timings']['total_s']} s",
        "",
        "## Best pipeline",
        "",
        *[f"- `{k}` = `{v}`" for k, v in m["best_params"].items()],
    ]
    e = m.get("ensemble")
    if e and e.get("combiner") == "single":
        others = ", ".join(
            f"{kind} {value:.4f}" for kind, value in e["held_out_scores"].items() if kind != "single"
        )
        lines += [
            "",
            "## Saved model: the best pipeline",
            "",
            f"No combination of the best trials did better on held-out folds of their out-of-fold "
            f"predictions: {m['metric']} {e['held_out_scores']['single']:.4f} for the best pipeline "
            f"chosen that way, against {others}.",
        ]
    elif e:
        lines += [
            "",
            "## Saved model: an ensemble",
            "",
            (
                "A logistic regression over the members' out-of-fold log-probabilities"
                if e.get("combiner") == "stack"
                else "Greedy selection over the best trials' out-of-fold predictions"
            )
            + f": {m['metric']} {e['validation_score']:.4f} on held-out folds of those predictions, "
            f"against {e['held_out_scores']['single']:.4f} for the best pipeline chosen the same way "
            f"({e['best_single_score']:.4f} on all of them).",
            "",
            markdown_table(
                pd.DataFrame(e["members"], columns=["trial", "weight", "temperature", "pipeline"])
            ),
        ]
        if timed := e.get("refit_seconds"):  # manifests written before it lack it
            phases = [f"{k} {t['took']:.1f} s (priced at {t['priced']:.1f} s)" for k, t in timed.items()]
            lines += ["", f"Refit on all the training data, in threads: {'; '.join(phases)}."]
    if m.get("test"):
        t = m["test"]
        lines += [
            "",
            f"## Test set (`{m['data']['test']}`, {t['n']} rows)",
            "",
            f"accuracy {t['accuracy']:.4f} · macro-F1 {t['macro_f1']:.4f} · "
            f"weighted-F1 {t['weighted_f1']:.4f} · balanced accuracy {t['balanced_accuracy']:.4f}",
            "",
            markdown_table(
                pd.DataFrame(
                    [{"class": c, **v} for c, v in t["per_class"].items()],
                    columns=["class", "precision", "recall", "f1", "support"],
                )
            ),
        ]
    if not board.empty:
        cols = [c for c in ("trial", "state", "score", "duration_s") if c in board] + [
            c for c in ("param.representation", "param.classifier") if c in board
        ]
        lines += ["", f"## Leaderboard (top {TOP}; all trials in leaderboard.csv)", ""]
        lines.append(markdown_table(board[cols].head(TOP)))
    return "\n".join(lines) + "\n"
