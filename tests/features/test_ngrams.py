"""NgramTfidf gives TfidfVectorizer's features, faster; and fails as clearly."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer

from textauto.features import ngrams
from textauto.features.ngrams import NgramTfidf

DATA = Path(__file__).resolve().parents[2] / "data"
EDGE_TEXTS = [
    "",
    "   ",
    "a",
    "I am",
    "Crème brûlée à la café, naïve façade",
    "emoji 😀😀 and RTL שלום עולם",
    "tabs\tand\nnew\n\nlines   and  spaces",
    "a NUL\x00inside",
    "x y z x y z x y z",
    "ÉCOLE école Ecole",
]


@pytest.fixture(scope="module")
def corpus() -> tuple[list[str], list[str]]:
    train = pd.read_csv(DATA / "train.csv")["text"].tolist() + EDGE_TEXTS
    test = pd.read_csv(DATA / "test.csv")["text"].tolist() + EDGE_TEXTS[::-1]
    return train, test


def same_features(ours, theirs) -> None:
    """Equal up to the order of columns: same shape, same non-zeros, same inner products."""
    assert ours.shape == theirs.shape
    assert ours.nnz == theirs.nnz
    assert ours.dtype == theirs.dtype
    np.testing.assert_allclose((ours @ ours.T).toarray(), (theirs @ theirs.T).toarray(), atol=1e-5)
    np.testing.assert_allclose(np.sort(ours.data), np.sort(theirs.data), atol=1e-6)


OPTIONS = [
    {"analyzer": "word", "ngram_range": (1, 1)},
    {"analyzer": "word", "ngram_range": (1, 3), "token_pattern": r"(?u)\b\w+\b", "sublinear_tf": True},
    {"analyzer": "word", "ngram_range": (2, 2), "min_df": 2, "max_df": 0.5},
    {"analyzer": "word", "ngram_range": (1, 2), "stop_words": ["the", "a", "my", "i"], "lowercase": False},
    {"analyzer": "word", "strip_accents": "unicode", "min_df": 0.01},
    {"analyzer": "word", "strip_accents": "ascii", "max_df": 20},
    {"analyzer": "char", "ngram_range": (1, 5), "sublinear_tf": True},
    {"analyzer": "char", "ngram_range": (3, 6), "min_df": 2, "lowercase": False},
    {"analyzer": "char_wb", "ngram_range": (2, 5)},
    {"analyzer": "char_wb", "ngram_range": (4, 6), "sublinear_tf": True},  # words shorter than 4
    {"analyzer": "char_wb", "ngram_range": (1, 3), "strip_accents": "unicode"},
]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_same_features_as_tfidf_vectorizer(corpus, options):
    train, test = corpus
    ours, theirs = NgramTfidf(**options), TfidfVectorizer(dtype=np.float32, **options)
    same_features(ours.fit_transform(train), theirs.fit_transform(train))
    assert len(ours.vocabulary_hashes_) == len(theirs.vocabulary_)
    same_features(ours.transform(test), theirs.transform(test))
    np.testing.assert_allclose(np.sort(ours.idf_), np.sort(theirs.idf_), rtol=1e-6)


def test_fit_then_transform_equals_fit_transform(corpus):
    train, _ = corpus
    est = NgramTfidf(analyzer="char_wb", ngram_range=(2, 4))
    once = est.fit_transform(train).toarray()
    np.testing.assert_array_equal(once, est.fit(train).transform(train).toarray())


@pytest.mark.parametrize("analyzer", ["word", "char", "char_wb"])
def test_blocks_do_not_change_the_features(corpus, analyzer, monkeypatch):
    """Texts are hashed in blocks; many small blocks give the one-block matrix exactly."""
    train, test = corpus
    whole = NgramTfidf(analyzer=analyzer, ngram_range=(1, 3)).fit(train)
    monkeypatch.setattr(ngrams, "BLOCK_SYMBOLS", 64)
    blocked = NgramTfidf(analyzer=analyzer, ngram_range=(1, 3)).fit(train)
    np.testing.assert_array_equal(whole.vocabulary_hashes_, blocked.vocabulary_hashes_)
    np.testing.assert_array_equal(whole.transform(test).toarray(), blocked.transform(test).toarray())


def test_rows_have_sorted_indices_and_unit_length(corpus):
    X = NgramTfidf(analyzer="char", ngram_range=(1, 4)).fit_transform(corpus[0])
    check = X.copy()
    check.has_sorted_indices = False
    check.sort_indices()
    np.testing.assert_array_equal(check.indices, X.indices)
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    nonempty = np.diff(X.indptr) > 0
    np.testing.assert_allclose(norms[nonempty], 1.0, rtol=1e-5)


def test_max_features_keeps_the_most_frequent(corpus):
    train, _ = corpus
    full = NgramTfidf(analyzer="word", ngram_range=(1, 2))
    full.fit(train)
    counts = NgramTfidf(analyzer="word", ngram_range=(1, 2), max_features=50)
    X = counts.fit_transform(train)
    assert X.shape[1] == 50
    assert set(counts.vocabulary_hashes_) <= set(full.vocabulary_hashes_)
    # the 50 kept have term counts at least those of every dropped n-gram
    theirs = TfidfVectorizer(ngram_range=(1, 2), use_idf=False, norm=None)
    totals = np.sort(np.asarray(theirs.fit_transform(train).sum(axis=0)).ravel())[::-1]
    kept_min = totals[49]
    assert (totals[50:] <= kept_min).all()


def test_unseen_text_gives_an_empty_row(corpus):
    est = NgramTfidf(analyzer="word").fit(corpus[0])
    X = est.transform(["qqqzzz xxyyqq"])
    assert X.shape == (1, len(est.vocabulary_hashes_)) and X.nnz == 0


def test_same_features_in_another_process(corpus, tmp_path):
    """Tokens hash with a fixed key: a model unpickled under another PYTHONHASHSEED agrees."""
    train, test = corpus
    est = NgramTfidf(analyzer="word", ngram_range=(1, 2)).fit(train)
    (tmp_path / "m.pkl").write_bytes(pickle.dumps((est, test)))
    np.save(tmp_path / "here.npy", est.transform(test).toarray())
    code = (
        "import pickle, sys, numpy as np; est, test = pickle.load(open(sys.argv[1], 'rb'));"
        "np.save(sys.argv[2], est.transform(test).toarray())"
    )
    env = {"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"}
    args = [sys.executable, "-c", code, tmp_path / "m.pkl", tmp_path / "there.npy"]
    subprocess.run(args, env=env, check=True)
    np.testing.assert_array_equal(np.load(tmp_path / "here.npy"), np.load(tmp_path / "there.npy"))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"analyzer": "words"}, "analyzer must be one of"),
        ({"ngram_range": (3, 2)}, "ngram_range must be"),
        ({"ngram_range": (0, 2)}, "ngram_range must be"),
        ({"strip_accents": "latin"}, "strip_accents must be"),
        ({"max_features": 0}, "max_features must be a positive integer"),
        ({"min_df": 5, "max_df": 2}, "max_df corresponds to < documents than min_df"),
        ({"min_df": 3, "ngram_range": (3, 3)}, "empty vocabulary"),
        ({"stop_words": ["the", "a", "of"]}, "empty vocabulary"),
        ({"analyzer": "char", "negation_cues": ["not"]}, "negation_cues must be a collection of words"),
        ({"negation_cues": "not"}, "negation_cues must be a collection of words"),
    ],
)
def test_bad_options_and_empty_vocabularies_fail_clearly(options, message):
    with pytest.raises(ValueError, match=message):
        NgramTfidf(**options).fit(["the a of", "of the a", "a the"])


def test_a_single_string_is_refused():
    with pytest.raises(ValueError, match="string object received"):
        NgramTfidf().fit("one text, not a list")


def test_transform_before_fit():
    with pytest.raises(NotFittedError):
        NgramTfidf().transform(["text"])


def test_the_hash_scheme_never_changes():
    """A saved model's vocabulary is these hashes: a change would silently zero every row."""
    chars = NgramTfidf(analyzer="char", ngram_range=(1, 2)).fit(["ab"])
    assert chars.vocabulary_hashes_.tolist() == [
        7231983405321048729,
        10451216379200822432,
        10451216379200822435,
    ]
    words = NgramTfidf(analyzer="word", ngram_range=(1, 2)).fit(["hello world"])
    assert words.vocabulary_hashes_.tolist() == [
        8736823259589114974,
        16504561939602202388,
        18392322187329733646,
    ]


