"""The final refit: a linear SVM stopped at its pass cap is refit quietly, as it was validated;
what the manifest and report keep of the combiners compared."""

from __future__ import annotations

import json
import warnings

import numpy as np
import optuna
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC

from textauto import AutoTextClassifier
from textauto.features.ngrams import NgramTfidf
from textauto.space.classifiers import LINEAR_SVC_MAX_ITER

# Random words under random labels: liblinear needs far more than LINEAR_SVC_MAX_ITER passes.
_rng = np.random.default_rng(0)
TEXTS = [" ".join(_rng.choice([f"w{i}" for i in range(30)], 6)) for _ in range(300)]
LABELS = list(_rng.choice(["a", "b", "c"], 300))
WORD = {
    "ngram_max": 2, "min_df": 1, "max_df": 1.0, "sublinear_tf": False, "max_features": 0,
    "lowercase": True, "strip_accents": "none", "stop_words": False,
}  # fmt: skip
HIGH_C = {
    "space": {
        "representations": ["word"],
        "classifiers": ["linear_svc"],
        "word": WORD,
        "linear_svc": {"C": 10.0, "class_weight": "none"},
    },
    "search": {"warm_start": False, "ensemble_size": 0},
}


def test_the_capped_svm_does_not_converge_on_this_data():
    """Guards the test below: without the silencing, this data does warn."""
    X = NgramTfidf(ngram_range=(1, 2)).fit_transform(TEXTS)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        LinearSVC(C=10.0, max_iter=LINEAR_SVC_MAX_ITER).fit(X, LABELS)
    assert any(issubclass(w.category, ConvergenceWarning) for w in caught)


def test_refit_of_a_capped_svm_prints_no_convergence_warning():
    est = AutoTextClassifier(n_trials=1, seed=0, config=HIGH_C)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(TEXTS, LABELS)
    svc = est.model_.estimators[0][1].named_steps["clf"]
    assert svc.C == 10.0 and svc.max_iter == LINEAR_SVC_MAX_ITER
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert est.predict(TEXTS[:3]).shape == (3,)


def test_when_the_best_pipeline_wins_the_manifest_and_report_keep_every_combiner_s_score(
    invoke, tmp_path, monkeypatch
):
    """Why no ensemble was saved is part of the record: the combiners' held-out scores."""
    from tests.conftest import DEMO_TRAIN
    from textauto.ensemble import refit
    from textauto.ensemble.stacking import Combination

    def single_wins(candidates, *args, **kwargs):
        best = candidates[0]
        scores = {"single": 0.91, "average": 0.9, "stack:0.03": 0.89}
        return Combination("single", [best], {best.number: 1.0}, 0.91, scores=scores, single_score=0.92)

    monkeypatch.setattr(refit, "choose_combination", single_wins)
    out = tmp_path / "run"
    space = ["--space.representations", '["word"]', "--space.classifiers", '["linear_svc", "complement_nb"]']
    result = invoke("train", DEMO_TRAIN, "--out", out, "--n-trials", "4", *space)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    ensemble = manifest["ensemble"]
    assert ensemble["combiner"] == "single" and len(ensemble["members"]) == 1
    assert ensemble["members"][0]["trial"] == manifest["best_trial"]
    assert ensemble["held_out_scores"] == {"single": 0.91, "average": 0.9, "stack:0.03": 0.89}
    # the validation score stays the best trial's own, as when no combination is tried
    study = optuna.load_study(study_name="textauto", storage=f"sqlite:///{out / 'study.db'}")
    assert manifest["validation"]["score"] == study.trials[manifest["best_trial"]].value
    report = (out / "report.md").read_text()
    assert "## Saved model: the best pipeline" in report
    assert (
        "accuracy 0.9100 for the best pipeline chosen that way, against average 0.9000, stack:0.03 0.8900"
        in report
    )
    assert "## Saved model: an ensemble" not in report
