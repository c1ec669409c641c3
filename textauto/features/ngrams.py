"""``NgramTfidf``: word or character n-gram TF-IDF, counted with numpy instead of Python loops.

scikit-learn's ``TfidfVectorizer`` builds every n-gram as a Python string and looks it up in a
dict, one at a time: on 11,000 newsgroup posts, character 2-5-grams take a minute. Here each
text becomes an array of symbols (character code points, or hashed word tokens), and the
n-grams of a whole block of texts are hashed at once with array arithmetic (a rolling polynomial
hash over 64 bits), then sorted and counted. The features are those of ``TfidfVectorizer`` with
the same options (the test suite compares them); the vocabulary is kept as the sorted n-gram
hashes, which also makes the fitted object small to pickle. Two distinct n-grams share a column
only if their 64-bit hashes collide, which for a few million n-grams is vanishingly unlikely.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, strip_accents_ascii, strip_accents_unicode
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2
from sklearn.utils.validation import check_is_fitted

ANALYZERS = ("word", "char", "char_wb")
BLOCK_SYMBOLS = 1 << 20  # symbols hashed together: large enough for numpy, small enough for the cache
CATEGORIZE_TOKENS = 10_000
_WHITE_SPACES = re.compile(r"\s\s+")  # as scikit-learn normalizes text before character n-grams
# Ends each segment: a lone surrogate, which is not valid text (lone surrogates in the input are
# read as U+FFFD first, so no text holds one).
_SEPARATOR = "\ud800"
_SEPARATOR_CODE = 0xD800
_SURROGATES = re.compile("[\ud800-\udfff]")
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd, so the rolling hash loses no bits
# Where a negation's scope ends (Das & Chen 2001; Pang et al. 2002): clause punctuation.
_CLAUSE_ENDS = re.compile(r"[.,:;!?]")
# Marks a token inside a negation's scope: not a word character, so no token spelled in the
# text can carry it.
NEGATED = "\u00ac"


def _negated_tokens(doc: str, pattern: re.Pattern[str], cues: frozenset[str]) -> list[str]:
    """``doc``'s tokens, each one after a cue marked ``NEGATED`` up to the end of its clause."""
    tokens: list[str] = []
    for clause in _CLAUSE_ENDS.split(doc):
        negated = False
        for token in pattern.findall(clause):
            tokens.append(NEGATED + token if negated else token)
            negated = negated or token in cues
    return tokens


def _splitmix64(x: int) -> int:
    """A fixed 64-bit mix (Steele et al. 2014): the same constants on every machine, forever."""
    x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


# Each n-gram order is xor-ed with its own constant so n-grams of different lengths never align.
# Fitted vocabularies are these hashes: the scheme must never change for a saved model.
_ORDER_SALT = np.array([_splitmix64(order) for order in range(1, 33)], dtype=np.uint64)


