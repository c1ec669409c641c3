"""Reading labelled text files into a ``TextDataset``, and every check of the input.

Rows are numbered from 1, not counting a header line. Every problem raises ``DataError``
naming the file and the row, column or class; suspicious but usable data gives a
``DataWarning``.
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from textauto.exceptions import DataError, DataWarning

READERS = (".csv", ".tsv", ".jsonl", ".ndjson", ".parquet")
IMBALANCE_RATIO = 20.0
SHOW_ROWS = 5


@dataclass
class TextDataset:
    """Texts with their labels (labels may be absent for data to predict on)."""

    texts: list[str]
    labels: list[str] | None
    source: str = "<memory>"
    dropped_rows: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def class_counts(self) -> Counter[str]:
        return Counter(self.labels or [])

    def fingerprint(self) -> str:
        """SHA-256 over texts and labels, in order: identifies the exact training data."""
        h = hashlib.sha256()
        for text, label in zip(self.texts, self.labels or [""] * len(self.texts), strict=True):
            h.update(text.encode("utf-8") + b"\x1f" + label.encode("utf-8") + b"\x1e")
        return h.hexdigest()


def read_table(path: str | Path) -> pd.DataFrame:
    """Read CSV, TSV, JSONL or Parquet (chosen by extension) with every column as text."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise DataError(
            f"{path}: unknown file extension {suffix or '(none)'!r}; supported: {', '.join(READERS)}"
        )
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not a data file")
    try:
        if suffix == ".parquet":
            return _read_parquet(path)
        text = _decode_utf8(path, path.read_bytes())
    except OSError as exc:
        raise DataError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    if suffix in (".jsonl", ".ndjson"):
        return _read_jsonl(path, text)
    return _read_delimited(path, text, sep="\t" if suffix == ".tsv" else ",")


def _decode_utf8(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{path}: line {line}: byte 0x{raw[exc.start]:02x} is not valid UTF-8; save the file as UTF-8"
        ) from exc


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise DataError(f"{path}: not a readable Parquet file ({exc})") from exc


def _read_delimited(path: Path, text: str, sep: str) -> pd.DataFrame:
    kind = "TSV" if sep == "\t" else "CSV"
    if not text.strip():
        raise DataError(f"{path}: the file is empty (no header, no rows)")
    try:
        # keep_default_na=False: "NA", "null" or "None" are real texts, not missing values.
        return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, ValueError) as exc:
        detail = str(exc).strip().removeprefix("Error tokenizing data. C error: ")
        raise DataError(f"{path}: malformed {kind}: {detail}") from exc