def test_documents_as_scikit_learn_reads_them():
    ours = NgramTfidf(stop_words="english").fit_transform([b"the caf\xc3\xa9 is open", "a quiet library"])
    theirs = TfidfVectorizer(stop_words="english", dtype=np.float32).fit_transform(
        ["the café is open", "a quiet library"]
    )
    same_features(ours, theirs)
    with pytest.raises(ValueError, match="nan is an invalid document"):
        NgramTfidf().fit(["fine", float("nan")])
    with pytest.raises(ValueError, match="empty vocabulary"):
        NgramTfidf().fit([])


@pytest.mark.parametrize("analyzer", ["word", "char", "char_wb"])
def test_lone_surrogates_are_read_as_replacement_characters(analyzer):
    """Invalid text (a lone surrogate, as JSON can hold) neither crashes nor splits a text."""
    est = NgramTfidf(analyzer=analyzer, ngram_range=(1, 3), token_pattern=r"\S+")
    X = est.fit_transform(["ab\ud800cd ef", "ab\ufffdcd ef"])
    np.testing.assert_allclose(X[0].toarray(), X[1].toarray())


@pytest.mark.parametrize("options", [{"min_df": -1}, {"max_df": 1.5}, {"min_df": -0.1}])
def test_document_frequencies_must_be_counts_or_shares(options):
    with pytest.raises(ValueError, match="must be a count >= 0 or a share in"):
        NgramTfidf(**options).fit(["some text"])


