"""What trials and studies record, read back through their types, from old studies and new."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

import textauto
from tests.conftest import DEMO_TRAIN
from textauto.cost.refit import Timings
from textauto.search.records import (
    Origin,
    StudyRecord,
    TrialRecord,
    known_timings,
    note_failures,
    record_study,
    record_trial,
)


def trial(state: str = "COMPLETE", **attrs) -> optuna.trial.FrozenTrial:
    value = 0.5 if state == "COMPLETE" else None
    return optuna.trial.create_trial(state=optuna.trial.TrialState[state], value=value, user_attrs=attrs)


def test_a_trial_as_earlier_versions_stored_it_reads_as_its_record():
    stored = trial(
        worker="host:41", workers=2, limit=30.0, limit_at=1234.5, feature_seconds=1.5,
        classifier_seconds=2.5, reused_folds=3, fold_scores=[0.8, 0.9], portfolio=True,
    )  # fmt: skip
    record = TrialRecord.from_trial(stored)
    assert record == TrialRecord(
        worker="host:41", workers=2, limit=30.0, limit_at=1234.5, feature_seconds=1.5,
        classifier_seconds=2.5, reused_folds=3, fold_scores=(0.8, 0.9), origin=Origin.PORTFOLIO,
    )  # fmt: skip
    assert record.timings == Timings(1.5, 2.5, workers=2) and record.queued
    swap = TrialRecord.from_trial(trial(swap_of=4, stopped="pruned: below the median of earlier trials"))
    assert swap.origin is Origin.SWAP and swap.swap_of == 4 and swap.stopped.startswith("pruned")
    failed = TrialRecord.from_trial(trial("FAIL", error="MemoryError: out of memory"))
    assert failed.error == "MemoryError: out of memory" and failed.timings is None and not failed.queued


def test_a_record_round_trips_through_optuna_user_attributes():
    record = TrialRecord(worker="h:1", feature_seconds=0.25, fold_scores=(1.0,), origin=Origin.PORTFOLIO)
    attrs = record.to_user_attrs()
    assert attrs == {"worker": "h:1", "feature_seconds": 0.25, "fold_scores": [1.0], "portfolio": True}
    assert TrialRecord.from_trial(trial(**attrs)) == record
    swap = TrialRecord(origin=Origin.SWAP, swap_of=7)
    assert TrialRecord.from_attrs(swap.to_user_attrs()) == swap


def test_record_trial_writes_named_facts_and_refuses_others():
    study = optuna.create_study()
    live = study.ask()
    record_trial(live, worker="h:2", limit_at=5.0)
    record_trial(live, limit_at=None)  # a retried trial's deadline, cleared
    assert TrialRecord.from_trial(live) == TrialRecord(worker="h:2")
    with pytest.raises(TypeError, match="'limits' is not a field of TrialRecord"):
        record_trial(live, limits=3.0)


def test_a_trial_stopped_at_its_limit_is_known_to_have_cost_it():
    stopped = trial("PRUNED", limit=30.0, feature_seconds=4.0)
    assert known_timings(stopped) == Timings(4.0, 26.0)
    assert known_timings(trial("PRUNED", limit=30.0, stopped="pruned: below the median")) is None


def test_study_facts_and_failure_notes_read_back():
    study = optuna.create_study()
    record_study(study, StudyRecord(metric="macro_f1", data_fingerprint="abc"))
    note_failures(study, {3: "failed: its worker died (SIGKILL)"})
    note_failures(study, {5: "failed: no heartbeat"})
    assert StudyRecord.from_study(study) == StudyRecord(
        "macro_f1", "abc", {3: "failed: its worker died (SIGKILL)", 5: "failed: no heartbeat"}
    )
    assert study.user_attrs["metric"] == "macro_f1"  # the key earlier versions wrote and read


def test_a_study_written_by_a_run_reads_back_through_the_records(tmp_path: Path):
    out = tmp_path / "run"
    subprocess.run(
        [
            sys.executable, "-m", "textauto", "train", str(DEMO_TRAIN), "--n-trials", "8",
            "--time-budget", "60", "--n-jobs", "1", "--out", str(out),
            "--space.classifiers", '["linear_svc", "complement_nb"]',
        ],
        check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    study = optuna.load_study(study_name="textauto", storage=f"sqlite:///{out / 'study.db'}")
    assert StudyRecord.from_study(study).metric == "accuracy"
    assert StudyRecord.from_study(study).data_fingerprint
    run = [t for t in study.trials if t.state != optuna.trial.TrialState.WAITING]
    records = [TrialRecord.from_trial(t) for t in run]
    assert all(r.worker and r.worker.split(":")[-1].isdigit() for r in records)
    assert any(r.origin is Origin.PORTFOLIO for r in records)
    v = json.loads((out / "manifest.json").read_text())["validation"]
    n_folds = v["folds"] * v["repeats"]
    for t, r in zip(run, records, strict=True):
        if t.state == optuna.trial.TrialState.COMPLETE:
            assert (
                r.timings is not None
                and len(r.fold_scores) == n_folds
                and t.value == pytest.approx(sum(r.fold_scores) / n_folds)
            )
        else:
            assert r.stopped or r.error


def test_only_the_records_module_touches_user_attributes():
    package = Path(textauto.__file__).parent
    touching = []
    for path in sorted(package.rglob("*.py")):
        if path.name == "records.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            named = (isinstance(node, ast.Attribute) and node.attr in ("user_attrs", "set_user_attr")) or (
                isinstance(node, ast.keyword)
                and node.arg == "user_attrs"
                and not _built_by_a_record(node.value)
            )
            if named:
                touching.append(f"{path.relative_to(package)}:{node.lineno}")
    assert not touching, touching


def _touches_user_attrs(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr in ("user_attrs", "set_user_attr")
    return isinstance(node, ast.keyword) and node.arg == "user_attrs" and not _built_by_a_record(node.value)


def _built_by_a_record(value: ast.expr) -> bool:
    """``user_attrs=<record>.to_user_attrs()``, or a name bound to one."""
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
        return value.func.attr == "to_user_attrs"
    return isinstance(value, ast.Name)