def _read_jsonl(path: Path, text: str) -> pd.DataFrame:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: line {number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise DataError(f"{path}: line {number}: expected a JSON object, got {type(record).__name__}")
        records.append(record)
    return pd.DataFrame.from_records(records)


def cell_text(value: object) -> str | None:
    """A cell as text, or None when it is missing or blank."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if value is pd.NA:
        return None
    text = value if isinstance(value, str) else str(value)
    return text if text.strip() else None


def require_column(path: Path, frame: pd.DataFrame, column: str, role: str) -> None:
    if column not in frame.columns:
        existing = ", ".join(repr(str(c)) for c in frame.columns) or "(none)"
        raise DataError(
            f"{path}: {role} column {column!r} not found; the columns are: {existing} "
            f"(choose one with --{role}-col)"
        )


def _rows(numbers: Sequence[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:SHOW_ROWS])
    return shown + (", ..." if len(numbers) > SHOW_ROWS else "")


def load_dataset(
    path: str | Path, text_col: str = "text", label_col: str | None = "label", max_chars: int | None = None
) -> TextDataset:
    """Read ``path`` and keep rows with both a text and (when ``label_col``) a label; texts
    longer than ``max_chars`` are cut to it, with a warning naming their rows."""
    path = Path(path)
    frame = read_table(path)
    require_column(path, frame, text_col, "text")
    if label_col is not None:
        require_column(path, frame, label_col, "label")
    if frame.empty:
        raise DataError(f"{path}: no rows (only a header)")
    texts = [cell_text(v) for v in frame[text_col].tolist()]
    labels = [cell_text(v) for v in frame[label_col].tolist()] if label_col else None
    keep, dropped = [], []
    for i, text in enumerate(texts):
        ok = text is not None and (labels is None or labels[i] is not None)
        (keep if ok else dropped).append(i)
    if not keep:
        raise DataError(
            f"{path}: no usable rows: all {len(texts)} rows have an empty or missing "
            f"{text_col!r}" + (f" or {label_col!r}" if label_col else "")
        )
    if dropped:
        what = f"{text_col!r}" + (f" or {label_col!r}" if label_col else "")
        warnings.warn(
            f"{path}: dropped {len(dropped)} of {len(texts)} rows with an empty or missing "
            f"{what} (rows {_rows([i + 1 for i in dropped])})",
            DataWarning,
            stacklevel=2,
        )
    kept = [texts[i] for i in keep]
    if max_chars is not None:
        kept = cut_long_texts(kept, max_chars, str(path), rows=[i + 1 for i in keep])  # type: ignore[arg-type]
    return TextDataset(
        texts=kept,  # type: ignore[arg-type]
        labels=[labels[i] for i in keep] if labels else None,  # type: ignore[misc]
        source=str(path),
        dropped_rows=[i + 1 for i in dropped],
    )


def cut_long_texts(
    texts: list[str], max_chars: int, source: str, rows: Sequence[int] | None = None
) -> list[str]:
    """``texts`` with any longer than ``max_chars`` cut to it, with a warning naming the rows.

    ``rows``: each text's row number in ``source`` (default: its position, from 1).
    """
    long = [i for i, t in enumerate(texts) if len(t) > max_chars]
    if not long:
        return texts
    numbers = [rows[i] if rows is not None else i + 1 for i in long]
    longest = max(len(texts[i]) for i in long)
    warnings.warn(
        f"{source}: {len(long)} text{'s' if len(long) != 1 else ''} longer than {max_chars:,} "
        f"characters (data.max_text_chars) cut to that length (rows {_rows(numbers)}; the "
        f"longest has {longest:,})",
        DataWarning,
        stacklevel=2,
    )
    return [t[:max_chars] if len(t) > max_chars else t for t in texts]


def check_trainable(data: TextDataset, min_per_class: int, why: str) -> None:
    """Fail unless there are 2+ classes, each with at least ``min_per_class`` examples."""
    counts = data.class_counts
    if len(counts) < 2:
        only = ", ".join(repr(c) for c in counts) or "none"
        raise DataError(f"{data.source}: only {len(counts)} class ({only}); at least 2 classes are needed")
    small = sorted((n, c) for c, n in counts.items() if n < min_per_class)
    if small:
        n, cls = small[0]
        raise DataError(
            f"{data.source}: class {cls!r} has {n} example{'s' if n != 1 else ''}; {why} needs "
            f"at least {min_per_class} per class (add examples, drop the class or change "
            "the validation settings)"
        )


def warn_suspicious(train: TextDataset, test: TextDataset | None = None) -> None:
    """Warn on heavy imbalance, identical texts with different labels, train/test overlap."""
    counts = train.class_counts
    (big, n_big), (small, n_small) = counts.most_common()[0], counts.most_common()[-1]
    if n_big / n_small >= IMBALANCE_RATIO:
        warnings.warn(
            f"{train.source}: heavy class imbalance: {big!r} has {n_big} examples, {small!r} "
            f"has {n_small} ({n_big / n_small:.0f}:1); consider --metric macro_f1",
            DataWarning,
            stacklevel=2,
        )
    seen: dict[str, tuple[int, str]] = {}
    conflicts: list[tuple[int, int]] = []
    for i, (text, label) in enumerate(zip(train.texts, train.labels or [], strict=True)):
        first = seen.setdefault(text, (i, label))
        if first[1] != label:
            conflicts.append((first[0] + 1, i + 1))
    if conflicts:
        a, b = conflicts[0]
        warnings.warn(
            f"{train.source}: {len(conflicts)} rows repeat an earlier text with a different "
            f"label (first: rows {a} and {b})",
            DataWarning,
            stacklevel=2,
        )
    if test is not None:
        overlap = [i + 1 for i, t in enumerate(test.texts) if t in seen]
        if overlap:
            warnings.warn(
                f"{test.source}: {len(overlap)} of {len(test)} test texts also occur in the "
                f"training data (rows {_rows(overlap)}); test scores will be optimistic",
                DataWarning,
                stacklevel=2,
            )


# Text lengths in characters, the upper edges of the profile's bins (the last is open).
LENGTH_EDGES = (20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)


@dataclass(frozen=True)
class DataProfile:
    """What the report says of the training data: sizes, lengths, repeats and overlap."""

    rows: int
    classes: int
    duplicates: int  # rows whose text occurs earlier, whatever its label
    conflicting: int  # of those, rows whose label differs from the text's first label
    test_rows: int | None
    test_overlap: int | None  # test rows whose text occurs in the training data
    length_quantiles: dict[str, int]  # characters: min, 10%, median, 90%, max
    length_bins: dict[str, int]  # "<= 50" etc.: rows per bin

    @classmethod
    def of(cls, train: TextDataset, test: TextDataset | None = None) -> DataProfile:
        first_label: dict[str, str] = {}
        duplicates = conflicting = 0
        for text, label in zip(train.texts, train.labels or [""] * len(train), strict=True):
            if text in first_label:
                duplicates += 1
                conflicting += first_label[text] != label
            else:
                first_label[text] = label
        lengths = pd.Series([len(t) for t in train.texts], dtype="int64")
        qs = lengths.quantile([0.0, 0.1, 0.5, 0.9, 1.0], interpolation="nearest") if len(lengths) else None
        names = ("min", "p10", "median", "p90", "max")
        quantiles = {n: int(q) for n, q in zip(names, qs, strict=True)} if qs is not None else {}
        return cls(
            rows=len(train),
            classes=len(train.class_counts),
            duplicates=duplicates,
            conflicting=conflicting,
            test_rows=len(test) if test is not None else None,
            test_overlap=sum(t in first_label for t in test.texts) if test is not None else None,
            length_quantiles=quantiles,
            length_bins=_length_bins(lengths),
        )


def _length_bins(lengths: pd.Series) -> dict[str, int]:
    lows = (0, *(edge + 1 for edge in LENGTH_EDGES[:-1]))
    labels = [*(f"{a}-{b}" for a, b in zip(lows, LENGTH_EDGES, strict=True)), f"> {LENGTH_EDGES[-1]}"]
    binned = pd.cut(lengths, bins=[-1, *LENGTH_EDGES, float("inf")], labels=labels)
    return {str(k): int(v) for k, v in binned.value_counts(sort=False).items()}
