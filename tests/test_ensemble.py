from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import ComplementNB, MultinomialNB
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from textauto import AutoTextClassifier
from textauto.ensemble import classifier as ensemble
from textauto.ensemble.classifier import EnsembleClassifier
from textauto.ensemble.greedy import Candidate, fit_temperature, greedy_selection
from textauto.inference import class_scores, softmax
from textauto.search.oof import OOFStore
from textauto.validation.metrics import METRICS

CLASSES = np.array(["a", "b", "c"])


def _scores(y: np.ndarray, right: np.ndarray, sure: float, unsure: float = 0.0) -> np.ndarray:
    """``sure`` on the true class on rows ``right``; ``unsure`` on a wrong class elsewhere."""
    scores = np.zeros((len(y), 3))
    rows = np.arange(len(y))
    scores[rows[right], y[right]] = sure
    scores[rows[~right], (y[~right] + 1) % 3] = unsure
    return scores


def _candidate(number: int, scores: np.ndarray, cost: float = 1.0) -> Candidate:
    return Candidate(number, {"trial": number}, softmax(scores), 1.0, cost)


def test_class_scores_orders_columns_and_expands_binary_margins():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    svc = LinearSVC().fit(X, ["no", "no", "yes", "yes"])
    s = class_scores(svc, X, np.array(["no", "yes"]))
    assert s.shape == (4, 2) and s.dtype == np.float32
    # shifted so that each row's largest is 0: a softmax gives the same probabilities
    assert np.allclose(s.max(axis=1), 0.0) and np.allclose(s[:, 1] - s[:, 0], svc.decision_function(X))
    # a model that never saw class "c" gets a score below all others for it
    nb = MultinomialNB().fit(X, ["a", "a", "b", "b"])
    s = class_scores(nb, X, CLASSES)
    assert s.shape == (4, 3)
    assert (s[:, 2] < s[:, :2].min(axis=1)).all()
    assert np.allclose(softmax(s[:, :2]), nb.predict_proba(X), atol=1e-5)


def test_naive_bayes_scores_keep_their_ranking_and_calibrate(demo):
    """Complement NB with normalized weights: log-probabilities within 1e-6 of each other
    (ag_news), which float32 rounded to ties, and which a fixed temperature range left uniform."""
    texts, labels = demo
    X = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True).fit_transform(texts)
    y = np.asarray(labels)
    nb = ComplementNB(alpha=3.0, norm=True).fit(X, y)
    classes = np.unique(y)
    s = class_scores(nb, X, classes)
    assert (classes[s.argmax(axis=1)] == nb.predict(X)).all()
    codes = np.searchsorted(classes, y)
    t = fit_temperature(s, codes)
    proba = softmax(s.astype(np.float64) / t)
    log_loss = -np.mean(np.log(proba[np.arange(len(y)), codes]))
    assert log_loss < 0.9 * np.log(len(classes))  # better than the uniform guess


def test_fit_temperature_is_found_at_any_scale_of_scores():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4000, 3)) * 2
    y = np.array([rng.choice(3, p=row) for row in softmax(logits)])
    assert fit_temperature(logits * 1e-6, y) == pytest.approx(1e-6, rel=0.15)
    assert fit_temperature(logits * 1e4, y) == pytest.approx(1e4, rel=0.15)
    assert fit_temperature(np.zeros((10, 3)), np.zeros(10, dtype=int)) == 1.0


def test_fit_temperature_recovers_a_known_temperature():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4000, 3)) * 2
    p = softmax(logits)
    y = np.array([rng.choice(3, p=row) for row in p])
    assert fit_temperature(logits * 4.0, y) == pytest.approx(4.0, rel=0.15)
    assert fit_temperature(logits / 3.0, y) == pytest.approx(1 / 3.0, rel=0.15)


def test_greedy_selection_combines_complementary_members():
    y = np.arange(120) % 3
    first_half = np.arange(120) < 60
    # A: right on the first half (confident), B: right on the second half (confident),
    # each wrong but unsure elsewhere; C: a weaker copy of A.
    a = _scores(y, first_half, 3.0, 0.5)
    b = _scores(y, ~first_half, 3.0, 0.5)
    candidates = [_candidate(0, a), _candidate(1, b), _candidate(2, a * 0.5)]
    sel = greedy_selection(candidates, y, CLASSES, METRICS["accuracy"], max_rounds=10)
    assert sel.single_score == pytest.approx(0.5)
    assert sel.score == pytest.approx(1.0)
    assert set(sel.counts) == {0, 1}
    assert sum(sel.weights.values()) == pytest.approx(1.0)
    assert sel.path[0] == pytest.approx(0.5) and max(sel.path) == pytest.approx(1.0)


