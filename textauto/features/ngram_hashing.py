"""Array arithmetic under ``NgramTfidf``: rolling n-gram hashes and per-block counting.

A block of texts is one array of symbols (code points or hashed word tokens) with a boundary
mask; every window of ``low``..``high`` symbols that crosses no boundary gets a 64-bit
polynomial hash, salted per n-gram order. Fitted vocabularies are these hashes, so the scheme
must never change for a saved model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd, so the rolling hash loses no bits


def _splitmix64(x: int) -> int:
    """A fixed 64-bit mix (Steele et al. 2014): the same constants on every machine, forever."""
    x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


# Each n-gram order is xor-ed with its own constant so n-grams of different lengths never align.
ORDERS = 32  # the longest n-gram
_ORDER_SALT = np.array([_splitmix64(order) for order in range(1, ORDERS + 1)], dtype=np.uint64)


class Counted:
    """One block's distinct n-grams (``hashes``) and its (row, n-gram id, count) entries."""

    __slots__ = ("counts", "hashes", "ids", "rows")

    def __init__(self, hashes: np.ndarray, ids: np.ndarray, rows: np.ndarray, counts: np.ndarray) -> None:
        self.hashes, self.ids, self.rows, self.counts = hashes, ids, rows, counts


def count_block(rows: np.ndarray, hashes: np.ndarray) -> Counted:
    """Count a block's (row, n-gram hash) pairs."""
    codes, distinct = pd.factorize(hashes)  # a hash table: linear time, unlike sorting
    order = np.argsort(distinct)  # ids in hash order, so each row's entries come out sorted
    ids = inverse(order)[codes]
    # (row, id) pairs packed in one integer, so one sort counts them
    first_row = rows[0] if len(rows) else 0
    key = ((rows - first_row) << 32) | ids
    key.sort()
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.empty(0, np.int64)
    unique_keys = key[starts]
    counts = np.diff(np.r_[starts, len(key)])
    # 32 bits each: every block's entries are kept until the vocabulary is known
    return Counted(
        distinct[order],
        (unique_keys & 0xFFFFFFFF).astype(np.int32),
        ((unique_keys >> 32) + first_row).astype(np.int32),
        counts.astype(np.int32),
    )


def inverse(order: np.ndarray) -> np.ndarray:
    """The permutation undoing ``order``: position of each original index in sorted order."""
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return inverse


def window_hashes(
    symbols: np.ndarray,
    boundary: np.ndarray,
    position_row: np.ndarray,
    low: int,
    high: int,
    whole_short: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Row and hash of every window of ``low``..``high`` symbols that crosses no boundary.

    With ``whole_short``, a segment shorter than ``low`` counts once as a whole (char_wb's rule
    for short words).
    """
    n = len(symbols)
    h = np.zeros(n, dtype=np.uint64)
    crosses = np.zeros(n, dtype=bool)
    starts_segment = np.r_[True, boundary[:-1]] if whole_short else None
    out_rows, out_hashes = [], []
    for order in range(1, high + 1):
        m = n - order + 1
        if m <= 0:
            break
        h = h[:m] * _MULTIPLIER + symbols[order - 1 :]
        crosses = crosses[:m] | boundary[order - 1 :]
        if order >= low:
            ok = ~crosses
        elif whole_short:
            # the whole segment: starts a segment and is followed by its separator
            ok = ~crosses & starts_segment[:m] & np.r_[boundary[order:], False]
        else:
            continue
        where = np.flatnonzero(ok)
        out_rows.append(position_row[where])
        out_hashes.append(h[where] ^ _ORDER_SALT[order - 1])
    if not out_rows:
        return np.empty(0, np.int64), np.empty(0, np.uint64)
    return np.concatenate(out_rows), np.concatenate(out_hashes)
