"""What a configuration costs before it was timed on the data: weights relative to word
TF-IDF and a linear SVM, measured on the benchmark sets (docs/design.md, "The budget and the
cost model")."""

from __future__ import annotations

from typing import Any

# Priors for configurations not yet timed, relative to word TF-IDF and a linear SVM; classifier
# fits grow with the featurizer's output too.
FEATURIZER_WEIGHT = {"word": 1.0, "char": 4.5, "spacy": 4.0}
ANALYZER_WEIGHT = {"char_wb": 0.5}
CLASSIFIER_WEIGHT = {
    "linear_svc": 1.0, "sgd": 1.0, "ridge": 2.0, "logreg": 3.0, "nbsvm": 6.0,
    "complement_nb": 0.3, "multinomial_nb": 0.3, "lightgbm": 25.0,
}  # fmt: skip


# LightGBM's cost follows the rows, columns and classes, not the linear SVM's fit time its prior
# is scaled from: until timed on the data it is priced at a third of its prior, so that one the
# prior wrongly calls too slow gets its chance (a right one is stopped at its time limit).
UNTIMED_DISCOUNT = {"lightgbm": 3.0}


def classifier_weight(classifier: str, params: dict[str, Any] | None = None) -> float:
    """Relative cost of a classifier fit; LightGBM's at ``params``' size (the weight above is
    for 100 trees seeing 10% of the columns; measured: time grows with trees x colsample^0.7)."""
    weight = CLASSIFIER_WEIGHT.get(classifier, 3.0)
    if classifier == "lightgbm" and params is not None:
        trees = float(params.get("lightgbm.n_estimators", 100)) / 100
        columns = float(params.get("lightgbm.colsample_bytree", 0.1)) / 0.1
        weight *= trees * columns**0.7
    return weight


# Featurizing time grows with the number of n-gram orders counted; the weights above are for
# these orders.
TYPICAL_ORDERS = {"word": 2, "char": 5, "spacy": 1}


def ngram_orders(part: str, params: dict[str, Any]) -> float:
    high = params.get(f"{part}.ngram_max")
    if high is None:
        return TYPICAL_ORDERS.get(part, 1)
    low = params.get(f"{part}.ngram_min", 1)
    return max(int(high) - int(low) + 1, 1)


def featurizer_weight(representation: str, params: dict[str, Any] | None = None) -> float:
    """Relative featurizing cost of a representation (at ``params``' n-gram orders, if given)."""
    total = 0.0
    for part in representation.split("+"):
        scale = 1.0
        if params is not None:
            scale = ngram_orders(part, params) / TYPICAL_ORDERS.get(part, 1)
            scale *= ANALYZER_WEIGHT.get(params.get(f"{part}.analyzer"), 1.0)
        total += FEATURIZER_WEIGHT.get(part, 4.0) * scale
    return total