def test_greedy_selection_respects_the_refit_budget():
    y = np.arange(120) % 3
    half = np.arange(120) < 60
    a = _scores(y, half, 3.0, 0.5)
    b = _scores(y, ~half, 3.0, 0.5)
    candidates = [_candidate(0, a, cost=5.0), _candidate(1, b, cost=10.0)]
    sel = greedy_selection(candidates, y, CLASSES, METRICS["accuracy"], refit_budget=12.0)
    assert sel.counts == {0: 1} and sel.score == sel.single_score


def test_greedy_selection_adds_nothing_that_does_not_help():
    y = np.arange(90) % 3
    right = np.ones(90, dtype=bool)
    best = _scores(y, right, 2.0)
    worse = _scores(y, np.arange(90) < 30, 2.0, 2.0)
    sel = greedy_selection([_candidate(0, best), _candidate(1, worse)], y, CLASSES, METRICS["accuracy"])
    assert sel.counts == {0: sum(sel.counts.values())}
    assert sel.score == sel.single_score == 1.0


def test_greedy_selection_on_a_minimised_metric():
    y = np.arange(120) % 3
    half = np.arange(120) < 60
    a = _scores(y, half, 3.0, 0.5)
    b = _scores(y, ~half, 3.0, 0.5)
    sel = greedy_selection([_candidate(0, a), _candidate(1, b)], y, CLASSES, METRICS["log_loss"])
    assert set(sel.counts) == {0, 1} and sel.score < sel.single_score


def test_ensemble_classifier_averages_temperature_scaled_members():
    X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0], [4.0, 1.0], [5.0, 0.0]])
    y = np.array(["a", "a", "b", "b", "c", "c"])
    members = [("svc", LinearSVC()), ("lr", LogisticRegression())]
    ens = EnsembleClassifier(members, weights=[3, 1], temperatures=[0.5, 1.0]).fit(X, y)
    proba = ens.predict_proba(X)
    assert proba.shape == (6, 3) and np.allclose(proba.sum(axis=1), 1.0)
    svc, lr = (m for _, m in ens.estimators_)
    expected = 0.75 * softmax(svc.decision_function(X) / 0.5) + 0.25 * softmax(lr.decision_function(X))
    assert np.allclose(proba, expected, atol=1e-5)
    assert list(ens.predict(X)) == list(ens.classes_[expected.argmax(axis=1)])
    # the contract: parameters round-trip and fitting does not touch them
    assert clone(ens).get_params()["weights"] == [3, 1]
    assert not hasattr(members[0][1], "coef_")


def test_ensemble_classifier_rejects_mismatched_weights():
    with pytest.raises(ValueError, match="weights: 1 values for 2 estimators"):
        members = [("a", LinearSVC()), ("b", LinearSVC())]
        EnsembleClassifier(members, weights=[1.0]).fit([[0.0], [1.0]], [0, 1])


def test_oof_store_round_trip(tmp_path):
    store = OOFStore(tmp_path / "oof")
    store.save(3, np.ones((4, 2), dtype=np.float64))
    loaded = store.load(3)
    assert loaded.dtype == np.float32 and loaded.shape == (4, 2)
    assert store.load(4) is None
    (tmp_path / "oof" / "trial-5.npy").write_bytes(b"not an array")
    assert store.load(5) is None
    temporary = OOFStore()
    temporary.save(0, np.zeros((1, 1)))
    temporary.close()
    assert not temporary.directory.exists()


SMALL_SPACE = {"space": {"representations": ["word", "char"], "classifiers": ["linear_svc", "complement_nb"]}}


