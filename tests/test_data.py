"""Every input problem gets one clear line naming the file and row/column/class, and exit code 2."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import write_csv
from textauto.data import TextDataset, check_trainable, load_dataset, warn_suspicious
from textauto.exceptions import DataError, DataWarning


def rows(n: int, labels: tuple[str, ...] = ("a", "b")) -> list[dict[str, str]]:
    return [
        {"text": f"message number {i} about {labels[i % len(labels)]}", "label": labels[i % len(labels)]}
        for i in range(n)
    ]


def assert_cli_error(invoke, path: Path, *expected: str, extra: tuple[str, ...] = ()) -> str:
    result = invoke("train", path, "--n-trials", "1", "--out", path.parent / "out", *extra)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    err = " ".join(result.stderr.split())
    for part in expected:
        assert part in err, err
    return err


def test_missing_file(invoke, tmp_path):
    assert_cli_error(invoke, tmp_path / "nope.csv", "nope.csv", "file not found")


def test_unreadable_file_a_directory(invoke, tmp_path):
    (tmp_path / "dir.csv").mkdir()
    assert_cli_error(invoke, tmp_path / "dir.csv", "dir.csv", "is a directory")


def test_unknown_extension(invoke, tmp_path):
    path = tmp_path / "data.xlsx"
    path.write_text("x")
    assert_cli_error(invoke, path, "data.xlsx", "unknown file extension '.xlsx'", ".csv, .tsv, .jsonl")


def test_malformed_csv_names_the_line(invoke, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("text,label\nhello,a\nthis,has,three\nbye,b\n")
    assert_cli_error(invoke, path, "bad.csv", "malformed CSV", "line 3")


def test_missing_text_column_lists_columns(invoke, tmp_path):
    path = write_csv(tmp_path / "d.csv", [{"body": "x", "label": "a"}])
    assert_cli_error(invoke, path, "d.csv", "text column 'text' not found", "'body', 'label'")


def test_missing_label_column_lists_columns(invoke, tmp_path):
    path = write_csv(tmp_path / "d.csv", [{"text": "x", "category": "a"}])
    assert_cli_error(invoke, path, "label column 'label' not found", "'text', 'category'")


def test_header_only_has_no_rows(invoke, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("text,label\n")
    assert_cli_error(invoke, path, "d.csv", "no rows")


def test_empty_file(invoke, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("")
    assert_cli_error(invoke, path, "d.csv", "empty")


def test_empty_rows_are_dropped_with_a_count(tmp_path):
    data = rows(10)
    data[2]["text"] = "   "
    data[5]["label"] = ""
    path = write_csv(tmp_path / "d.csv", data)
    with pytest.warns(DataWarning, match=r"dropped 2 of 10 rows .*rows 3, 6"):
        ds = load_dataset(path)
    assert len(ds) == 8
    assert ds.dropped_rows == [3, 6]


def test_all_rows_empty_fails(invoke, tmp_path):
    path = write_csv(tmp_path / "d.csv", [{"text": "", "label": "a"}, {"text": "x", "label": ""}])
    assert_cli_error(invoke, path, "no usable rows", "all 2 rows")


def test_na_strings_are_texts_not_missing(tmp_path):
    path = write_csv(tmp_path / "d.csv", [{"text": "NA", "label": "None"}, {"text": "null", "label": "b"}])
    ds = load_dataset(path)
    assert ds.texts == ["NA", "null"] and ds.labels == ["None", "b"]


def test_single_class(invoke, tmp_path):
    path = write_csv(tmp_path / "d.csv", rows(20, ("only",)))
    assert_cli_error(invoke, path, "d.csv", "only 1 class ('only')", "at least 2")


def test_class_too_small_for_validation(invoke, tmp_path):
    data = [*rows(40), {"text": "rare one", "label": "rare"}, {"text": "rare two", "label": "rare"}]
    path = write_csv(tmp_path / "d.csv", data)
    assert_cli_error(invoke, path, "class 'rare' has 2 examples", "5-fold validation", "at least 5")


def test_not_utf8_names_the_line(invoke, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("text,label\nfine,a\ncaf\u00e9,b\n".encode("latin-1"))
    assert_cli_error(invoke, path, "latin1.csv", "line 3", "not valid UTF-8")


def test_jsonl_bad_line(invoke, tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"text": "x", "label": "a"}) + "\n{oops\n")
    assert_cli_error(invoke, path, "d.jsonl", "line 2", "not valid JSON")


def test_bad_parquet(invoke, tmp_path):
    path = tmp_path / "d.parquet"
    path.write_bytes(b"not parquet at all")
    assert_cli_error(invoke, path, "d.parquet", "not a readable Parquet file")


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_reads_every_format(tmp_path, suffix):
    frame = pd.DataFrame(rows(6))
    path = tmp_path / f"d{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path)
    ds = load_dataset(path)
    assert ds.texts == frame.text.tolist() and ds.labels == frame.label.tolist()


def test_numeric_labels_become_strings(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(json.dumps({"text": f"t{i}", "label": i % 2}) for i in range(4)))
    assert load_dataset(path).labels == ["0", "1", "0", "1"]


def test_warns_on_imbalance():
    ds = TextDataset([f"t{i}" for i in range(105)], ["big"] * 100 + ["small"] * 5, "train.csv")
    with pytest.warns(DataWarning, match=r"heavy class imbalance: 'big' has 100.*'small' has 5"):
        warn_suspicious(ds)


def test_warns_on_conflicting_labels():
    ds = TextDataset(["same", "other", "same"], ["a", "b", "b"], "train.csv")
    with pytest.warns(
        DataWarning, match=r"1 rows repeat an earlier text with a different label \(first: rows 1 and 3\)"
    ):
        warn_suspicious(ds)


def test_warns_on_test_overlap():
    train = TextDataset(["x", "y", "z"], ["a", "b", "a"], "train.csv")
    test = TextDataset(["y", "new"], ["b", "a"], "test.csv")
    with pytest.warns(DataWarning, match=r"test.csv: 1 of 2 test texts also occur .*rows 1"):
        warn_suspicious(train, test)


def test_clean_data_gives_no_warning():
    ds = TextDataset(["x", "y", "z", "w"], ["a", "b", "a", "b"], "train.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_suspicious(ds, TextDataset(["q"], ["a"], "test.csv"))


def test_check_trainable_passes_on_enough_examples():
    check_trainable(TextDataset(["a"] * 4, ["x", "x", "y", "y"]), 2, "a holdout split")
    with pytest.raises(DataError, match="class 'y' has 1 example;"):
        check_trainable(TextDataset(["a"] * 3, ["x", "x", "y"]), 2, "a holdout split")


def test_cli_prints_warnings_on_stderr(invoke, tmp_path):
    data = rows(30)
    data[0]["text"] = ""
    path = write_csv(tmp_path / "d.csv", data)
    result = invoke(
        "train", path, "--n-trials", "1", "--out", tmp_path / "out", "--space.classifiers", '["ridge"]'
    )
    assert result.exit_code == 0, result.output
    assert "warning:" in result.stderr and "dropped 1 of 30 rows" in " ".join(result.stderr.split())
