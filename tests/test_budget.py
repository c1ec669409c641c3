"""The cost model and the memory bounds the search skips trials by."""

from __future__ import annotations

import pytest


def test_cost_model_predicts_from_timed_folds_and_priors():
    from textauto.cost.model import CostModel
    from textauto.cost.refit import SAFETY, Timings

    costs = CostModel(train_fraction=0.8, n_folds=5)
    assert costs.expected({"representation": "word", "classifier": "linear_svc"}) is None
    costs.record(
        {"representation": "word", "classifier": "linear_svc"},
        Timings(1.0, 0.5),
    )
    seconds, refit = costs.expected({"representation": "word", "classifier": "linear_svc"})
    assert seconds == pytest.approx(5 * 1.5 * SAFETY)
    assert refit == pytest.approx((1.0 + 0.5 * 2 / 0.8) * SAFETY + 0.5)  # calibrated SVM at refit
    # an untimed char union is priced by the priors: 5.5x the word featurizer and classifier fit
    seconds, _ = costs.expected({"representation": "word+char", "classifier": "linear_svc"})
    assert seconds == pytest.approx(5 * (5.5 + 2.75) * SAFETY)
    # char_wb n-grams (inside words) cost half of char n-grams, to compute and to fit on
    wb = {"representation": "char", "classifier": "linear_svc", "char.analyzer": "char_wb"}
    assert costs.expected(wb)[0] == pytest.approx(5 * (4.5 * 0.5 + 2.25 * 0.5) * SAFETY)
    # a timed configuration is taken as measured
    costs.record(
        {"representation": "word+char", "classifier": "linear_svc"},
        Timings(3.0, 1.0),
    )
    assert costs.expected({"representation": "word+char", "classifier": "linear_svc"})[0] == pytest.approx(
        20 * SAFETY
    )
    # the cheapest trial left: naive Bayes (0.3 of the SVM's fit) on the cached word features
    assert costs.cheapest() == pytest.approx(5 * 0.5 * 0.3)
    # featurizing is priced by the n-gram orders counted: word 1-3-grams cost 3/2 of 1-2-grams
    costs = CostModel(train_fraction=0.8, n_folds=1)
    costs.record({"representation": "word", "classifier": "linear_svc", "word.ngram_max": 2},
                 Timings(2.0, 0.0))  # fmt: skip
    trigrams = {"representation": "word", "classifier": "linear_svc", "word.ngram_max": 3}
    assert costs.expected(trigrams)[0] == pytest.approx(3.0 * SAFETY)
    costs = CostModel(train_fraction=0.8, n_folds=5)
    costs.record(
        {"representation": "word", "classifier": "linear_svc"},
        Timings(1.0, 0.5),
    )
    costs.record(
        {"representation": "word+char", "classifier": "linear_svc"},
        Timings(3.0, 1.0),
    )
    # with its features cached, a trial costs only its classifier fits
    cached = costs.expected({"representation": "word+char", "classifier": "linear_svc"}, featurized=True)
    assert cached[0] == pytest.approx(5 * 1.0 * SAFETY)


def test_a_classifier_fit_is_priced_by_the_features_it_is_given():
    """20newsgroups: an SGD on char_wb 2-5-grams (20 s a fold) was priced from char 1-5-grams'
    weight at 53 s, over the trial limit, and the portfolio entry meant for it was skipped."""
    from textauto.cost.model import CostModel
    from textauto.cost.refit import SAFETY, Timings

    costs = CostModel(train_fraction=0.8, n_folds=1)
    char = {"representation": "char", "classifier": "linear_svc", "char.analyzer": "char",
            "char.ngram_min": 1, "char.ngram_max": 5}  # fmt: skip
    costs.record(char, Timings(10.0, 20.0))
    # 4 orders of 5, inside words (half): 0.4 of the work, featurizing and fitting alike
    wb = {**char, "char.analyzer": "char_wb", "char.ngram_min": 2}
    assert costs.expected(wb)[0] == pytest.approx((10.0 + 20.0) * 0.4 * SAFETY)
    # an untimed classifier on those features: from the representation's fits, by weight
    assert costs.expected({**wb, "classifier": "sgd"})[0] == pytest.approx((10.0 + 20.0) * 0.4 * SAFETY)
    # from words to char_wb 2-5-grams: 1.8x the word 1-2-grams' featurizing and fitting
    costs = CostModel(train_fraction=0.8, n_folds=1)
    costs.record({"representation": "word", "classifier": "sgd", "word.ngram_max": 2},
                 Timings(5.0, 10.0))  # fmt: skip
    assert costs.expected({**wb, "classifier": "sgd"})[0] == pytest.approx((5.0 + 10.0) * 1.8 * SAFETY)


