"""Featurized folds kept for later trials: a representation is computed once per fold.

Trials that differ only in their classifier (or come back to a representation) reuse the
matrices; least recently used entries go first when the memory bound is reached.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import scipy.sparse as sp


@dataclass(frozen=True)
class Featurized:
    X_train: Any
    X_val: Any
    seconds: float  # what computing them took: the refit estimate still needs it


def matrix_bytes(X: Any) -> int:
    if sp.issparse(X):
        X = X.tocsr() if not sp.isspmatrix_csr(X) else X
        return int(X.data.nbytes + X.indices.nbytes + X.indptr.nbytes)
    return int(getattr(X, "nbytes", 0))


class FeatureCache:
    """An LRU map from (representation parameters, fold) to ``Featurized``, within ``max_bytes``."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[tuple[str, int], tuple[Featurized, int]] = OrderedDict()

    def __contains__(self, key: tuple[str, int]) -> bool:
        return key in self._entries

    def get(self, key: tuple[str, int]) -> Featurized | None:
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry[0]

    def put(self, key: tuple[str, int], value: Featurized) -> None:
        size = matrix_bytes(value.X_train) + matrix_bytes(value.X_val)
        if size > self.max_bytes or key in self._entries:
            return
        while self._entries and self.bytes + size > self.max_bytes:
            _, (_, freed) = self._entries.popitem(last=False)
            self.bytes -= freed
        self._entries[key] = (value, size)
        self.bytes += size
