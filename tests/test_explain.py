"""Explanations: each feature's exact share of a member's decision score, named as a user reads it."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from optuna.trial import FixedTrial
from typer.testing import CliRunner

from textauto.cli import app
from textauto.components import BuildContext
from textauto.ensemble.classifier import EnsembleClassifier
from textauto.exceptions import ExplainError
from textauto.explain import class_features, explain_text
from textauto.explain.layout import ABSENT
from textauto.space.build import CHAR_DEFAULTS, LIGHTGBM_DEFAULTS, WORD_DEFAULTS, build_pipeline
from textauto.space.config import SpaceConfig

from .conftest import DEMO_TRAIN, SHARED

TEXT = "I was charged twice for my invoice and the refund has not arrived, please help"

# Each classifier kind with sound settings; sgd twice, as its hinge loss is calibrated apart.
KINDS = {
    "logreg": {"logreg.C": 4.0, "logreg.class_weight": "none"},
    "linear_svc": {"linear_svc.C": 0.5, "linear_svc.class_weight": "balanced"},
    "sgd_hinge": {"sgd.loss": "hinge", "sgd.alpha": 1e-4, "sgd.class_weight": "none"},
    "sgd_log_loss": {"sgd.loss": "log_loss", "sgd.alpha": 1e-4, "sgd.class_weight": "none"},
    "ridge": {"ridge.alpha": 1.0, "ridge.class_weight": "none"},
    "complement_nb": {"complement_nb.alpha": 0.3, "complement_nb.norm": False},
    "multinomial_nb": {"multinomial_nb.alpha": 0.1, "multinomial_nb.fit_prior": True},
    "nbsvm": {"nbsvm.C": 1.0, "nbsvm.alpha": 1.0, "nbsvm.class_weight": "none"},
    "lightgbm": {f"lightgbm.{k}": v for k, v in LIGHTGBM_DEFAULTS.items()} | {"lightgbm.n_estimators": 50},
}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return pd.read_csv(DEMO_TRAIN)


def fitted(kind: str, texts: list[str], labels: list[str], representation: str = "word+char"):
    params = {
        "representation": representation,
        "classifier": kind.partition("_hinge")[0].partition("_log")[0],
    }
    params |= WORD_DEFAULTS | CHAR_DEFAULTS | KINDS[kind]
    return build_pipeline(FixedTrial(params), SpaceConfig(), BuildContext(probability=True)).fit(
        texts, labels
    )


def decision_scores(pipeline, text: str) -> np.ndarray:
    """The classifier's own scores for ``text``, a column per class (a margin: one column)."""
    X = pipeline[:-1].transform([text])
    clf = pipeline[-1]
    if hasattr(clf, "calibrated_classifiers_"):  # temperature scaling over one fitted model
        clf = clf.calibrated_classifiers_[0].estimator
    if hasattr(clf, "predict_joint_log_proba"):
        return clf.predict_joint_log_proba(X)[0]
    if hasattr(clf, "booster_"):
        return np.atleast_1d(clf.predict(X, raw_score=True)[0])
    return np.atleast_1d(clf.decision_function(X)[0])


