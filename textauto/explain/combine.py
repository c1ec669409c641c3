"""A saved model's members and how their contributions combine, in log-probability space.

An ensemble averages, or stacks, its members' temperature-scaled probabilities
``p = softmax(s / T)``. A member's centered log-probability of class ``k``,
``log p_k - mean_l log p_l = (s_k - mean_l s_l) / T``, is linear in its scores, so each feature's
part in it is exact; the members' parts are combined with the ensemble's weights (an average)
or its stacker's coefficients (a stack, which reads the members' log-probabilities). Unlike
first-order terms of ``log p`` itself, they do not vanish where a member is confident.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.pipeline import Pipeline

from textauto.ensemble.classifier import EnsembleClassifier
from textauto.exceptions import ExplainError
from textauto.explain.layout import Layout
from textauto.explain.members import Linear, MemberTerms, class_weights, member_terms
from textauto.inference import Memo, featurize, lean


@dataclass
class Member:
    """One pipeline of a model, its temperature and ``mix``: row ``c`` weighs its log-probability
    terms of each class into the model's class ``c``."""

    pipeline: Pipeline
    temperature: float
    mix: np.ndarray
    layout: Layout

    @cached_property
    def weights(self) -> Linear | None:
        return class_weights(self.pipeline[-1])

    def terms(self, texts: np.ndarray, memo: Memo | None = None) -> MemberTerms:
        """Contributions on ``texts`` (an object array); members sharing a featurizer and a
        ``memo`` featurize them once."""
        with lean():
            clf, X = featurize(self.pipeline, texts, {} if memo is None else memo)
            return member_terms(clf, X, self.weights)

    @property
    def trees(self) -> bool:
        """Whether its classifier is a tree ensemble (LightGBM), whose contributions cost most."""
        return hasattr(self.pipeline[-1], "booster_")

    def coefficients(self, c: int) -> np.ndarray:
        """How class ``c`` of the model weighs this member's class scores: its ``mix`` row over
        centered log-probabilities, ``(s_k - mean_l s_l) / T``."""
        row = self.mix[c]
        return (row - row.mean()) / self.temperature

    def class_terms(self, terms: MemberTerms, c: int) -> sp.csr_matrix:
        """This member's share of the model's terms for class ``c``, an (n, features) matrix."""
        return terms.combine(self.coefficients(c))


def members_of(model: Any) -> list[Member]:
    """The pipelines behind ``model`` with how each weighs into the model's classes."""
    if isinstance(model, EnsembleClassifier):
        pipelines = [m for _, m in model.estimators_]
        mixes = _stack_mixes(model) if model.stack_coef is not None else _average_mixes(model)
        temperatures = model.temperatures_
    elif isinstance(model, Pipeline):
        pipelines, temperatures = [model], [1.0]
        mixes = [np.eye(len(model.classes_))]
    else:
        raise ExplainError(f"cannot explain a {type(model).__name__}: not a pipeline or an ensemble of them")
    for p in pipelines:
        if not isinstance(p, Pipeline):
            raise ExplainError(f"cannot explain an ensemble member that is a {type(p).__name__}")
    return [
        Member(p, float(t), m, Layout.of(p)) for p, t, m in zip(pipelines, temperatures, mixes, strict=True)
    ]


def _average_mixes(model: EnsembleClassifier) -> list[np.ndarray]:
    k = len(model.classes_)
    return [w * np.eye(k) for w in model.weights_]


def _stack_mixes(model: EnsembleClassifier) -> list[np.ndarray]:
    """The stacker's coefficients of each member's log-probabilities; with two classes its one
    row is class 1's logit, and class 0 gets its negative."""
    k = len(model.classes_)
    coef = np.asarray(model.stack_coef, dtype=np.float64)
    blocks = [coef[:, m * k : (m + 1) * k] for m in range(len(model.estimators_))]
    return [np.vstack([-b[0], b[0]]) if k == 2 else b for b in blocks]
