"""The classifiers the search chooses from, each with its search-space fragment beside it."""

from __future__ import annotations

from typing import Any

from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression, RidgeClassifier, SGDClassifier
from sklearn.multiclass import OneVsRestClassifier
from sklearn.naive_bayes import ComplementNB, MultinomialNB
from sklearn.svm import LinearSVC

from textauto.components import BuildContext, Component, log_range, none_if
from textauto.params import Range
from textauto.space.nbsvm import NBSVMClassifier

CLASS_WEIGHT = ["none", "balanced"]
# TF-IDF weights of a term barely matter to a tree beyond zero / non-zero: 15 bins scored as
# 255 did on the benchmark sets, with smaller histograms.
LIGHTGBM_MAX_BIN = 15
# liblinear's dual coordinate descent reaches its accuracy within 10-20 passes; its default
# 1000 buy a precision no score sees, at up to 3x the time (docs/design.md, "The search
# space's defaults").
LINEAR_SVC_MAX_ITER = 20
# Every class has 2+ examples (the data checks), so a stratified 2-fold split always exists.
CALIBRATION_FOLDS = 2


def with_probability(clf: Any, ctx: BuildContext) -> Any:
    """Give a margin classifier ``predict_proba`` when the run needs probabilities.

    Temperature scaling keeps the arg-max, so labels stay those the search validated.
    """
    if not ctx.probability or hasattr(clf, "predict_proba"):
        return clf
    return CalibratedClassifierCV(clf, method="temperature", cv=CALIBRATION_FOLDS, ensemble=False)


def build_logreg(p: dict[str, Any], ctx: BuildContext) -> Any:
    """One-vs-rest liblinear: 2.5-16x faster than multinomial L-BFGS from 4 to 20 classes, as
    accurate (docs/design.md, "The search space's defaults")."""
    binary = LogisticRegression(C=p["C"], class_weight=none_if(p["class_weight"], "none"), solver="liblinear")
    return OneVsRestClassifier(binary)


def build_linear_svc(p: dict[str, Any], ctx: BuildContext) -> Any:
    svc = LinearSVC(
        C=p["C"],
        class_weight=none_if(p["class_weight"], "none"),
        max_iter=LINEAR_SVC_MAX_ITER,
        random_state=ctx.seed,
    )
    return with_probability(svc, ctx)


def build_sgd(p: dict[str, Any], ctx: BuildContext) -> Any:
    sgd = SGDClassifier(
        loss=p["loss"],
        alpha=p["alpha"],
        class_weight=none_if(p["class_weight"], "none"),
        max_iter=50,
        tol=1e-4,
        random_state=ctx.seed,
    )
    return with_probability(sgd, ctx)


def build_ridge(p: dict[str, Any], ctx: BuildContext) -> Any:
    ridge = RidgeClassifier(alpha=p["alpha"], class_weight=none_if(p["class_weight"], "none"))
    return with_probability(ridge, ctx)


def build_complement_nb(p: dict[str, Any], ctx: BuildContext) -> Any:
    return ComplementNB(alpha=p["alpha"], norm=p["norm"])


def build_multinomial_nb(p: dict[str, Any], ctx: BuildContext) -> Any:
    return MultinomialNB(alpha=p["alpha"], fit_prior=p["fit_prior"])


def build_nbsvm(p: dict[str, Any], ctx: BuildContext) -> Any:
    return NBSVMClassifier(C=p["C"], alpha=p["alpha"], class_weight=none_if(p["class_weight"], "none"))


def build_lightgbm(p: dict[str, Any], ctx: BuildContext) -> Any:
    """Gradient-boosted trees on the sparse TF-IDF matrix, one thread (trials run in parallel).

    Histograms are built row-wise: left to choose, LightGBM times both ways first, for most of
    the time before its first tree, and picks row-wise on TF-IDF anyway. The trees are the same.
    """
    from textauto.space.boosting import PacedLGBMClassifier  # imported when used: LightGBM is slow to import

    return PacedLGBMClassifier(
        n_estimators=p["n_estimators"],
        learning_rate=p["learning_rate"],
        num_leaves=p["num_leaves"],
        min_child_samples=p["min_child_samples"],
        colsample_bytree=p["colsample_bytree"],
        reg_lambda=p["reg_lambda"],
        class_weight=none_if(p["class_weight"], "none"),
        max_bin=LIGHTGBM_MAX_BIN,
        force_row_wise=True,
        n_jobs=1,
        random_state=ctx.seed,
        verbose=-1,
    )


CLASSIFIERS = {
    c.name: c
    for c in (
        Component("logreg", {"C": log_range(0.01, 1000.0), "class_weight": CLASS_WEIGHT}, build_logreg),
        Component(
            # C up to 10: liblinear runs in one C call the trial's alarm cannot interrupt, and
            # a high C runs long on long texts
            "linear_svc",
            {"C": log_range(0.005, 10.0), "class_weight": CLASS_WEIGHT},
            build_linear_svc,
        ),
        Component(
            "sgd",
            {
                "loss": ["hinge", "log_loss", "modified_huber"],
                "alpha": log_range(1e-7, 1e-3),
                "class_weight": CLASS_WEIGHT,
            },
            build_sgd,
        ),
        Component("ridge", {"alpha": log_range(0.01, 100.0), "class_weight": CLASS_WEIGHT}, build_ridge),
        Component(
            "complement_nb", {"alpha": log_range(0.001, 10.0), "norm": [False, True]}, build_complement_nb
        ),
        Component(
            "multinomial_nb",
            {"alpha": log_range(0.001, 10.0), "fit_prior": [True, False]},
            build_multinomial_nb,
        ),
        Component(
            "nbsvm",
            {"C": log_range(0.01, 100.0), "alpha": log_range(0.1, 10.0), "class_weight": CLASS_WEIGHT},
            build_nbsvm,
        ),
        Component(
            "lightgbm",
            {
                # A fit costs about n_estimators x colsample_bytree^0.7 (x classes; see
                # cost.priors.classifier_weight); the cost model skips what the budget cannot
                # afford. Fewer trees seeing fewer columns fell short of the linear SVM.
                "n_estimators": Range(low=50, high=500, log=True),
                "learning_rate": log_range(0.03, 0.3),
                "num_leaves": Range(low=8, high=64, log=True),
                "min_child_samples": Range(low=3, high=20, log=True),  # rare terms need small leaves
                "colsample_bytree": log_range(0.05, 0.5),  # share of the columns each tree sees
                "reg_lambda": log_range(0.001, 1.0),
                "class_weight": CLASS_WEIGHT,
            },
            build_lightgbm,
        ),
    )
}