def test_search_saves_an_ensemble_that_validates_better(demo):
    texts, labels = demo
    # 5 plain folds: with repeats, a trial's score averages 3 partitions, the ensemble's only 1
    config = {**SMALL_SPACE, "validation": {"strategy": "kfold"}}
    est = AutoTextClassifier(n_trials=8, seed=0, time_budget=600, config=config).fit(texts, labels)
    trials = {t.number: t for t in est.study_.trials}
    best = est.search_result_.best_trial
    assert isinstance(est.model_, EnsembleClassifier)
    assert est.best_score_ == est.ensemble_["validation_score"] > est.ensemble_["best_single_score"]
    assert est.ensemble_["best_single_score"] == pytest.approx(best.value, abs=0.01)
    members = [m["trial"] for m in est.ensemble_["members"]]
    assert best.number in members and len(members) >= 2
    assert all(trials[n].state.name == "COMPLETE" for n in members)
    # members carry no calibration wrapper: the ensemble's temperatures give probabilities
    for _, pipe in est.model_.estimators_:
        assert type(pipe.named_steps["clf"]).__name__ != "CalibratedClassifierCV"
    proba = est.predict_proba(texts[:5])
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert list(est.predict(texts[:5])) == list(est.classes_[proba.argmax(axis=1)])


def test_ensemble_size_zero_saves_the_best_pipeline_with_its_temperature(demo):
    texts, labels = demo
    cfg = {**SMALL_SPACE, "search": {"ensemble_size": 0}, "validation": {"strategy": "kfold"}}
    est = AutoTextClassifier(n_trials=6, seed=0, time_budget=600, config=cfg).fit(texts, labels)
    assert est.ensemble_ is None and est.best_score_ == est.search_result_.best_trial.value
    [(name, pipeline)] = est.model_.estimators_
    assert name == f"trial-{est.search_result_.best_trial.number}" and isinstance(pipeline, Pipeline)
    # no calibration refits: the labels are the pipeline's own, the probabilities a temperature's
    assert type(pipeline.named_steps["clf"]).__name__ == "LinearSVC"
    assert list(est.predict(texts[:20])) == list(pipeline.predict(np.asarray(texts[:20], dtype=object)))


def test_a_winner_without_out_of_fold_scores_is_refit_with_calibration(demo):
    texts, labels = demo
    cfg = {**SMALL_SPACE, "search": {"max_trial_fraction": 1e-6}}  # every trial stops after a fold
    est = AutoTextClassifier(n_trials=3, time_budget=600, config=cfg).fit(texts, labels)
    assert est.search_result_.best_trial.user_attrs["partial"] is True
    assert isinstance(est.model_, Pipeline)
    assert np.allclose(est.predict_proba(texts[:3]).sum(axis=1), 1.0)


def test_train_writes_the_ensemble_into_manifest_and_report(invoke, tmp_path):
    from tests.conftest import DEMO_TEST, DEMO_TRAIN

    out = tmp_path / "run"
    space = [
        "--space.representations",
        '["word", "char"]',
        "--space.classifiers",
        '["linear_svc", "complement_nb"]',
    ]
    result = invoke("train", DEMO_TRAIN, "--test", DEMO_TEST, "--out", out, "--n-trials", "8", *space)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["validation"]["score"] == manifest["ensemble"]["validation_score"]
    assert len(manifest["ensemble"]["members"]) >= 2
    timed = manifest["ensemble"]["refit_seconds"]  # the refit's price beside what it took
    assert set(timed) == {"featurizers", "classifiers"}
    assert all(phase["priced"] > 0 and phase["took"] > 0 for phase in timed.values())
    report = (out / "report.md").read_text()
    assert "## Saved model: an ensemble" in report and "Refit on all the training data, in threads" in report
    v = manifest["validation"]  # how precise the score is, and how much choosing flattered it
    assert v["rows"] == 504 and 0 < v["standard_error"] < 0.05
    assert v["held_out_score"] == v["score"]
    assert v["optimism"] == pytest.approx(v["in_sample_score"] - v["held_out_score"], abs=1e-5)
    assert f"(the best pipeline's standard error over 504 rows: {v['standard_error']:.4f})" in report
    assert f"- selection's optimism: {v['optimism']:+.4f}" in report
    assert (v["strategy"], v["folds"]) == ("kfold", 5) and "5-fold" in v["method"]
    assert "standard error up to" in v["why"] and v["why"] in report
    assert f"± {v['standard_error']:.4f} (stratified 5-fold" in result.output
    complete = manifest["trials"]["complete"]
    assert len(list((out / "cache" / "oof").glob("trial-*.npy"))) == complete


