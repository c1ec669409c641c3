"""Inputs a user gets wrong, and runs that go wrong: one clear line and exit code 2, or a
search that records the failure and goes on."""

from __future__ import annotations

import multiprocessing
import os
import random
import resource
import socket
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

import textauto.search.study
from tests.conftest import DEMO_TRAIN, read_demo, write_csv
from textauto import AutoTextClassifier
from textauto.bundle import LEADERBOARD_FILE, STUDY_FILE
from textauto.exceptions import ConfigError, DataWarning
from textauto.search.study import Heartbeat, create_study, fail_interrupted_trials, failure_notes

QUICK = ("--n-trials", "2", "--n-jobs", "1", "--space.representations", '["word"]')


def test_a_two_class_metric_on_more_classes_is_refused_before_the_search(invoke, tmp_path):
    out = tmp_path / "model"
    result = invoke("train", DEMO_TRAIN, "--metric", "roc_auc", "--out", out)
    assert result.exit_code == 2
    assert f"metric 'roc_auc' needs exactly 2 classes; {DEMO_TRAIN} has 5" in result.stderr
    assert "macro_f1" in result.stderr  # what to use instead
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_the_library_refuses_a_two_class_metric_on_more_classes_too(demo):
    texts, labels = demo
    with pytest.raises(ConfigError, match="needs exactly 2 classes; training data has 5"):
        AutoTextClassifier(metric="roc_auc", n_trials=1).fit(texts, labels)


def test_an_out_that_is_a_file_is_one_line_and_exit_2(invoke, tmp_path):
    existing = tmp_path / "model.txt"
    existing.write_text("not a directory")
    result = invoke("train", DEMO_TRAIN, *QUICK, "--out", existing)
    assert result.exit_code == 2
    assert f"--out {existing}: is a file, not a directory" in result.stderr
    assert existing.read_text() == "not a directory"

    below = existing / "model"
    result = invoke("train", DEMO_TRAIN, *QUICK, "--out", below)
    assert result.exit_code == 2
    assert f"--out {below}: cannot write there (Not a directory)" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_out_that_cannot_be_written_is_one_line_and_exit_2(invoke):
    # /proc/self refuses new entries even to root
    result = invoke("train", DEMO_TRAIN, *QUICK, "--out", "/proc/self/model")
    assert result.exit_code == 2
    assert "--out /proc/self/model: cannot write there (" in result.stderr
    assert "Traceback" not in result.stderr


def _study_in(out, direction: str, metric: str | None):
    out.mkdir()
    study = optuna.create_study(
        storage=f"sqlite:///{out / STUDY_FILE}", study_name="textauto", direction=direction
    )
    if metric:
        study.set_user_attr("metric", metric)
    return study


def test_resume_refuses_a_different_metric(invoke, tmp_path):
    out = tmp_path / "model"
    _study_in(out, "maximize", "accuracy")
    result = invoke("train", DEMO_TRAIN, *QUICK, "--resume", "--metric", "macro_f1", "--out", out)
    assert result.exit_code == 2
    assert (
        f"--metric macro_f1: the study 'textauto' in {out} was started with metric 'accuracy'; "
        "use that metric, or start a new --out / --study-name" in result.stderr
    )


def test_resume_refuses_a_metric_of_the_other_direction(invoke, tmp_path):
    out = tmp_path / "model"
    _study_in(out, "minimize", None)  # a study that does not name its metric
    result = invoke("train", DEMO_TRAIN, *QUICK, "--resume", "--out", out)
    assert result.exit_code == 2
    assert "--metric accuracy: the study 'textauto' in" in result.stderr
    assert "was started with a metric to minimize" in result.stderr


def test_a_study_shared_through_the_library_refuses_another_metric(demo, tmp_path):
    texts, labels = demo
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    optuna.create_study(storage=storage, study_name="textauto", direction="minimize")
    with pytest.raises(ConfigError, match="was started with a metric to minimize"):
        AutoTextClassifier(storage=storage, n_trials=1, config={"search": {"n_jobs": 1}}).fit(texts, labels)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _asked(study: optuna.Study, worker: str) -> int:
    """A trial left RUNNING by ``worker``, which recorded no heartbeat."""
    trial = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    trial.set_user_attr("worker", worker)
    return trial.number


def _trial_in_another_process(storage: str, heartbeat: Heartbeat, worker: str):
    """A process running one trial (with heartbeats) as ``worker`` until it is killed."""

    def run() -> None:
        study, _ = create_study(storage, "s", "maximize", seed=0, pruning=False, heartbeat=heartbeat)

        def objective(trial: optuna.Trial) -> float:
            trial.suggest_float("x", 0, 1)
            trial.set_user_attr("worker", worker)
            time.sleep(120)
            return 0.0

        study.optimize(objective, n_trials=1)

    proc = multiprocessing.get_context("fork").Process(target=run, daemon=True)
    proc.start()
    study, _ = create_study(storage, "s", "maximize", seed=0, pruning=False)
    for _ in range(100):
        if any(t.user_attrs.get("worker") == worker for t in study.get_trials(deepcopy=False)):
            return proc
        time.sleep(0.1)
    raise AssertionError(f"{worker} did not start its trial")