def test_an_untimed_pair_is_priced_from_its_classifier_or_its_representation():
    """Not from the slowest unit seen: a slow logistic regression on words must not price a
    ridge on word+char n-grams out of the search (trec6: 87 s expected for 0.5 s of work)."""
    from textauto.cost.model import CostModel
    from textauto.cost.refit import SAFETY, Timings

    costs = CostModel(train_fraction=0.8, n_folds=5)
    costs.record({"representation": "word", "classifier": "logreg"},
                 Timings(0.1, 4.0))  # fmt: skip
    costs.record({"representation": "word", "classifier": "ridge"},
                 Timings(0.1, 0.1))  # fmt: skip
    costs.record({"representation": "word+char", "classifier": "linear_svc"},
                 Timings(0.5, 0.4))  # fmt: skip
    # the same classifier on words, scaled by the featurizers' weights (5.5x)
    ridge = {"representation": "word+char", "classifier": "ridge"}
    assert costs.expected(ridge, featurized=True)[0] == pytest.approx(5 * 0.1 * 5.5 * SAFETY)
    # nbsvm never timed: the representation's classifier fits, by the classifiers' weights (6x)
    nbsvm = {"representation": "word+char", "classifier": "nbsvm"}
    assert costs.expected(nbsvm, featurized=True)[0] == pytest.approx(5 * 0.4 * 6.0 * SAFETY)
    # neither timed: the slowest unit seen (the word logistic regression's, 4/3 s per unit)
    spacy = {"representation": "spacy", "classifier": "nbsvm"}
    assert costs.expected(spacy, featurized=True)[0] == pytest.approx(5 * 4.0 / 3 * 4.0 * 6.0 * SAFETY)


def test_classifier_memory_bound_grows_with_features_and_classes():
    from textauto.cost.memory import classifier_megabytes

    mb = 2**20 / 8  # float64 values per megabyte
    assert classifier_megabytes({"classifier": "logreg"}, int(mb), 2) == 4  # binary: one output
    assert classifier_megabytes({"classifier": "logreg"}, int(mb), 20) == 4 * 20
    assert classifier_megabytes({"classifier": "linear_svc"}, int(mb), 5) == 3 * 5
    assert classifier_megabytes({"classifier": "lightgbm"}, int(mb), 5) == 0


def test_cheapest_trial_counts_a_fast_classifier_on_cached_features():
    """A slow first trial (a 20-class SVM) must not make the search believe nothing else fits."""
    from textauto.cost.model import CostModel
    from textauto.cost.refit import Timings

    costs = CostModel(train_fraction=0.8, n_folds=1)
    assert costs.cheapest() is None
    costs.record({"representation": "word", "classifier": "linear_svc"},
                 Timings(5.0, 25.0))  # fmt: skip
    assert costs.cheapest() == pytest.approx(25.0 * 0.3)  # not 30 s
    # once a fast configuration is timed, it is the cheapest
    costs.record({"representation": "word", "classifier": "complement_nb"},
                 Timings(0.5, 0.5))  # fmt: skip
    assert costs.cheapest() == pytest.approx(0.5 + 0.5)


def test_cost_model_prices_lightgbm_by_its_size():
    """A fit grows with the trees and, sub-linearly, the share of columns each tree sees."""
    from textauto.cost.model import CostModel
    from textauto.cost.refit import SAFETY, Timings

    small = {"representation": "word", "classifier": "lightgbm", "lightgbm.n_estimators": 100,
             "lightgbm.colsample_bytree": 0.1}  # fmt: skip
    costs = CostModel(train_fraction=0.8, n_folds=1)
    costs.record({"representation": "word", "classifier": "linear_svc"},
                 Timings(0.0, 0.1))  # fmt: skip
    assert costs.expected(small)[0] == pytest.approx(25 * 0.1 / 3 * SAFETY)  # a third of the prior
    costs.record(small, Timings(0.0, 2.0))
    large = {**small, "lightgbm.n_estimators": 300, "lightgbm.colsample_bytree": 0.3}
    assert costs.expected(large)[0] == pytest.approx(2.0 * 3 * 3**0.7 * SAFETY)
    # timing the large one first prices the small one down, not up
    costs = CostModel(train_fraction=0.8, n_folds=1)
    costs.record(large, Timings(0.0, 13.0))
    assert costs.expected(small)[0] == pytest.approx(13.0 / (3 * 3**0.7) * SAFETY)


def test_a_classifier_timed_beside_other_workers_refits_faster_alone():
    from textauto.cost.model import CostModel
    from textauto.cost.refit import CONTENDED_SLOWDOWN, SAFETY, RefitPrice, Timings

    svc = {"representation": "word", "classifier": "linear_svc"}
    alone = Timings(2.0, 4.0)
    beside = Timings(2.0, 4.0, workers=2)
    price = RefitPrice(0.8)
    assert price.fit(svc, alone, calibrated=False) == pytest.approx((2.0 + 4.0 / 0.8) * SAFETY + 0.5)
    # featurizing is barely slowed by the other worker; the classifier's fit is
    expected = (2.0 + 4.0 / CONTENDED_SLOWDOWN / 0.8) * SAFETY + 0.5
    assert price.fit(svc, beside, calibrated=False) == pytest.approx(expected)
    # the cost model prices untimed refits the same way, while trials keep their timed cost
    one, two = CostModel(0.8, 5), CostModel(0.8, 5, workers=2)
    for costs in (one, two):
        costs.record(svc, alone)
    assert one.expected(svc)[0] == two.expected(svc)[0]
    assert two.expected(svc)[1] < one.expected(svc)[1]