def test_members_with_equal_featurizers_share_one_fitted_copy(demo):
    import pickle

    from sklearn.feature_extraction.text import TfidfVectorizer

    texts, labels = demo
    X = np.asarray(texts, dtype=object)

    def member(clf):
        return Pipeline([("features", TfidfVectorizer(ngram_range=(1, 2))), ("clf", clf)])

    members = [("svc", member(LinearSVC())), ("nb", member(MultinomialNB())), ("lr", LogisticRegression())]
    members[2] = ("lr", Pipeline([("features", TfidfVectorizer()), ("clf", LogisticRegression())]))
    ens = EnsembleClassifier(members, temperatures=[0.5, 1.0, 1.0]).fit(X, labels)
    (_, svc), (_, nb), (_, lr) = ens.estimators_
    assert svc.steps[0][1] is nb.steps[0][1] and lr.steps[0][1] is not svc.steps[0][1]
    expected = (
        softmax(svc.decision_function(X) / 0.5)
        + softmax(nb.predict_log_proba(X))
        + softmax(lr.decision_function(X))
    ) / 3
    assert np.allclose(ens.predict_proba(X), expected, atol=1e-5)
    restored = pickle.loads(pickle.dumps(ens))
    (_, svc2), (_, nb2), _ = restored.estimators_
    assert svc2.steps[0][1] is nb2.steps[0][1]  # shared on disk too
    assert np.allclose(restored.predict_proba(X), expected, atol=1e-5)


def test_members_are_refit_and_predict_in_threads_with_the_same_result(demo, monkeypatch):
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts, labels = demo
    X = np.asarray(texts, dtype=object)

    def members():
        return [
            # seeded: liblinear shuffles with numpy's global random state otherwise
            (
                "svc",
                Pipeline(
                    [("features", TfidfVectorizer(ngram_range=(1, 2))), ("clf", LinearSVC(random_state=0))]
                ),
            ),
            ("nb", Pipeline([("features", TfidfVectorizer(ngram_range=(1, 2))), ("clf", MultinomialNB())])),
            ("lr", Pipeline([("features", TfidfVectorizer(analyzer="char")), ("clf", LogisticRegression())])),
        ]

    one = EnsembleClassifier(members(), temperatures=[0.5, 1.0, 1.0]).fit(X, labels)
    two = EnsembleClassifier(members(), temperatures=[0.5, 1.0, 1.0], n_jobs=2).fit(X, labels)
    assert np.allclose(one.predict_proba(X), two.predict_proba(X))
    pools = []
    real_pool = ensemble.ThreadPoolExecutor
    monkeypatch.setattr(
        ensemble,
        "ThreadPoolExecutor",
        lambda max_workers: pools.append(max_workers) or real_pool(max_workers),
    )
    monkeypatch.setattr(ensemble, "PARALLEL_ROWS", len(X))
    assert np.allclose(one.predict_proba(X), two.predict_proba(X)) and pools == [2]  # two featurizers
    assert np.allclose(two.predict_proba(X[:-1]), one.predict_proba(X[:-1])) and pools == [2]  # fewer rows
    (_, svc), (_, nb), _ = two.estimators_
    assert svc.steps[0][1] is nb.steps[0][1]  # the shared featurizer is fitted once
    with pytest.raises(ValueError, match="n_jobs must be None or >= 1, got 0"):
        EnsembleClassifier(members(), n_jobs=0).fit(X, labels)


def test_an_ensemble_of_the_others_replaces_a_best_pipeline_that_leaves_no_room_beside_it():
    from textauto.ensemble.greedy import select_ensemble

    y = np.arange(120) % 3
    rows = np.arange(120)
    leader = _candidate(0, _scores(y, rows < 90, 3.0, 0.5), cost=10.0)  # 0.75 alone, 10 s refit
    a = _candidate(1, _scores(y, rows < 60, 3.0, 0.5), cost=1.0)
    b = _candidate(2, _scores(y, rows >= 60, 3.0, 0.5), cost=1.0)
    sel = select_ensemble([leader, a, b], y, CLASSES, METRICS["accuracy"], 10, refit_budget=10.5)
    assert set(sel.counts) == {1, 2} and sel.score == pytest.approx(1.0)
    assert sel.single_score == pytest.approx(0.75)  # still the best pipeline's
    # with room beside it, selection starts from the best pipeline as before
    sel = select_ensemble([leader, a, b], y, CLASSES, METRICS["accuracy"], 10, refit_budget=100.0)
    assert 0 in sel.counts
    # the others must validate better than the best pipeline alone
    weak = _candidate(2, _scores(y, rows < 30, 3.0, 0.5), cost=1.0)
    sel = select_ensemble([leader, a, weak], y, CLASSES, METRICS["accuracy"], 10, refit_budget=10.5)
    assert set(sel.counts) == {0}
