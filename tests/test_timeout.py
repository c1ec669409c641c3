from __future__ import annotations

import signal
import time

import pytest

from textauto import AutoTextClassifier
from textauto.timeout import TrialTimeout, time_limit


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


def test_a_trial_over_its_limit_is_stopped_and_priced(demo, monkeypatch):
    from textauto import search

    texts, labels = demo
    real = search.Objective._validate

    def slow_classifiers(self, trial, pipeline):
        if trial.number == 0:
            return real(self, trial, pipeline)
        # after the first timed trial, the classifier fits of the search hang
        with monkeypatch.context() as m:
            m.setattr(type(pipeline.named_steps["clf"]), "fit", lambda *a, **k: time.sleep(600))
            return real(self, trial, pipeline)

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
