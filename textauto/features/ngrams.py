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
from collections.abc import Callable, Container, Iterable, Iterator
from itertools import chain
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, strip_accents_ascii, strip_accents_unicode
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2
from sklearn.utils.validation import check_is_fitted

from textauto.features.ngram_hashing import ORDERS, Counted, count_block, inverse, window_hashes

ANALYZERS = ("word", "char", "char_wb")
BLOCK_SYMBOLS = 1 << 20  # symbols hashed together: large enough for numpy, small enough for the cache
CATEGORIZE_TOKENS = 10_000
# Fewer n-grams than this are looked up by binary search: the hash table's per-call cost is more.
HASH_LOOKUP_NGRAMS = 512
_WHITE_SPACES = re.compile(r"\s\s+")  # as scikit-learn normalizes text before character n-grams
# Ends each segment: a lone surrogate, which is not valid text (lone surrogates in the input are
# read as U+FFFD first, so no text holds one).
_SEPARATOR = "\ud800"
_SEPARATOR_CODE = 0xD800
_SURROGATES = re.compile("[\ud800-\udfff]")
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


# auto_wrap_output_keys=None: no set_output wrapper around transform (whose output is sparse), as
# scikit-learn's own text vectorizers have none.
class NgramTfidf(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
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

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())  # a copy: the default state is the instance's own dict
        state.pop("_lookup", None)  # rebuilt from vocabulary_hashes_ on first use
        return state

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
        codes = inverse(order)[codes].astype(np.int32)
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
        entries = []
        for block in self._blocks(docs):  # whole texts each: a (row, column) pair is in one block
            row, hashes = window_hashes(*block)
            at = self._columns(hashes)
            known = at >= 0
            # (row, column) packed in one integer: one sort orders and counts them, as CSR wants
            key, count = np.unique((row[known] << 32) | at[known], return_counts=True)
            entries.append((key >> 32, key & 0xFFFFFFFF, count))
        return self._weigh(self._csr(entries, sum(len(e[0]) for e in entries), len(docs)))

    def _columns(self, hashes: np.ndarray) -> np.ndarray:
        """The column of each n-gram hash, -1 where it is not in the vocabulary."""
        vocabulary = self.vocabulary_hashes_
        if len(hashes) >= HASH_LOOKUP_NGRAMS:
            return self._vocabulary_lookup().get_indexer(hashes)
        at = np.minimum(np.searchsorted(vocabulary, hashes), len(vocabulary) - 1)
        return np.where(vocabulary[at] == hashes, at, -1)

    def _vocabulary_lookup(self) -> pd.Index:
        """The vocabulary as a hash table: six times faster to search than the sorted array."""
        vocabulary = self.vocabulary_hashes_
        built = self.__dict__.get("_lookup")
        if built is None or built[0] is not vocabulary:  # none yet, or fitted again since
            lookup = pd.Index(vocabulary, copy=False)
            lookup.get_indexer(vocabulary[:1])  # fills the table here, not while threads share it
            built = self._lookup = (vocabulary, lookup)
        return built[1]

    # -- parameters -----------------------------------------------------------------------------

    def _check_params(self) -> None:
        if self.analyzer not in ANALYZERS:
            raise ValueError(f"analyzer must be one of {ANALYZERS}, got {self.analyzer!r}")
        low, high = self.ngram_range
        if not 1 <= low <= high <= ORDERS:
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
        self, blocks: list[Counted], maps: list[np.ndarray], n_terms: int, n_docs: int
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

    def _counted(self, docs: list[str]) -> list[Counted]:
        return [count_block(*window_hashes(*block)) for block in self._blocks(docs)]

    def _blocks(self, docs: list[str]) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, int, int, bool]]:
        """Blocks of ``(symbols, boundary, row, low, high, whole_short)``, whole texts each.

        A segment is a text (word and char analyzers) or a space-padded word (char_wb); a
        separator ends each segment and n-grams never cross one. Rows index ``docs``.
        """
        low, high = self.ngram_range
        segment = self._segmenter()
        texts: list[Any] = []
        first = size = 0
        for row, doc in enumerate(docs):
            texts.append(segment(doc))
            size += len(texts[-1])
            if size >= BLOCK_SYMBOLS:
                yield (*self._symbols(texts, first), low, high, self.analyzer == "char_wb")
                texts, first, size = [], row + 1, 0
        if texts:
            yield (*self._symbols(texts, first), low, high, self.analyzer == "char_wb")

    def _segmenter(self) -> Callable[[str], Any]:
        """What turns a text into its segments: a token list ending in the separator's place
        (word analyzer), or a string whose segments each end in ``_SEPARATOR`` (char, char_wb)."""
        stop = None
        if self.stop_words == "english":
            stop = ENGLISH_STOP_WORDS
        elif self.stop_words is not None:
            stop = frozenset(self.stop_words)
        pattern = re.compile(self.token_pattern)
        cues = None if self.negation_cues is None else frozenset(self.negation_cues)

        def segment(doc: str) -> Any:
            doc = self._preprocess(doc)
            if self.analyzer == "word":
                tokens = pattern.findall(doc) if cues is None else _negated_tokens(doc, pattern, cues)
                if stop is not None:  # a stop word goes, negated or not
                    tokens = [t for t in tokens if t.removeprefix(NEGATED) not in stop]
                return [*tokens, ""]  # the separator's place
            if self.analyzer == "char":
                return _WHITE_SPACES.sub(" ", doc) + _SEPARATOR
            words = _WHITE_SPACES.sub(" ", doc).split()
            return f" {f' {_SEPARATOR} '.join(words)} {_SEPARATOR}" if words else ""

        return segment

    def terms(self, doc: str, columns: Container[int] | None = None) -> dict[int, str]:
        """The columns of ``doc``'s n-grams (those in ``columns``, or all), each with its n-gram as
        text (word n-grams joined by a space, as ``TfidfVectorizer`` names them): the names a
        hashed vocabulary does not keep."""
        check_is_fitted(self, "vocabulary_hashes_")
        text = self._segmenter()(doc)
        symbols, boundary, _ = self._symbols([text], 0)
        starts_segment = np.r_[True, boundary[:-1]]
        ends_segment = np.r_[boundary[1:], False]
        low, high = self.ngram_range
        positions = np.arange(len(symbols))
        out: dict[int, str] = {}
        for order in range(1, high + 1):
            starts, hashes = window_hashes(symbols, boundary, positions, order, order, False)
            if order < low:  # char_wb counts a segment shorter than ``low`` whole
                end = starts + order - 1
                whole = starts_segment[starts] & ends_segment[np.minimum(end, len(symbols) - 1)]
                keep = whole if self.analyzer == "char_wb" else np.zeros(len(starts), dtype=bool)
                starts, hashes = starts[keep], hashes[keep]
            for start, column in zip(starts.tolist(), self._columns(hashes).tolist(), strict=True):
                if column >= 0 and (columns is None or column in columns):
                    piece = text[start : start + order]
                    out.setdefault(column, " ".join(piece) if self.analyzer == "word" else piece)
        return out

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

    def _assemble(self, blocks: list[Counted], maps: list[np.ndarray], n_docs: int) -> sp.csr_matrix:
        """The documents' counts; ``maps[i]`` takes block i's n-gram ids to columns (-1: dropped).

        Entries come sorted by row, then by hash, and columns follow hash order. Each block is
        released once copied.
        """
        nnz = sum(int(np.count_nonzero(m[b.ids] >= 0)) for b, m in zip(blocks, maps, strict=True))

        def entries() -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
            while blocks:
                block, to_column = blocks.pop(0), maps.pop(0)
                column = to_column[block.ids]
                kept = column >= 0
                yield block.rows[kept], column[kept], block.counts[kept]

        return self._csr(entries(), nnz, n_docs)

    def _csr(
        self, entries: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]], nnz: int, n_docs: int
    ) -> sp.csr_matrix:
        """The count matrix of ``nnz`` (rows, columns, counts) entries sorted by row, then column."""
        n_columns = len(self.vocabulary_hashes_)
        index = np.int32 if max(nnz, n_columns) < 2**31 else np.int64
        indices, data = np.empty(nnz, dtype=index), np.empty(nnz, dtype=self.dtype)
        per_row = np.zeros(n_docs, dtype=np.int64)
        at = 0
        for rows, columns, counts in entries:
            indices[at : at + len(rows)] = columns
            data[at : at + len(rows)] = counts
            if len(rows):  # sorted, and a block holds consecutive rows
                per_row[rows[0] : rows[-1] + 1] += np.bincount(rows - rows[0])
            at += len(rows)
        indptr = np.zeros(n_docs + 1, dtype=index)
        np.cumsum(per_row, out=indptr[1:])
        matrix = sp.csr_matrix((data, indices, indptr), shape=(n_docs, n_columns))
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
