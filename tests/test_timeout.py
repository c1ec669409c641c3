from __future__ import annotations

import signal
import threading
import time

import numpy as np
import pytest

from textauto import AutoTextClassifier
from textauto.timeout import TrialTimeout, stop_if_late, time_limit


def test_time_limit_interrupts_python_level_work():
    started = time.monotonic()
    with pytest.raises(TrialTimeout), time_limit(0.2):
        while True:
            sum(range(1000))
    assert time.monotonic() - started < 2
    assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL  # restored


def test_time_limit_lets_quick_work_finish_and_refuses_none_left():
    with time_limit(5.0):
        value = sum(range(10))
    assert value == 45
    with pytest.raises(TrialTimeout), time_limit(0.0):
        pass


def test_a_loop_stops_as_soon_as_its_pace_overruns_the_limit():
    with time_limit(10.0):
        now = time.monotonic()
        stop_if_late(now - 0.01, 1, 10)  # 0.09 s to go: goes on
        stop_if_late(now - 1.0, 0, 100)  # no pace yet
        with pytest.raises(TrialTimeout) as stopped:
            stop_if_late(now - 1.0, 1, 100)  # 99 s to go
    assert 98 < stopped.value.remaining < 100
    stop_if_late(time.monotonic() - 1.0, 1, 100)  # no limit: nothing to overrun


def test_the_pace_is_not_checked_outside_the_thread_the_limit_interrupts():
    errors = []

    def other_thread():
        try:
            stop_if_late(time.monotonic() - 1.0, 1, 100)
        except TrialTimeout as exc:
            errors.append(exc)

    with time_limit(10.0):
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
    assert errors == []


def test_nbsvm_stops_after_a_class_when_the_rest_cannot_finish(monkeypatch):
    from textauto.space import nbsvm

    calls = []
    monkeypatch.setattr(nbsvm, "stop_if_late", lambda started, done, total: calls.append((done, total)))
    rng = np.random.default_rng(0)
    X, y = rng.random((60, 8)), np.repeat(["a", "b", "c"], 20)
    nbsvm.NBSVMClassifier().fit(X, y)
    assert calls == [(0, 3), (1, 3), (2, 3)]  # before each class, with the pace so far

    with time_limit(30.0):
        monkeypatch.setattr(nbsvm, "stop_if_late", stop_if_late)
        real = nbsvm.LogisticRegression.fit

        def slow_fit(self, *args, **kwargs):
            time.sleep(0.5)
            return real(self, *args, **kwargs)

        monkeypatch.setattr(nbsvm.LogisticRegression, "fit", slow_fit)
        X, y = rng.random((200, 8)), np.repeat([f"c{i}" for i in range(100)], 2)
        started = time.monotonic()
        with pytest.raises(TrialTimeout) as stopped:
            nbsvm.NBSVMClassifier().fit(X, y)
    assert time.monotonic() - started < 5  # 100 classes at 0.5 s: stopped after the first
    assert stopped.value.remaining > 30


def test_lightgbm_stops_once_its_rounds_cannot_finish_and_fits_as_usual_otherwise():
    from lightgbm import LGBMClassifier

    from textauto.space.boosting import PacedLGBMClassifier

    rng = np.random.default_rng(0)
    X = rng.random((500, 10))
    y = (X[:, 0] + 0.3 * rng.random(500) > 0.6).astype(int)
    started = time.monotonic()
    with pytest.raises(TrialTimeout) as stopped, time_limit(20.0):
        PacedLGBMClassifier(n_estimators=10**7, verbose=-1).fit(X, y)
    assert time.monotonic() - started < 5
    assert stopped.value.remaining > 20
    params = {"n_estimators": 20, "verbose": -1, "random_state": 0}
    with time_limit(20.0):
        paced = PacedLGBMClassifier(**params).fit(X, y)
    plain = LGBMClassifier(**params).fit(X, y)
    np.testing.assert_allclose(paced.predict_proba(X), plain.predict_proba(X))


def test_a_trial_stopped_at_its_pace_records_its_projected_cost(demo, monkeypatch):
    from sklearn.svm import LinearSVC

    texts, labels = demo
    real, calls = LinearSVC.fit, []

    def late_once(self, X, y):  # the first fit is stopped, as sure to need 4 s more
        calls.append(1)
        if len(calls) == 1:
            raise TrialTimeout(remaining=4.0)
        return real(self, X, y)

    monkeypatch.setattr(LinearSVC, "fit", late_once)
    # 5 plain folds: the second trial's 4 s folds must fit the budget
    cfg = {
        "space": {"representations": ["word"], "classifiers": ["linear_svc"]},
        "validation": {"strategy": "kfold"},
    }
    est = AutoTextClassifier(n_trials=2, time_budget=60, config=cfg).fit(texts, labels)
    first = est.study_.trials[0]
    assert first.state.name == "PRUNED"
    assert "at its pace, its classifier would have run past its time limit" in first.user_attrs["stopped"]
    assert first.user_attrs["classifier_seconds"] >= 4.0  # the cost model learns it


def test_a_trial_over_its_limit_is_stopped_and_priced(demo, monkeypatch):
    from textauto.search import run as search

    texts, labels = demo
    real = search.Objective._validate

    def slow_classifiers(self, trial, pipeline, *rest):
        if trial.number == 0:
            return real(self, trial, pipeline, *rest)
        # after the first timed trial, the classifier fits of the search hang
        with monkeypatch.context() as m:
            m.setattr(type(pipeline.named_steps["clf"]), "fit", lambda *a, **k: time.sleep(600))
            return real(self, trial, pipeline, *rest)

    monkeypatch.setattr(search.Objective, "_validate", slow_classifiers)
    cfg = {
        "space": {"representations": ["word"], "classifiers": ["linear_svc"]},
        "search": {"max_trial_fraction": 0.05},
    }
    started = time.monotonic()
    est = AutoTextClassifier(n_trials=3, time_budget=60, config=cfg).fit(texts, labels)
    assert time.monotonic() - started < 45
    stopped = [t for t in est.study_.trials if "time limit" in (t.user_attrs.get("stopped") or "")]
    assert stopped and all(t.state.name == "PRUNED" for t in stopped)
    assert all(t.user_attrs["classifier_seconds"] >= 1.0 for t in stopped)  # a lower bound, learned
