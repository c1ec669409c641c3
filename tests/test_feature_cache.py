from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from textauto import AutoTextClassifier
from textauto.search.feature_cache import FeatureCache, Featurized, matrix_bytes
from textauto.space.build import featurizer_key


def _entry(n_rows: int) -> Featurized:
    X = sp.random(n_rows, 100, density=0.1, format="csr", dtype=np.float32, random_state=0)
    return Featurized(X, X[:2], 1.5)


def test_cache_keeps_recent_entries_within_its_memory_bound():
    one = matrix_bytes(_entry(50).X_train) + matrix_bytes(_entry(50).X_val)
    cache = FeatureCache(max_bytes=int(one * 2.5))
    for fold in range(3):
        cache.put(("word", fold), _entry(50))
    assert ("word", 0) not in cache and ("word", 1) in cache and ("word", 2) in cache
    assert cache.bytes <= cache.max_bytes
    assert cache.get(("word", 1)).seconds == 1.5  # the time it took to compute, kept for the refit
    cache.put(("word", 3), _entry(50))  # evicts the least recently used: fold 2, not fold 1
    assert ("word", 1) in cache and ("word", 2) not in cache
    assert (cache.hits, cache.misses) == (1, 0)
    assert cache.get(("char", 0)) is None and cache.misses == 1


def test_cache_skips_entries_larger_than_its_bound_and_can_be_off():
    cache = FeatureCache(max_bytes=10)
    cache.put(("word", 0), _entry(50))
    assert ("word", 0) not in cache and cache.bytes == 0
    off = FeatureCache(0)
    off.put(("word", 0), _entry(5))
    assert off.get(("word", 0)) is None


def test_featurizer_key_is_the_representation_and_its_parameters_only():
    base = {"representation": "word", "classifier": "logreg", "word.ngram_max": 2, "logreg.C": 1.0}
    assert featurizer_key(base) == featurizer_key({**base, "classifier": "ridge", "logreg.C": 5.0})
    assert featurizer_key(base) != featurizer_key({**base, "word.ngram_max": 3})
    # parameters of a featurizer the representation does not use are ignored
    assert featurizer_key(base) == featurizer_key({**base, "char.ngram_max": 5})
    union = {**base, "representation": "word+char", "char.ngram_max": 5}
    assert featurizer_key(union) != featurizer_key({**union, "char.ngram_max": 4})


def test_trials_on_a_cached_representation_reuse_its_folds(demo):
    texts, labels = demo
    space = {
        "space": {"representations": ["word"], "classifiers": ["linear_svc", "nbsvm", "ridge"]},
        "validation": {"strategy": "kfold"},  # 5 folds, not repeated
    }
    est = AutoTextClassifier(n_trials=6, seed=0, time_budget=600, config=space).fit(texts, labels)
    done = [t for t in est.study_.trials if t.state.name == "COMPLETE"]
    reused = [t for t in done if t.user_attrs.get("reused_folds") == 5]
    # the classifier swaps of the best representation run on its cached folds...
    assert any(t.user_attrs.get("swap_of") is not None for t in reused)
    for t in reused:
        source = next(
            o for o in done if o.number < t.number and featurizer_key(o.params) == featurizer_key(t.params)
        )
        # ...and report the featurizer time it took to compute them, for the refit estimate
        assert t.user_attrs["feature_seconds"] == source.user_attrs["feature_seconds"]
