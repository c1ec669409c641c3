from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import optuna
import pandas as pd
import pytest
from sklearn.svm import LinearSVC

from tests.conftest import DEMO_TRAIN
from textauto import AutoTextClassifier
from textauto.bundle import MODEL_FILE, stop_note
from textauto.exceptions import SearchError


def test_failing_trials_are_recorded_and_the_search_goes_on(demo, invoke, tmp_path):
    # min_df=1000 > max_df*n_docs makes every word trial raise inside scikit-learn.
    result = invoke(
        "train", DEMO_TRAIN, "--n-trials", "6", "--out", tmp_path / "run",
        "--space.representations", '["word", "char"]', "--space.classifiers", '["ridge"]',
        "--space.word.min_df", "1000", "--space.word.max_df", "0.5",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    board = pd.read_csv(tmp_path / "run" / "leaderboard.csv")
    failed = board[board.state == "fail"]
    assert len(failed) >= 1 and (failed["param.representation"] == "word").all()
    assert failed.note.str.contains("ValueError").all()
    assert (board.state == "complete").sum() >= 1
    assert "failed: ValueError" in " ".join(result.stderr.split())


def test_every_trial_failing_is_a_clear_error(demo):
    texts, labels = demo
    est = AutoTextClassifier(
        n_trials=2,
        config={"space": {"representations": ["word"], "word": {"min_df": 1000, "max_df": 0.5}}},
    )
    with pytest.raises(SearchError, match=r"no trial completed \(2 run, 2 failed\); first error: ValueError"):
        est.fit(texts[:100], labels[:100])


def test_same_seed_gives_same_best_params(demo):
    texts, labels = demo
    runs = [AutoTextClassifier(n_trials=10, seed=7, time_budget=600).fit(texts, labels) for _ in range(2)]
    assert runs[0].best_params_ == runs[1].best_params_
    assert [t.params for t in runs[0].study_.trials] == [t.params for t in runs[1].study_.trials]


def test_pruning_stops_weak_trials(demo):
    texts, labels = demo
    # 5 plain folds and no trees: the default plan repeats the demo set's folds 3 times, and
    # 25 trials of it, LightGBM among them, took 4 minutes
    config = {
        "validation": {"strategy": "kfold"},
        "space": {"classifiers": ["linear_svc", "logreg", "ridge", "complement_nb", "nbsvm", "sgd"]},
    }
    est = AutoTextClassifier(n_trials=25, seed=0, time_budget=600, config=config).fit(texts, labels)
    states = {t.state for t in est.study_.trials}
    assert optuna.trial.TrialState.PRUNED in states


def test_warm_start_portfolio_runs_first(demo):
    texts, labels = demo
    est = AutoTextClassifier(n_trials=2, seed=0).fit(texts, labels)
    first = est.study_.trials[0]
    assert first.user_attrs.get("portfolio") is True
    assert first.params["representation"] == "word" and first.params["classifier"] == "linear_svc"
    assert first.params["linear_svc.C"] == 1.0  # the hand-written baseline


def test_resume_after_kill_continues_the_same_study(tmp_path):
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "textauto",
        "train",
        str(DEMO_TRAIN),
        "--out",
        str(out),
        "--time-budget",
        "120",
    ]
    log = (tmp_path / "first-run.log").open("w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    url = f"sqlite:///{out / 'study.db'}"
    finished = 0
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and finished < 4:
            time.sleep(0.5)
            if (out / "study.db").exists():
                try:
                    study = optuna.load_study(study_name="textauto", storage=url)
                    finished = sum(t.state.is_finished() for t in study.trials)
                except Exception:  # the first run may still be creating tables
                    continue
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert finished >= 4, (tmp_path / "first-run.log").read_text()
    before = optuna.load_study(study_name="textauto", storage=url).trials
    done_before = [t for t in before if t.state.is_finished()]

    # n_trials counts every finished trial of the study, the interrupted one included
    total = len(before) + 3
    resumed = subprocess.run(
        [*cmd[:-2], "--resume", "--n-trials", str(total), "--time-budget", "120"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    after = optuna.load_study(study_name="textauto", storage=url).trials
    # earlier finished trials are kept as they were; those in flight are marked failed
    # (queued ones, still waiting, run in the resumed search)
    for old in done_before:
        assert after[old.number].params == old.params and after[old.number].state == old.state
    for old in before:
        if old.state == optuna.trial.TrialState.RUNNING:
            assert after[old.number].state == optuna.trial.TrialState.FAIL
    assert len(after) > len(before)
    assert (out / MODEL_FILE).exists()


def test_resume_requires_an_existing_study(invoke, tmp_path):
    result = invoke("train", DEMO_TRAIN, "--resume", "--out", tmp_path / "empty")
    assert result.exit_code == 2
    assert "--resume:" in result.stderr and "holds no study" in result.stderr


def test_new_run_refuses_an_existing_study(invoke, tmp_path, trained_bundle):
    result = invoke("train", DEMO_TRAIN, "--n-trials", "1", "--out", trained_bundle)
    assert result.exit_code == 2
    assert "already holds a study" in " ".join(result.stderr.split())


def test_resume_with_different_data_is_refused(invoke, tmp_path, trained_bundle):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(trained_bundle, copy)
    other = tmp_path / "other.csv"
    other.write_text(DEMO_TRAIN.read_text().replace("refund", "reimbursement"))
    result = invoke("train", other, "--resume", "--n-trials", "8", "--out", copy)
    assert result.exit_code == 2
    assert "differs from the data the study" in " ".join(result.stderr.split())


def _finished(params: dict, value: float) -> optuna.trial.FrozenTrial:
    dists = {k: optuna.distributions.CategoricalDistribution([v]) for k, v in params.items()}
    return optuna.trial.create_trial(params=params, distributions=dists, value=value)


def test_swaps_are_enqueued_once_the_queue_is_empty():
    from textauto.config import RunConfig
    from textauto.search.swaps import SwapClassifiers
    from textauto.space.build import PORTFOLIO, classifier_swaps
    from textauto.validation.metrics import METRICS

    waiting = (optuna.trial.TrialState.WAITING,)
    study = optuna.create_study(direction="maximize")
    swap = SwapClassifiers(RunConfig().space, METRICS["accuracy"], limit=1)
    study.enqueue_trial({"representation": "char"})
    nbsvm = next(p for p in classifier_swaps(PORTFOLIO[0], RunConfig().space) if p["classifier"] == "nbsvm")
    study.add_trial(_finished(nbsvm, 0.5))
    study.add_trial(_finished(PORTFOLIO[0], 0.9))
    swap(study, study.trials[-1])
    assert len(study.get_trials(states=waiting)) == 1  # the queue comes first
    study.tell(study.ask(), 0.1)
    swap(study, study.trials[-1])
    queued = study.get_trials(states=waiting)
    # the best (word + linear_svc) with each other classifier; nbsvm on these features already ran
    assert {t.system_attrs["fixed_params"]["classifier"] for t in queued} == {
        "logreg",
        "ridge",
        "complement_nb",
        "lightgbm",
    }
    assert all(t.user_attrs["swap_of"] == 2 for t in queued)
    study.add_trial(_finished({**PORTFOLIO[3]}, 0.95))
    swap(study, study.trials[-1])
    assert len(study.get_trials(states=waiting)) == 4  # limit=1: one representation only


def test_a_model_is_kept_when_no_trial_finishes_every_fold(demo):
    texts, labels = demo
    # max_trial_fraction this small prunes every trial after its first fold
    est = AutoTextClassifier(n_trials=3, time_budget=600, config={"search": {"max_trial_fraction": 1e-6}})
    est.fit(texts, labels)
    assert all(t.state.name == "PRUNED" for t in est.study_.trials if t.state.is_finished())
    assert est.search_result_.best_trial.user_attrs["partial"] is True
    assert 0 < est.best_score_ <= 1 and len(est.predict(texts[:3])) == 3


def test_parallel_workers_share_the_study(invoke, tmp_path):
    # A trial count, not a short budget, ends the search: with 20 s on a loaded machine the second
    # worker, which waits for the first timing, once finished no trial before the refit (CI).
    result = invoke(
        "train", DEMO_TRAIN, "--n-jobs", "2", "--n-trials", "16", "--time-budget", "90",
        "--out", tmp_path / "run",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    study = optuna.load_study(study_name="textauto", storage=f"sqlite:///{tmp_path / 'run' / 'study.db'}")
    workers = {t.user_attrs.get("worker") for t in study.trials if t.state.is_finished()}
    assert len(workers - {None}) >= 2  # a worker stopped at a trial's limit is replaced by a third
    assert not study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
    assert (tmp_path / "run" / MODEL_FILE).exists()


def _fit_stuck_unless_baseline(self, X, y, sample_weight=None):
    """LinearSVC.fit that, for any C but the baseline's, hangs where no signal reaches it."""
    if self.C != 1.0:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(600)
    return _ORIGINAL_SVC_FIT(self, X, y, sample_weight)


_ORIGINAL_SVC_FIT = LinearSVC.fit


def test_a_trial_stuck_in_a_c_call_cannot_overrun_the_budget(demo, tmp_path, monkeypatch):
    """liblinear ignores the trial's alarm; the supervisor stops its worker at the limit."""
    texts, labels = demo
    monkeypatch.setattr(LinearSVC, "fit", _fit_stuck_unless_baseline)  # inherited by forked workers
    config = {
        "search": {"n_jobs": 1, "max_trial_fraction": 0.2, "ensemble_size": 0},
        "space": {"representations": ["word"], "classifiers": ["linear_svc"]},
    }
    started = time.monotonic()
    est = AutoTextClassifier(time_budget=20, config=config, storage=f"sqlite:///{tmp_path / 's.db'}")
    est.fit(texts, labels)
    assert time.monotonic() - started < 22  # within 10% of the budget
    assert est.best_params_["linear_svc.C"] == 1.0
    stopped = [t for t in est.study_.trials if "its worker was stopped" in stop_note(t)]
    assert stopped and all(t.state == optuna.trial.TrialState.PRUNED for t in stopped)


def test_representations_too_large_for_memory_are_skipped(demo):
    """Char n-grams on the demo texts could take ~7 MB, word n-grams under 1 MB: with 1 MB, only
    word trials run, and the leaderboard says why the others did not."""
    texts, labels = demo
    config = {"search": {"memory_mb": 1}, "space": {"representations": ["word", "char"]}}
    est = AutoTextClassifier(n_trials=8, seed=0, config=config).fit(texts, labels)
    chars = [t for t in est.study_.trials if t.params.get("representation") == "char"]
    assert chars and all("(search.memory_mb = 1)" in t.user_attrs["stopped"] for t in chars)
    assert est.best_params_["representation"] == "word"


def test_classifiers_too_large_for_memory_are_skipped(demo):
    """On ~7k word n-grams and 5 classes, logreg's solver holds ~1.1 MB of coefficient-sized
    arrays, a linear SVM's ~0.8 MB. With 1 MB only the SVM runs, and the leaderboard says why."""
    texts, labels = demo
    config = {
        "search": {"memory_mb": 1},
        "space": {
            "representations": ["word"],
            "classifiers": ["logreg", "linear_svc"],
            "word": {
                "ngram_max": 2,
                "min_df": 1,
                "max_df": 1.0,
                "max_features": 0,
                "lowercase": True,
                "stop_words": False,  # 7.3k-7.7k n-grams in every fold
            },
        },
    }
    est = AutoTextClassifier(n_trials=6, seed=0, config=config).fit(texts, labels)
    logreg = [t for t in est.study_.trials if t.params.get("classifier") == "logreg"]
    assert logreg and all(t.state == optuna.trial.TrialState.PRUNED for t in logreg)
    notes = [t.user_attrs["stopped"] for t in logreg]
    assert all("its classifier could take" in n and "(search.memory_mb = 1)" in n for n in notes)
    assert est.best_params_["classifier"] == "linear_svc"


def test_the_search_runs_with_one_blas_and_openmp_thread(demo):
    """Parallelism comes from trial processes; threads inside them only contend."""
    from threadpoolctl import threadpool_info

    def threads() -> int:
        return max(pool["num_threads"] for pool in threadpool_info())

    before, seen = threads(), []
    est = AutoTextClassifier(n_trials=2, seed=0, callbacks=[lambda study, trial: seen.append(threads())])
    est.fit(*demo)
    assert seen == [1, 1]
    assert threads() == before  # the caller's pools are given back
