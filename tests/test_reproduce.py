"""`textauto reproduce`: a bundle refit from its manifest predicts as it did, or the rerun names
what differs (the data, a library version, a parameter) and how many predictions changed."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from sklearn.pipeline import Pipeline

from tests.conftest import DEMO_TRAIN, write_csv
from textauto.bundle import MANIFEST_FILE
from textauto.config import build_config
from textauto.ensemble.classifier import EnsembleClassifier
from textauto.reproduce import reproduce
from textauto.train import train

SMALL = {
    "space.representations": ["word", "char"],
    "space.classifiers": ["linear_svc", "complement_nb"],
    "validation.strategy": "kfold",
    "validation.folds": 3,
    "search.n_jobs": 1,
    "search.time_budget": 600,
}


def _train(out: Path, **overrides: object):
    return train(DEMO_TRAIN, build_config(overrides={**SMALL, **overrides}), out=out)


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory: pytest.TempPathFactory):
    return _train(tmp_path_factory.mktemp("reproduce") / "ensemble", **{"search.n_trials": 6})


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reproduce") / "single"
    return _train(out, **{"search.n_trials": 3, "search.ensemble_size": 1}).out


def _edited(bundle: Path, tmp_path: Path, edit) -> Path:
    """A copy of ``bundle`` with its manifest changed by ``edit`` (manifest.json holds the other
    files' hashes, not its own: the bundle still loads)."""
    copy = tmp_path / bundle.name
    shutil.copytree(bundle, copy)
    manifest = json.loads((copy / MANIFEST_FILE).read_text())
    edit(manifest)
    (copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    return copy


def test_an_ensemble_bundle_reproduces_and_records_its_out_of_fold_predictions(ensemble, invoke):
    est, manifest = ensemble.estimator, ensemble.manifest
    assert isinstance(est.model_, EnsembleClassifier) and len(est.model_.estimators) >= 2
    oof = est.oof_predictions_
    assert sorted(oof.rows.tolist()) == list(range(504)) and oof.proba.shape == (504, 5)
    assert manifest["reproduction"]["oof_predictions"] == {"sha256": oof.sha256(), "rows": 504}
    result = invoke("reproduce", ensemble.out, "--data", DEMO_TRAIN)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("reproduced:")
    assert "predictions on the 504 training rows" in result.stdout
    assert "out-of-fold predictions on 504 rows" in result.stdout


def test_a_single_pipeline_bundle_reproduces(single, invoke):
    members = json.loads((single / MANIFEST_FILE).read_text())["reproduction"]["model"]["members"]
    assert len(members) == 1
    result = invoke("reproduce", single, "--data", DEMO_TRAIN)
    assert result.exit_code == 0, result.output
    assert "reproduced:" in result.stdout


def test_an_edited_member_parameter_is_named(ensemble, invoke, tmp_path):
    member = ensemble.manifest["reproduction"]["model"]["members"][-1]
    params = member["params"]
    key = next(
        k for k, v in params.items() if k.startswith(f"{params['classifier']}.") and isinstance(v, float)
    )
    was = params[key]

    def edit(m: dict) -> None:
        m["reproduction"]["model"]["members"][-1]["params"][key] = was * 10

    result = invoke("reproduce", _edited(ensemble.out, tmp_path, edit), "--data", DEMO_TRAIN)
    assert result.exit_code == 1, result.output
    named = f"parameter trial-{member['trial']}__clf__{key.split('.')[1]}: {was!r} in the saved model, "
    assert named + f"{was * 10!r} in manifest.json" in result.stdout
    assert "changed predictions:" in result.stdout and "not reproduced" in result.stdout


def test_an_edited_best_parameter_is_named(single, invoke, tmp_path):
    def edit(m: dict) -> None:
        key = next(k for k in m["best_params"] if k.startswith(f"{m['best_params']['classifier']}."))
        m["best_params"][key] = 7.0

    result = invoke("reproduce", _edited(single, tmp_path, edit), "--data", DEMO_TRAIN)
    assert result.exit_code == 1, result.output
    assert "7.0 in its best_params" in result.stdout


def test_a_changed_training_file_names_the_fingerprint_and_counts_changed_predictions(ensemble, tmp_path):
    with DEMO_TRAIN.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    rows[0]["text"] = "where is my parcel, it never arrived and tracking shows nothing"
    changed = write_csv(tmp_path / "changed.csv", rows)
    report = reproduce(ensemble.out, changed)
    assert not report.reproduced
    fingerprint = ensemble.manifest["data"]["fingerprint"]
    assert any(
        d.startswith(f"data fingerprint: {changed} (504 rows)") and fingerprint in d
        for d in report.differences
    )
    # the folds that trained on the changed row predict some others otherwise (counted against
    # the scores the search left in the bundle's cache)
    assert report.oof_rows == 504 and report.changed_oof >= 1
    counts = f"changed predictions: {report.changed_predictions} of the 504 training rows; "
    assert counts + f"out-of-fold: {report.changed_oof} of 504 rows" == report.changes()


def test_a_changed_library_version_is_named(single, monkeypatch):
    import textauto.reproduce

    recorded = json.loads((single / MANIFEST_FILE).read_text())["versions"]
    monkeypatch.setattr(textauto.reproduce, "library_versions", lambda: {**recorded, "scikit-learn": "0.1"})
    report = reproduce(single, DEMO_TRAIN)
    was = recorded["scikit-learn"]
    assert report.differences == [f"library version: scikit-learn {was} when trained, 0.1 now"]
    assert report.changes() == "changed predictions: 0 of the 504 training rows; out-of-fold: 0 of 504 rows"


def test_a_pipeline_without_out_of_fold_scores_reproduces_with_a_note(tmp_path, invoke):
    """Every trial stopped after a fold: the winner is refit with its own calibration, and left
    no out-of-fold predictions to compare."""
    outcome = _train(tmp_path / "partial", **{"search.n_trials": 2, "search.max_trial_fraction": 1e-6})
    assert isinstance(outcome.estimator.model_, Pipeline) and outcome.estimator.oof_predictions_ is None
    result = invoke("reproduce", outcome.out, "--data", DEMO_TRAIN)
    assert result.exit_code == 0, result.output
    assert "out-of-fold predictions: none recorded" in result.stderr


def test_a_bundle_saved_before_reproduction_was_recorded_gets_a_clear_message(single, invoke, tmp_path):
    old = _edited(single, tmp_path, lambda m: m.pop("reproduction"))
    result = invoke("reproduce", old, "--data", DEMO_TRAIN)
    assert result.exit_code == 2
    assert 'no "reproduction" section' in result.stderr and "Traceback" not in result.output


def test_bad_input_is_a_one_line_error(single, invoke, tmp_path):
    result = invoke("reproduce", tmp_path / "nothing", "--data", DEMO_TRAIN)
    assert result.exit_code == 2 and "no model bundle here" in result.stderr
    result = invoke("reproduce", single, "--data", tmp_path / "missing.csv")
    assert result.exit_code == 2 and "missing.csv" in result.stderr
    no_text = write_csv(tmp_path / "body.csv", [{"body": "x", "label": "billing"}])
    result = invoke("reproduce", single, "--data", no_text)
    assert result.exit_code == 2 and "text column 'text' not found" in result.stderr