def test_resume_fails_a_trial_never_tagged_by_its_worker_but_not_one_tagged_meanwhile(tmp_path, monkeypatch):
    """A run killed between Optuna creating a trial and the objective tagging its worker leaves
    it RUNNING with no worker; resume fails it once it stays untagged, not a live one's."""
    monkeypatch.setattr(textauto.search.study, "UNTAGGED_SECONDS", 0.5)
    study, _ = create_study(f"sqlite:///{tmp_path / 's.db'}", "s", "maximize", seed=0, pruning=False)
    orphan = study.ask()  # its process died before the objective ran
    starting = study.ask()  # a live worker's, tagged a moment later
    here = f"{socket.gethostname()}:{os.getpid()}"
    tagger = threading.Timer(0.1, starting.set_user_attr, ("worker", here))
    tagger.start()
    assert fail_interrupted_trials(study) == 1
    tagger.join()
    states = {t.number: t.state for t in study.trials}
    assert states[orphan.number] == TrialState.FAIL and states[starting.number] == TrialState.RUNNING


def test_resume_fails_only_trials_that_are_dead_and_queues_stale_ones_again(tmp_path):
    """Trials of another machine are failed once their heartbeat is older than its grace
    period, not before; trials of this machine as soon as their process is gone."""
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    heartbeat = Heartbeat(interval=1, grace=2, retries=1)
    study, _ = create_study(storage, "s", "maximize", seed=0, pruning=False, heartbeat=heartbeat)
    gone = _trial_in_another_process(storage, heartbeat, "elsewhere:1")
    live = _trial_in_another_process(storage, heartbeat, "elsewhere:2")
    try:
        gone.kill()
        here = socket.gethostname()
        asker, _ = create_study(storage, "s", "maximize", seed=0, pruning=False)  # no heartbeat of its own
        dead_here = _asked(asker, f"{here}:{_dead_pid()}")
        live_here = _asked(asker, f"{here}:{os.getpid()}")
        time.sleep(3.5)  # past the grace period of the killed one; the live one keeps beating

        assert fail_interrupted_trials(study) == 1  # the one of this machine; the stale one by Optuna
        by_worker = {t.user_attrs["worker"]: t for t in study.trials if t.state != TrialState.WAITING}
        assert by_worker["elsewhere:1"].state == TrialState.FAIL
        assert by_worker["elsewhere:2"].state == TrialState.RUNNING
        states = {t.number: t.state for t in study.trials}
        assert states[dead_here] == TrialState.FAIL
        assert states[live_here] == TrialState.RUNNING
        notes = failure_notes(study)
        assert notes[by_worker["elsewhere:1"].number] == (
            "failed: no heartbeat from elsewhere:1 for over 2s (queued again)"
        )
        assert notes[dead_here] == "failed: the run was interrupted while it ran (resumed after)"
        queued = [t for t in study.trials if t.state == TrialState.WAITING]
        assert [t.params for t in queued] == [by_worker["elsewhere:1"].params]
    finally:
        live.kill()
        gone.join(5)
        live.join(5)


def test_a_resumed_run_leaves_another_machine_s_live_trial_running(invoke, tmp_path):
    out = tmp_path / "model"
    assert invoke("train", DEMO_TRAIN, *QUICK, "--out", out).exit_code == 0
    storage = f"sqlite:///{out / STUDY_FILE}"
    study = optuna.load_study(study_name="textauto", storage=storage)
    dead = _asked(study, f"{socket.gethostname()}:{_dead_pid()}")
    elsewhere = _asked(study, "elsewhere:7")  # no heartbeat: nothing says it is gone

    result = invoke("train", DEMO_TRAIN, "--n-trials", "4", *QUICK[2:], "--resume", "--out", out)
    assert result.exit_code == 0, result.stderr
    states = {t.number: t.state for t in study.trials}
    assert states[elsewhere] == TrialState.RUNNING
    assert states[dead] == TrialState.FAIL
    assert sum(s == TrialState.COMPLETE for s in states.values()) >= 3


