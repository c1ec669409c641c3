from __future__ import annotations

import json

import pandas as pd
import pytest
import typer.main

import textauto
from tests.conftest import DEMO_TEST, write_csv
from textauto.bundle import LEADERBOARD_FILE, MANIFEST_FILE, MODEL_FILE, REPORT_FILE, STUDY_FILE
from textauto.cli import app


def test_every_command_has_help_text(invoke):
    commands = typer.main.get_command(app).commands
    assert {"train", "evaluate", "predict"} <= set(commands)
    for name, command in commands.items():
        assert command.help and len(command.help) > 20, name
        result = invoke(name, "--help")
        assert result.exit_code == 0 and "Usage" in result.output


def test_train_help_shows_each_options_default(runner):
    """Help texts hold "[default: ...]", which rich would read as markup and drop."""
    output = runner.invoke(app, ["train", "--help"], env={"COLUMNS": "200"}).output
    for shown in ("[default: text]", "[default: label]", "[default: accuracy]", "[default: 300]"):
        assert shown in output, shown


def test_bundle_contents(trained_bundle):
    for name in (MODEL_FILE, MANIFEST_FILE, LEADERBOARD_FILE, REPORT_FILE, STUDY_FILE):
        assert (trained_bundle / name).is_file(), name
    m = json.loads((trained_bundle / MANIFEST_FILE).read_text())
    assert m["classes"] == ["account", "billing", "feedback", "shipping", "technical"]
    assert m["metric"] == "accuracy" and 0 < m["validation"]["score"] <= 1
    assert m["best_params"]["representation"] and m["best_params"]["classifier"]
    assert m["trials"]["complete"] + m["trials"]["pruned"] + m["trials"]["fail"] == 6
    assert len(m["data"]["fingerprint"]) == 64 and m["data"]["rows"] == 504
    assert m["test"]["n"] == 126 and "confusion_matrix" in m["test"]
    assert {"scikit-learn", "optuna", "spacy", "python", "textauto"} <= set(m["versions"])
    assert m["seed"] == 0 and m["created"]
    board = pd.read_csv(trained_bundle / LEADERBOARD_FILE)
    assert len(board) == 6
    assert {"trial", "state", "score", "duration_s", "param.representation", "param.classifier"} <= set(
        board.columns
    )
    assert "Best pipeline" in (trained_bundle / REPORT_FILE).read_text()


def test_evaluate_json_reproduces_the_manifest_test_figures(invoke, trained_bundle):
    result = invoke("evaluate", trained_bundle, DEMO_TEST, "--json")
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    manifest = json.loads((trained_bundle / MANIFEST_FILE).read_text())
    assert scores == manifest["test"]
    assert set(scores["per_class"]["billing"]) == {"precision", "recall", "f1", "support"}


def test_evaluate_prints_tables(invoke, trained_bundle):
    result = invoke("evaluate", trained_bundle, DEMO_TEST)
    assert result.exit_code == 0
    assert "accuracy" in result.stdout and "confusion matrix" in result.stdout and "billing" in result.stdout


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_predict_writes_labels_and_probabilities(invoke, trained_bundle, tmp_path, suffix):
    out = tmp_path / f"pred{suffix}"
    result = invoke("predict", trained_bundle, DEMO_TEST, "-o", out)
    assert result.exit_code == 0, result.output
    frame = {"csv": pd.read_csv, "jsonl": lambda p: pd.read_json(p, lines=True), "parquet": pd.read_parquet}[
        suffix[1:]
    ](out)
    model = textauto.load(trained_bundle)
    texts = pd.read_csv(DEMO_TEST).text.tolist()
    assert frame.prediction.tolist() == list(model.predict(texts))
    probas = frame[[f"proba_{c}" for c in model.classes_]].to_numpy()
    assert abs(probas.sum(axis=1) - 1).max() < 1e-6
    assert (model.classes_[probas.argmax(axis=1)] == frame.prediction).all()
    assert "label" in frame.columns  # input columns are kept


def test_predict_keeps_rows_with_empty_text(invoke, trained_bundle, tmp_path):
    src = write_csv(tmp_path / "in.csv", [{"text": "my parcel is late"}, {"text": ""}])
    result = invoke("predict", trained_bundle, src, "-o", tmp_path / "out.csv")
    assert result.exit_code == 0
    assert len(pd.read_csv(tmp_path / "out.csv")) == 2
    assert "1 rows have an empty text" in " ".join(result.stderr.split())


def test_predict_missing_text_column(invoke, trained_bundle, tmp_path):
    src = write_csv(tmp_path / "in.csv", [{"body": "x"}])
    result = invoke("predict", trained_bundle, src, "-o", tmp_path / "out.csv")
    assert result.exit_code == 2 and "text column 'text' not found" in result.stderr


def test_load_errors_are_clear(invoke, tmp_path):
    result = invoke("evaluate", tmp_path / "nothing", DEMO_TEST)
    assert result.exit_code == 2 and "no model bundle here" in result.stderr
    (tmp_path / "half").mkdir()
    result = invoke("predict", tmp_path / "half", DEMO_TEST, "-o", tmp_path / "o.csv")
    assert result.exit_code == 2 and "manifest.json is missing" in result.stderr


def test_python_api_load(trained_bundle):
    model = textauto.load(trained_bundle)
    assert model.manifest["classes"] == list(model.classes_)
    assert model.predict(["I was charged twice for my order"]).shape == (1,)


def test_bad_override_and_bad_config_exit_2(invoke, tmp_path):
    result = invoke("train", DEMO_TEST, "--space.word.nope", "1", "--out", tmp_path / "o")
    assert result.exit_code == 2 and "unknown parameter 'nope'" in result.stderr
    result = invoke("train", DEMO_TEST, "stray", "--out", tmp_path / "o")
    assert result.exit_code == 2 and "unexpected argument 'stray'" in result.stderr
    result = invoke("train", DEMO_TEST, "--metric", "f9", "--out", tmp_path / "o")
    assert result.exit_code == 2 and "unknown metric 'f9'" in result.stderr


def test_test_size_splits_off_a_test_set(invoke, tmp_path):
    result = invoke("train", DEMO_TEST, "--test-size", "0.25", "--n-trials", "2", "--out", tmp_path / "o",
                    "--validation.folds", "3")  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "o" / MANIFEST_FILE).read_text())
    assert manifest["test"]["n"] == 32 and manifest["data"]["rows"] == 94
