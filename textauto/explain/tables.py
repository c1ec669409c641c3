"""Explanations as the `textauto explain` command prints them."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from textauto.explain.explanation import Explanation


def explanation_lines(e: Explanation, top: int) -> list[Any]:
    """What was predicted and explained, what the weights add up to, then a table each way."""
    head = f"predicted {e.predicted}; explaining {e.explained} (probability {e.probability:.3f})"
    if e.exact and e.score is not None and e.intercept is not None:
        rest = e.score - e.intercept
        sums = f"{e.kind}: {e.score:+.4f} = intercept {e.intercept:+.4f} + features {rest:+.4f}"
    else:
        sums = f"weights: parts of the {e.kind} of the class, over the ensemble's members"
    return [
        head,
        sums,
        feature_table(f"toward {e.explained}", [c.to_dict() for c in e.toward(top)]),
        feature_table(f"against {e.explained}", [c.to_dict() for c in e.against(top)]),
    ]


def feature_table(title: str, rows: list[dict[str, Any]]) -> Table:
    """Weight, representation and term; a term with spaces at its ends shown quoted."""
    table = Table(title=title, title_justify="left")
    table.add_column("weight", justify="right")
    table.add_column("from")
    table.add_column("feature")
    for r in rows:
        term = r["term"]
        table.add_row(f"{r['weight']:+.4f}", r["source"], repr(term) if term != term.strip() else term)
    return table