def _with_one_huge_text(tmp_path, chars: int, row: int):
    texts, labels = read_demo()
    rng = random.Random(0)
    words = [f"w{i:03d}" + "abcdefg"[: i % 5] for i in range(800)]
    huge = " ".join(rng.choice(words) for _ in range(chars // 7))
    rows = [{"text": t, "label": lab} for t, lab in zip(texts, labels, strict=True)][:200]
    rows[row - 1]["text"] = huge
    return write_csv(tmp_path / "huge.csv", rows), len(huge)


def test_a_trial_over_the_memory_cap_fails_and_the_run_ends_within_its_budget(tmp_path):
    """One 1.4 M-character text: char n-grams of it need far more than the cap, words do not."""
    data, _ = _with_one_huge_text(tmp_path, 1_400_000, row=6)
    out = tmp_path / "model"
    budget = 20
    command = [sys.executable, "-m", "textauto", "train", str(data), "--time-budget", str(budget)]
    command += ["--out", str(out), "--n-jobs", "2", "--data.max_text_chars", "2000000"]
    command += ["--search.memory_mb", "60", "--search.cache_mb", "0"]
    command += [
        "--space.representations",
        '["word", "char"]',
        "--space.classifiers",
        '["sgd", "complement_nb"]',
    ]
    started = time.monotonic()
    proc = subprocess.run(command, capture_output=True, text=True, timeout=budget * 4)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    assert elapsed <= budget * 1.1
    board = pd.read_csv(out / LEADERBOARD_FILE)
    over = board[board["note"].fillna("").str.startswith("MemoryError: out of memory (search.memory_mb = 60")]
    assert len(over) >= 1
    assert "char" in set(over["param.representation"])
    assert (board["state"] == "complete").sum() >= 3  # the search went on


def test_a_huge_training_text_is_cut_with_a_warning_naming_its_row(tmp_path):
    data, length = _with_one_huge_text(tmp_path, 20_000_000, row=17)
    out = tmp_path / "model"
    command = [sys.executable, "-m", "textauto", "train", str(data), *QUICK, "--out", str(out)]
    with (tmp_path / "stderr").open("w+") as stderr:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(proc.pid, 0)
        stderr.seek(0)
        shown = " ".join(stderr.read().split())
    assert os.waitstatus_to_exitcode(status) == 0, shown
    assert (
        f"warning: {data}: 1 text longer than 100,000 characters (data.max_text_chars) cut to "
        f"that length (rows 17; the longest has {length:,})" in shown
    )
    assert usage.ru_maxrss / 1024 < 1000  # megabytes; 3 GB for a 50 MB text before the cut


def test_the_library_cuts_huge_texts_too_and_names_the_item(demo):
    texts, labels = demo
    texts = list(texts)
    texts[3] = "word " * 30_000
    with pytest.warns(DataWarning, match=r"X: 1 text longer than 100,000 characters .* \(rows 4;"):
        AutoTextClassifier(n_trials=1, config={"space": {"representations": ["word"]}}).fit(texts, labels)


def test_integer_labels_come_back_as_integers(demo):
    texts, names = demo
    codes = {name: i for i, name in enumerate(sorted(set(names)))}
    labels = np.array([codes[n] for n in names])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        model = AutoTextClassifier(n_trials=2, config={"space": {"representations": ["word"]}})
        model.fit(texts, labels)
    assert model.classes_.tolist() == [0, 1, 2, 3, 4]
    predicted = model.predict(texts[:20])
    assert predicted.dtype.kind == "i"
    assert model.score(texts, labels) > 0.5
    assert model.predict_proba(texts[:3]).shape == (3, 5)


def test_labels_that_read_the_same_as_text_are_refused(demo):
    from textauto.exceptions import DataError

    texts, _ = demo
    labels = [1, "1"] * (len(texts) // 2)
    with pytest.raises(
        DataError, match=r"y: item 1 \('1'\) and an earlier label \(1\) read the same as text"
    ):
        AutoTextClassifier(n_trials=1).fit(texts[: len(labels)], labels)


def test_a_full_disk_while_saving_is_one_line_exit_2_and_no_partial_bundle(tmp_path):
    """Files may grow to 512 KB (RLIMIT_FSIZE): enough for the study (about 110 KB), not for a
    model on every char 1-6-gram (about 1 MB)."""
    out = tmp_path / "model"
    command = [sys.executable, "-m", "textauto", "train", str(DEMO_TRAIN), "--n-trials", "2", "--n-jobs", "1"]
    command += ["--space.representations", '["char"]', "--space.classifiers", '["logreg"]', "--out", str(out)]
    for name, value in {
        "analyzer": "char",
        "ngram_min": 1,
        "ngram_max": 6,
        "min_df": 1,
        "max_features": 0,
    }.items():
        command += [f"--space.char.{name}", str(value)]

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (2**19, 2**19))

    proc = subprocess.run(command, capture_output=True, text=True, timeout=300, preexec_fn=small_files)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert lines and "could not write the model bundle (File too large)" in lines[0]
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["cache", STUDY_FILE]  # no model, no manifest
