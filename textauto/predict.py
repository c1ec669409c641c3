"""Predicting a whole file: every input row comes back with its label and probabilities."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from textauto.data import READERS, _cell_text, read_table
from textauto.exceptions import DataError, DataWarning

PREDICTION_COL = "prediction"


def predict_frame(model: Any, frame: pd.DataFrame, text_col: str) -> pd.DataFrame:
    """``frame`` with a prediction column and one ``proba_<class>`` column per class."""
    texts = [_cell_text(v) or "" for v in frame[text_col].tolist()]
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
    if text_col not in frame.columns:
        existing = ", ".join(repr(str(c)) for c in frame.columns) or "(none)"
        raise DataError(f"{input_path}: text column {text_col!r} not found; the columns are: {existing}")
    empty = [i + 1 for i, v in enumerate(frame[text_col].tolist()) if _cell_text(v) is None]
    if empty:
        warnings.warn(
            f"{input_path}: {len(empty)} rows have an empty text (first: row {empty[0]}); "
            "they are predicted as empty strings",
            DataWarning,
            stacklevel=2,
        )
    result = predict_frame(model, frame, text_col)
    write_table(result, output_path)
    return len(result)