def test_negation_marks_the_rest_of_the_clause():
    """After a cue, "good" is another feature than "good", up to the clause's end."""
    vectorizer = NgramTfidf(negation_cues=["not", "never"]).fit(
        ["this is not good, but fine. good", "never bad"]
    )
    assert vectorizer.transform(["not good"]).nnz == 2  # "not" and the "good" seen after it
    assert vectorizer.transform(["not fine"]).nnz == 1  # "fine" was seen after the comma only
    assert vectorizer.transform(["fine"]).nnz == 1
    assert vectorizer.transform(["bad"]).nnz == 0  # seen only after "never"
    assert (vectorizer.transform(["good"]) @ vectorizer.transform(["not good"]).T).sum() == 0
    assert NgramTfidf().fit(["not bad"]).transform(["bad"]).nnz == 1


def test_negated_stop_words_are_still_stop_words():
    vectorizer = NgramTfidf(negation_cues=["not"], stop_words=["the", "not"]).fit(["not the end"])
    assert vectorizer.transform(["not the"]).nnz == 0
    assert vectorizer.transform(["end"]).nnz == 0
    assert vectorizer.transform(["not end"]).nnz == 1


def test_negation_cues_are_matched_after_lowercasing():
    def vocabulary_size(**options) -> int:
        return len(NgramTfidf(**options).fit(["NOT good", "good"]).vocabulary_hashes_)

    assert vocabulary_size(negation_cues=["not"]) == 3  # not, good, ¬good
    assert vocabulary_size(negation_cues=["not"], lowercase=False) == 2  # NOT, good
    assert vocabulary_size(negation_cues=["NOT"], lowercase=False) == 3


def test_a_model_pickled_before_negation_marking_still_transforms(corpus):
    train, test = corpus
    vectorizer = NgramTfidf(ngram_range=(1, 2)).fit(train)
    older = pickle.loads(pickle.dumps(vectorizer))
    state = older.__getstate__()
    del state["negation_cues"]
    older.__setstate__(state)
    same_features(older.transform(test), vectorizer.transform(test))


def test_a_vectorizer_in_use_transforms_alike_once_pickled_and_follows_a_refit(corpus):
    train, test = corpus
    vectorizer = NgramTfidf(analyzer="char", ngram_range=(1, 3)).fit(train)
    before = vectorizer.transform(test)
    assert (pickle.loads(pickle.dumps(vectorizer)).transform(test) != before).nnz == 0
    vectorizer.fit(test)  # a vocabulary of its own: columns follow it, not the first fit's
    fresh = NgramTfidf(analyzer="char", ngram_range=(1, 3)).fit(test)
    assert (vectorizer.transform(train) != fresh.transform(train)).nnz == 0
