"""Predicting a whole file: every input row comes back with its label and probabilities."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from textauto.data import READERS, cell_text, read_table, require_column
from textauto.exceptions import DataError, DataWarning

PREDICTION_COL = "prediction"


def predict_frame(model: Any, frame: pd.DataFrame, texts: list[str]) -> pd.DataFrame:
    """``frame`` with a prediction column and one ``proba_<class>`` column per class."""
    labels, proba = model.predict_with_proba(texts)
    result = frame.copy()
    result[PREDICTION_COL] = [str(c) for c in labels]
    for i, cls in enumerate(model.classes_):
        result[f"proba_{cls}"] = proba[:, i]
    return result


def write_table(frame: pd.DataFrame, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise DataError(
            f"{path}: unknown output extension {suffix or '(none)'!r}; supported: {', '.join(READERS)}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif suffix in (".jsonl", ".ndjson"):
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        frame.to_csv(path, sep="\t" if suffix == ".tsv" else ",", index=False)


def predict_file(model: Any, input_path: Path, output_path: Path, text_col: str) -> int:
    frame = read_table(input_path)
    require_column(input_path, frame, text_col, "text")
    cells = [cell_text(v) for v in frame[text_col].tolist()]
    empty = [i + 1 for i, text in enumerate(cells) if text is None]
    if empty:
        warnings.warn(
            f"{input_path}: {len(empty)} rows have an empty text (first: row {empty[0]}); "
            "they are predicted as empty strings",
            DataWarning,
            stacklevel=2,
        )
    result = predict_frame(model, frame, [text or "" for text in cells])
    write_table(result, output_path)
    return len(result)