@pytest.mark.parametrize("binary", [False, True], ids=["5 classes", "2 classes"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_contributions_and_intercept_add_up_to_the_decision_score(frame, kind, binary):
    data = frame[frame.label.isin(["billing", "technical"])] if binary else frame
    pipeline = fitted(kind, data.text.tolist(), data.label.tolist())
    own = decision_scores(pipeline, TEXT)
    classes = [str(c) for c in pipeline.classes_]
    for i, cls in enumerate(classes):
        e = explain_text(pipeline, TEXT, cls)
        assert e.exact and e.explained == cls
        # a binary margin is class 1's score; class 0 is explained by its negative
        expected = own[i] if len(own) == len(classes) else (own[0] if i == 1 else -own[0])
        total = e.intercept + sum(c.weight for c in e.contributions)
        assert total == pytest.approx(e.score, abs=1e-6)
        # scikit-learn scores float32 features in float32 (SGD): within its precision
        assert e.score == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_terms_are_named_as_they_read_in_the_text(frame):
    pipeline = fitted("logreg", frame.text.tolist(), frame.label.tolist())
    e = explain_text(pipeline, TEXT, "billing")
    names = {(c.feature.source, c.feature.term) for c in e.contributions}
    assert ("word", "refund") in names and ("word", "charged twice") in names
    assert ("char", "invo") in names
    assert all(c.feature.source in ("word", "char") for c in e.contributions)
    assert e.predicted == "billing" and e.toward(3)[0].weight >= e.toward(3)[-1].weight > 0


def test_an_ensemble_combines_its_members_in_log_probability(frame):
    texts, labels = frame.text.tolist(), frame.label.tolist()
    members = [
        ("a", fitted("logreg", texts, labels, "word")),
        ("b", fitted("complement_nb", texts, labels, "char")),
    ]
    ensemble = EnsembleClassifier(members, weights=[0.7, 0.3], temperatures=[1.0, 0.5]).fit(texts, labels)
    e = explain_text(ensemble, TEXT)
    assert not e.exact and e.score is None
    assert e.predicted == str(ensemble.predict([TEXT])[0])
    assert {c.feature.source for c in e.contributions} == {"word", "char"}
    assert any(c.feature.term == "refund" for c in e.toward(10))


def test_class_features_name_each_class_s_own_vocabulary(frame):
    pipeline = fitted("logreg", frame.text.tolist(), frame.label.tolist(), "word")
    top = class_features(pipeline, frame.text.tolist(), frame.label.tolist(), top=10)
    assert set(top) == set(frame.label)
    billing = {c.feature.term for c in top["billing"]}
    assert billing & {"invoice", "charged", "refund", "payment", "card"}
    assert all(c.weight > 0 for cs in top.values() for c in cs)


def test_class_features_of_trees_name_the_n_grams_a_class_holds(frame):
    pipeline = fitted("lightgbm", frame.text.tolist(), frame.label.tolist(), "word")
    top = class_features(pipeline, frame.text.tolist(), frame.label.tolist(), top=10)
    billing = [c.feature.term for c in top["billing"]]
    assert sum(term != ABSENT for term in billing) >= 8, billing
    assert set(billing) & {"invoice", "charged", "refund", "payment", "card", "billing"}, billing


def test_an_unknown_class_is_named_with_the_classes(frame):
    pipeline = fitted("ridge", frame.text.tolist(), frame.label.tolist(), "word")
    with pytest.raises(ExplainError, match=r"'nope': not a class of this model; its classes are account, "):
        explain_text(pipeline, TEXT, "nope")


SPAM_TEXT = "WINNER!! You have won a FREE prize worth £1000. To claim, txt CLAIM to 80082 now"
SPAM_WORDS = {"free", "txt", "claim", "prize", "won", "winner", "call", "mobile", "urgent", "cash", "win"}


@pytest.fixture(scope="module")
def spam_bundle(tmp_path_factory: pytest.TempPathFactory):
    """Six trials (the portfolio's first) on 1,500 sms_spam messages."""
    tmp = tmp_path_factory.mktemp("spam")
    train = pd.read_parquet(SHARED / "sms_spam" / "train.parquet")
    train.sample(1500, random_state=0).to_csv(tmp / "train.csv", index=False)
    out = tmp / "model"
    args = ["train", tmp / "train.csv", "--n-trials", "6", "--n-jobs", "1", "--out", out]
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return out


def test_explain_lists_the_tokens_that_make_a_message_spam(invoke, spam_bundle):
    result = invoke("explain", spam_bundle, SPAM_TEXT, "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["predicted"] == body["explained"] == "spam"
    toward = [(f["source"], f["term"]) for f in body["toward"]]
    assert len(toward) == 10
    assert {term for source, term in toward if source == "word"} & SPAM_WORDS, toward
    ham = json.loads(invoke("explain", spam_bundle, SPAM_TEXT, "--class", "ham", "--json").stdout)
    assert ham["explained"] == "ham" and ham["probability"] == pytest.approx(1 - body["probability"])


def test_explain_global_lists_what_training_recorded_for_each_class(invoke, spam_bundle):
    result = invoke("explain", spam_bundle, "--global", "--top", "5", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert list(body) == ["ham", "spam"] and all(len(rows) == 5 for rows in body.values())
    assert all(r["weight"] > 0 for rows in body.values() for r in rows)
    printed = invoke("explain", spam_bundle, "--global", "--class", "spam").stdout
    assert "most indicative of spam" in printed and "most indicative of ham" not in printed


def test_explain_prints_an_exact_decision_as_a_sum(invoke, trained_bundle):
    result = invoke("explain", trained_bundle, TEXT, "--top", "3")
    assert result.exit_code == 0, result.output
    assert "predicted billing; explaining billing" in result.stdout
    assert "toward billing" in result.stdout and "against billing" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give a TEXT to explain, or --global"),
        (["some text", "--global"], "give a TEXT to explain, or --global"),
        (["some text", "--class", "nope"], "class 'nope': not a class of this model"),
    ],
)
def test_explain_usage_errors_name_the_problem(invoke, trained_bundle, args, message):
    result = invoke("explain", trained_bundle, *args)
    assert result.exit_code == 2 and message in result.output.replace("\n", " ")


def test_explain_of_a_bundle_without_recorded_features_says_so(invoke, trained_bundle, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(trained_bundle, old)
    manifest = json.loads((old / "manifest.json").read_text())
    del manifest["class_features"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    result = invoke("explain", old, "--global")
    assert result.exit_code == 2 and "records no class features" in result.output.replace("\n", " ")