class NgramTfidf(TransformerMixin, BaseEstimator):
    """TF-IDF of word or character n-grams; the options mean what they mean in ``TfidfVectorizer``.

    ``analyzer``: ``"word"`` (tokens from ``token_pattern``), ``"char"`` (n-grams over the text
    with runs of white space collapsed) or ``"char_wb"`` (n-grams inside space-padded words).
    Document frequencies ``min_df``/``max_df`` (a count, or a share when a float) and
    ``max_features`` (the most frequent n-grams) prune the vocabulary; weights are smoothed IDF,
    optionally ``1 + log(tf)``, and each row is scaled to unit length.

    Differences from ``TfidfVectorizer``: columns are in hash order, not alphabetical; when
    ``max_features`` cuts through n-grams of equal frequency, the tied ones kept may differ;
    lone surrogates (invalid text) are read as U+FFFD.

    ``negation_cues`` (word analyzer): tokens that open a negation scope. Every later token of
    the clause (up to ``.,:;!?``) becomes another feature, ``"¬" + token``, so "not good" and
    "good" weigh apart even as unigrams. Cues are matched after ``lowercase``.
    """

    def __init__(
        self,
        analyzer: str = "word",
        ngram_range: tuple[int, int] = (1, 1),
        lowercase: bool = True,
        strip_accents: str | None = None,
        stop_words: Iterable[str] | None = None,
        token_pattern: str = r"(?u)\b\w\w+\b",
        min_df: float = 1,
        max_df: float = 1.0,
        max_features: int | None = None,
        sublinear_tf: bool = False,
        negation_cues: Iterable[str] | None = None,
        dtype: Any = np.float32,
    ) -> None:
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.lowercase = lowercase
        self.strip_accents = strip_accents
        self.stop_words = stop_words
        self.token_pattern = token_pattern
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.negation_cues = negation_cues
        self.dtype = dtype

    def __setstate__(self, state: dict[str, Any]) -> None:
        state.setdefault("negation_cues", None)  # pickled before the option existed
        super().__setstate__(state)

    def fit(self, raw_documents: Iterable[str], y: Any = None) -> NgramTfidf:
        self.fit_transform(raw_documents)
        return self

    def fit_transform(self, raw_documents: Iterable[str], y: Any = None) -> sp.csr_matrix:
        self._check_params()
        docs = _as_list(raw_documents)
        if not docs:
            raise ValueError("empty vocabulary: no documents to fit on")
        blocks = self._counted(docs)
        # one vocabulary over the blocks' distinct n-grams, in hash order; per block, a map from
        # its n-gram ids to vocabulary indices
        codes, hashes = pd.factorize(np.concatenate([b.hashes for b in blocks] or [np.empty(0, np.uint64)]))
        order = np.argsort(hashes)
        hashes = hashes[order]
        codes = _inverse(order)[codes].astype(np.int32)
        maps = np.split(codes, np.cumsum([len(b.hashes) for b in blocks])[:-1]) if blocks else []
        keep = self._kept_columns(blocks, maps, len(hashes), len(docs))
        renumber = np.full(len(hashes), -1, dtype=np.int32)
        renumber[keep] = np.arange(len(keep))
        self.vocabulary_hashes_ = hashes[keep]
        counts = self._assemble(blocks, [renumber[m] for m in maps], len(docs))
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        # smoothed IDF, as TfidfTransformer(smooth_idf=True): as if one document held every term
        self.idf_ = (np.log((1 + len(docs)) / (1 + df)) + 1).astype(self.dtype)
        return self._weigh(counts)

    def transform(self, raw_documents: Iterable[str]) -> sp.csr_matrix:
        check_is_fitted(self, "vocabulary_hashes_")
        docs = _as_list(raw_documents)
        vocabulary = self.vocabulary_hashes_
        last = max(len(vocabulary) - 1, 0)
        rows, columns, counts = [], [], []
        for block in self._blocks(docs):  # whole texts each: a (row, column) pair is in one block
            row, hashes = _window_hashes(*block)
            at = np.minimum(np.searchsorted(vocabulary, hashes), last)
            known = vocabulary[at] == hashes
            # (row, column) packed in one integer: one sort orders and counts them, as CSR wants
            key, count = np.unique((row[known] << 32) | at[known], return_counts=True)
            rows.append(key >> 32)
            columns.append(key & 0xFFFFFFFF)
            counts.append(count)
        return self._weigh(self._csr(rows, columns, counts, len(docs)))

    # -- parameters -----------------------------------------------------------------------------

    def _check_params(self) -> None:
        if self.analyzer not in ANALYZERS:
            raise ValueError(f"analyzer must be one of {ANALYZERS}, got {self.analyzer!r}")
        low, high = self.ngram_range
        if not 1 <= low <= high <= len(_ORDER_SALT):
            raise ValueError(f"ngram_range must be (low, high), 1 <= low <= high <= 32: {self.ngram_range}")
        if self.strip_accents not in (None, "ascii", "unicode"):
            raise ValueError(f"strip_accents must be None, 'ascii' or 'unicode', got {self.strip_accents!r}")
        for name in ("min_df", "max_df"):
            value = getattr(self, name)
            bad_count = isinstance(value, numbers.Integral) and value < 0
            bad_share = isinstance(value, float) and not 0.0 <= value <= 1.0
            if bad_count or bad_share:
                raise ValueError(f"{name} must be a count >= 0 or a share in [0, 1], got {value!r}")
        if self.max_features is not None and self.max_features <= 0:
            raise ValueError(f"max_features must be a positive integer or None, got {self.max_features}")
        cues = self.negation_cues
        if cues is not None and (self.analyzer != "word" or isinstance(cues, str)):
            where = f"for the word analyzer only; got {cues!r} with analyzer {self.analyzer!r}"
            raise ValueError(f"negation_cues must be a collection of words, {where}")

    def _kept_columns(
        self, blocks: list[_Counted], maps: list[np.ndarray], n_terms: int, n_docs: int
    ) -> np.ndarray:
        """Vocabulary indices left after document-frequency and ``max_features`` pruning."""
        df = np.zeros(n_terms, dtype=np.int64)
        for block, to_vocabulary in zip(blocks, maps, strict=True):
            df += np.bincount(to_vocabulary[block.ids], minlength=n_terms)
        high = self.max_df if isinstance(self.max_df, numbers.Integral) else self.max_df * n_docs
        low = self.min_df if isinstance(self.min_df, numbers.Integral) else self.min_df * n_docs
        if high < low:
            raise ValueError("max_df corresponds to < documents than min_df")
        keep = np.flatnonzero((df >= low) & (df <= high))
        if self.max_features is not None and len(keep) > self.max_features:
            totals = np.zeros(n_terms)
            for block, to_vocabulary in zip(blocks, maps, strict=True):
                totals += np.bincount(to_vocabulary[block.ids], weights=block.counts, minlength=n_terms)
            top = np.argsort(-totals[keep], kind="stable")[: self.max_features]
            keep = np.sort(keep[top])
        if len(keep) == 0:
            raise ValueError(
                "empty vocabulary: the documents contain no n-grams (perhaps only stop words), "
                "or min_df/max_df pruned them all"
            )
        return keep

    # -- text to symbols ------------------------------------------------------------------------

    def _preprocess(self, doc: str) -> str:
        if not doc.isascii():
            doc = _SURROGATES.sub("\ufffd", doc)
        if self.lowercase:
            doc = doc.lower()
        if self.strip_accents == "unicode":
            doc = strip_accents_unicode(doc)
        elif self.strip_accents == "ascii":
            doc = strip_accents_ascii(doc)
        return doc

    def _counted(self, docs: list[str]) -> list[_Counted]:
        return [_count_block(*_window_hashes(*block)) for block in self._blocks(docs)]

    def _blocks(self, docs: list[str]) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, int, int, bool]]:
        """Blocks of ``(symbols, boundary, row, low, high, whole_short)``, whole texts each.

        A segment is a text (word and char analyzers) or a space-padded word (char_wb); a
        separator ends each segment and n-grams never cross one. Rows index ``docs``.
        """
        low, high = self.ngram_range
        stop = None
        if self.stop_words == "english":
            stop = ENGLISH_STOP_WORDS
        elif self.stop_words is not None:
            stop = frozenset(self.stop_words)
        pattern = re.compile(self.token_pattern)
        cues = None if self.negation_cues is None else frozenset(self.negation_cues)
        texts: list[Any] = []
        first = size = 0
        for row, doc in enumerate(docs):
            doc = self._preprocess(doc)
            if self.analyzer == "word":
                tokens = pattern.findall(doc) if cues is None else _negated_tokens(doc, pattern, cues)
                if stop is not None:  # a stop word goes, negated or not
                    tokens = [t for t in tokens if t.removeprefix(NEGATED) not in stop]
                tokens.append("")  # the separator's place
                texts.append(tokens)
            elif self.analyzer == "char":
                texts.append(_WHITE_SPACES.sub(" ", doc) + _SEPARATOR)
            else:
                words = _WHITE_SPACES.sub(" ", doc).split()
                texts.append(f" {f' {_SEPARATOR} '.join(words)} {_SEPARATOR}" if words else "")
            size += len(texts[-1])
            if size >= BLOCK_SYMBOLS:
                yield (*self._symbols(texts, first), low, high, self.analyzer == "char_wb")
                texts, first, size = [], row + 1, 0
        if texts:
            yield (*self._symbols(texts, first), low, high, self.analyzer == "char_wb")

    def _symbols(self, texts: list[Any], first: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Symbols, separator mask and row of each position, for ``texts`` from row ``first`` on."""
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        if self.analyzer == "word":
            tokens = np.asarray(list(chain.from_iterable(texts)), dtype=object)
            # a fixed-key hash of each token: the same in every process and after unpickling
            # (hashing the distinct tokens first pays off only on many tokens; same values)
            many = len(tokens) >= CATEGORIZE_TOKENS
            symbols = pd.util.hash_array(tokens, categorize=many) if len(tokens) else np.empty(0, np.uint64)
            boundary = np.zeros(len(symbols), dtype=bool)
            boundary[np.cumsum(lengths)[lengths > 0] - 1] = True
        else:
            code_points = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
            boundary = code_points == _SEPARATOR_CODE
            symbols = code_points.astype(np.uint64)
        position_row = np.repeat(np.arange(first, first + len(texts), dtype=np.int64), lengths)
        return symbols, boundary, position_row

    # -- counts to weights ----------------------------------------------------------------------

    def _assemble(self, blocks: list[_Counted], maps: list[np.ndarray], n_docs: int) -> sp.csr_matrix:
        """The documents' counts; ``maps[i]`` takes block i's n-gram ids to columns (-1: dropped).

        Entries come sorted by row, then by hash; columns follow hash order, so the matrix is
        built in CSR form directly, with sorted indices. Each block is released once copied.
        """
        nnz = sum(int(np.count_nonzero(m[b.ids] >= 0)) for b, m in zip(blocks, maps, strict=True))
        n_columns = len(self.vocabulary_hashes_)
        index = np.int32 if max(nnz, n_columns) < 2**31 else np.int64
        indices, data = np.empty(nnz, dtype=index), np.empty(nnz, dtype=self.dtype)
        per_row = np.zeros(n_docs, dtype=np.int64)
        at = 0
        while blocks:
            block, to_column = blocks.pop(0), maps.pop(0)
            column = to_column[block.ids]
            kept = column >= 0
            n = int(np.count_nonzero(kept))
            indices[at : at + n] = column[kept]
            data[at : at + n] = block.counts[kept]
            rows = block.rows[kept]
            if n:  # a block holds consecutive rows
                per_row[rows[0] : rows[-1] + 1] += np.bincount(rows - rows[0])
            at += n
        indptr = np.r_[0, np.cumsum(per_row)].astype(index)
        matrix = sp.csr_matrix((data, indices, indptr), shape=(n_docs, n_columns))
        matrix.has_sorted_indices = True
        return matrix

    def _csr(
        self, rows: list[np.ndarray], columns: list[np.ndarray], counts: list[np.ndarray], n_docs: int
    ) -> sp.csr_matrix:
        """The count matrix of (row, column, count) entries sorted by row, then column."""
        row = np.concatenate(rows) if rows else np.empty(0, np.int64)
        n_columns = len(self.vocabulary_hashes_)
        index = np.int32 if max(len(row), n_columns) < 2**31 else np.int64
        indptr = np.r_[0, np.cumsum(np.bincount(row, minlength=n_docs))].astype(index)
        column = np.concatenate(columns).astype(index) if columns else np.empty(0, index)
        data = np.concatenate(counts).astype(self.dtype) if counts else np.empty(0, self.dtype)
        matrix = sp.csr_matrix((data, column, indptr), shape=(n_docs, n_columns))
        matrix.has_sorted_indices = True
        return matrix

    def _weigh(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        X = counts
        if self.sublinear_tf:
            np.log(X.data, out=X.data)
            X.data += 1
        X.data *= self.idf_[X.indices]
        inplace_csr_row_normalize_l2(X)  # what normalize(X) runs, without its per-call checks
        return X


class _Counted:
    """One block's distinct n-grams (``hashes``) and its (row, n-gram id, count) entries."""

    __slots__ = ("counts", "hashes", "ids", "rows")

    def __init__(self, hashes: np.ndarray, ids: np.ndarray, rows: np.ndarray, counts: np.ndarray) -> None:
        self.hashes, self.ids, self.rows, self.counts = hashes, ids, rows, counts


def _count_block(rows: np.ndarray, hashes: np.ndarray) -> _Counted:
    """Count a block's (row, n-gram hash) pairs."""
    codes, distinct = pd.factorize(hashes)  # a hash table: linear time, unlike sorting
    order = np.argsort(distinct)  # ids in hash order, so each row's entries come out sorted
    ids = _inverse(order)[codes]
    # (row, id) pairs packed in one integer, so one sort counts them
    first_row = rows[0] if len(rows) else 0
    key = ((rows - first_row) << 32) | ids
    key.sort()
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.empty(0, np.int64)
    unique_keys = key[starts]
    counts = np.diff(np.r_[starts, len(key)])
    # 32 bits each: every block's entries are kept until the vocabulary is known
    return _Counted(
        distinct[order],
        (unique_keys & 0xFFFFFFFF).astype(np.int32),
        ((unique_keys >> 32) + first_row).astype(np.int32),
        counts.astype(np.int32),
    )


def _inverse(order: np.ndarray) -> np.ndarray:
    """The permutation undoing ``order``: position of each original index in sorted order."""
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return inverse


def _window_hashes(
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


def _as_list(raw_documents: Iterable[str]) -> list[str]:
    if isinstance(raw_documents, str):
        raise ValueError("Iterable over raw text documents expected, string object received.")
    docs = []
    for doc in raw_documents:
        if isinstance(doc, bytes):
            doc = doc.decode("utf-8")
        elif not isinstance(doc, str):
            raise ValueError(f"{doc!r} is an invalid document, expected byte or unicode string.")
        docs.append(doc)
    return docs
