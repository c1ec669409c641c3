"""Parse texts with spaCy once per run and keep the result for every later trial.

A parse is stored compactly as one string per token attribute, aligned by token position,
so long corpora stay affordable in memory. Pipelines are loaded lazily and held here, never
inside an estimator, so estimators stay cheap to clone and pickle.

Parses live in two layers. The memory layer is a per-process dict. The optional disk layer,
switched on with ``use_disk_cache(run_dir / "cache")`` (``spacy_disk_cache``), is one SQLite file
(``spacy-parses.sqlite``) keyed by pipeline key and the SHA-256 of the text, so forked trial
workers and a ``--resume`` of the same run reuse parses instead of recomputing them.
``parse_texts`` looks in memory, then on disk, and parses only what neither holds. A disk
cache that cannot be opened, read or written is logged as a warning and switched off for the
process; parsing then carries on in memory, so the cache never fails a run.

A service sees texts without end, so there the memory layer is a bounded LRU
(``bounded_parses``), and parsing is not serialized: up to ``pipelines`` threads parse at once,
each with a pipeline of its own, while cached texts are answered without waiting on them.
Every new word adds strings to a pipeline's vocabulary for good; a bounded pipeline keeps those
of the first texts it parses, up to ``vocabulary_strings`` (plus one batch's), so common words
are found rather than made anew for every request (that halves parse time), and parses later
texts in a memory zone that forgets their strings.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textauto.exceptions import ConfigError

if TYPE_CHECKING:
    from textauto.features.spacy_disk_cache import DiskCache

log = logging.getLogger(__name__)

_PIPELINES: dict[str, Any] = {}
_PARSES: dict[str, OrderedDict[str, Parse]] = {}
_DISK: DiskCache | None = None  # set by use_disk_cache
_CACHE_LOCK = threading.Lock()  # held for dictionary operations only, never while parsing
_DISK_LOCK = threading.Lock()  # one SQLite connection per process, used by one thread at a time
_POOLS: dict[str, _Pool] = {}
_MEMORY_TEXTS: int | None = None  # set by serve_parses; None: keep every parse (a search)
_POOL_SIZE = 1  # a search: threads refitting members wait and find each other's parses
_VOCABULARY_STRINGS = 0  # set by bounded_parses: strings a bounded pipeline may keep
BATCH_SIZE = 256
_PARSE_SECONDS = [0.0]  # this process's, for when there is no disk layer
DISK_CACHE_FILE = "spacy-parses.sqlite"


@dataclass(frozen=True, slots=True)
class Parse:
    """Token attributes of one text; each field is space-separated, one item per token."""

    lower: str
    lemma: str
    kind: str  # one char per token: n(umber) u(rl) e(mail) s(top word) or -
    shape: str
    pos: str
    ent: str

    def tokens(self) -> Iterable[tuple[str, str, str, str, str, str]]:
        return zip(
            self.lower.split(),
            self.lemma.split(),
            self.kind,
            self.shape.split(),
            self.pos.split(),
            self.ent.split(),
            strict=True,
        )


def pipeline_key(lang: str, model: str | None) -> str:
    return model if model else f"blank:{lang}"


def load_pipeline(lang: str, model: str | None) -> Any:
    """The shared spaCy pipeline for a key: a trained one by name, else blank + lookup lemmatizer."""
    key = pipeline_key(lang, model)
    if key not in _PIPELINES:
        _PIPELINES[key] = _load(lang, model)
    return _PIPELINES[key]


def _load(lang: str, model: str | None) -> Any:
    import spacy

    if not model:
        return blank_pipeline(lang)
    try:
        return spacy.load(model, exclude=["parser"])
    except OSError as exc:
        raise ConfigError(
            f"space.spacy_model: cannot load spaCy pipeline {model!r} ({exc}); "
            f"install it with `python -m spacy download {model}`"
        ) from exc


def blank_pipeline(lang: str) -> Any:
    import spacy

    try:
        nlp = spacy.blank(lang)
    except ImportError as exc:
        raise ConfigError(f"lang: spaCy has no language {lang!r}") from exc
    try:
        nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        nlp.initialize()
    except Exception as exc:  # spacy-lookups-data has no table for this language
        nlp.remove_pipe("lemmatizer")
        warnings.warn(
            f"no lookup lemmatizer for language {lang!r} ({exc}); lemmas fall back to lower case",
            stacklevel=2,
        )
    return nlp


def _clean(text: str) -> str:
    return "_".join(text.split()) or "_"


def _kind(token: Any) -> str:
    if token.like_email:
        return "e"
    if token.like_url:
        return "u"
    if token.like_num:
        return "n"
    if token.is_stop:
        return "s"
    return "-"


def to_parse(doc: Any) -> Parse:
    tokens = [t for t in doc if not t.is_space]
    return Parse(
        lower=" ".join(_clean(t.lower_) for t in tokens),
        lemma=" ".join(_clean((t.lemma_ or t.text).lower()) for t in tokens),
        kind="".join(_kind(t) for t in tokens),
        shape=" ".join(_clean(t.shape_) for t in tokens),
        pos=" ".join(t.pos_ or "X" for t in tokens),
        ent=" ".join(t.ent_type_ or "-" for t in tokens),
    )


class _Pool:
    """Pipelines for one key, lent to one thread at a time; more are loaded up to ``size``."""

    def __init__(self, lang: str, model: str | None, size: int) -> None:
        self.lang, self.model, self.size = lang, model, size
        self.idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self.loaded = 0
        self.lock = threading.Lock()
        self.base: dict[int, int] = {}  # strings in each pipeline's vocabulary when first lent

    @contextlib.contextmanager
    def borrow(self) -> Iterator[Any]:
        with self.lock:
            grow = self.idle.empty() and self.loaded < self.size
            self.loaded += grow
        if grow:  # the first is the shared one; more are copies of it for other threads
            nlp = load_pipeline(self.lang, self.model) if self.loaded == 1 else _load(self.lang, self.model)
            self.base[id(nlp)] = len(nlp.vocab.strings)
        else:
            nlp = self.idle.get()
        try:
            yield nlp
        finally:
            self.idle.put(nlp)

    def keeps_strings(self, nlp: Any) -> bool:
        """Whether strings that ``nlp`` parses now stay in its vocabulary (unbounded, or room left)."""
        grown = len(nlp.vocab.strings) - self.base[id(nlp)]
        return _MEMORY_TEXTS is None or grown < _VOCABULARY_STRINGS


def _pool(lang: str, model: str | None) -> _Pool:
    key = pipeline_key(lang, model)
    with _CACHE_LOCK:
        if key not in _POOLS:
            _POOLS[key] = _Pool(lang, model, _POOL_SIZE)
        return _POOLS[key]


@contextlib.contextmanager
def bounded_parses(max_texts: int, pipelines: int, vocabulary_strings: int = 0) -> Iterator[None]:
    """Within the block, keep the ``max_texts`` most recently used parses per pipeline in memory,
    let up to ``pipelines`` threads parse at once (each with its own copy of the pipeline), and
    let each pipeline's vocabulary grow by about ``vocabulary_strings`` strings at most."""
    if max_texts < 0 or pipelines < 1 or vocabulary_strings < 0:
        raise ValueError(
            "bounded_parses: max_texts and vocabulary_strings must be >= 0 and pipelines >= 1, "
            f"got {max_texts}, {vocabulary_strings} and {pipelines}"
        )
    before = _MEMORY_TEXTS, _POOL_SIZE, _VOCABULARY_STRINGS
    _configure(max_texts, pipelines, vocabulary_strings)
    try:
        yield
    finally:
        _configure(*before)


def _configure(max_texts: int | None, pipelines: int, vocabulary_strings: int) -> None:
    global _MEMORY_TEXTS, _POOL_SIZE, _VOCABULARY_STRINGS
    with _CACHE_LOCK:
        _MEMORY_TEXTS, _POOL_SIZE, _VOCABULARY_STRINGS = max_texts, pipelines, vocabulary_strings
        _POOLS.clear()
        for cache in _PARSES.values():
            _trim(cache)


def _trim(cache: OrderedDict[str, Parse]) -> None:
    while _MEMORY_TEXTS is not None and len(cache) > _MEMORY_TEXTS:
        cache.popitem(last=False)


def _recall(key: str, texts: Sequence[str]) -> dict[str, Parse]:
    """The parses the memory layer holds for ``texts`` (marked as recently used)."""
    with _CACHE_LOCK:
        cache = _PARSES.setdefault(key, OrderedDict())
        found = {t: cache[t] for t in texts if t in cache}
        if _MEMORY_TEXTS is not None:
            for t in found:
                cache.move_to_end(t)
        return found


def _remember(key: str, parses: dict[str, Parse]) -> None:
    with _CACHE_LOCK:
        cache = _PARSES.setdefault(key, OrderedDict())
        cache.update(parses)
        _trim(cache)


def parse_texts(texts: Sequence[str], lang: str, model: str | None) -> list[Parse]:
    """Parses of ``texts``, in order; each distinct text is parsed once per process (while the
    memory layer holds it).

    With the disk layer on (``use_disk_cache``), once per run: texts missing from memory are
    looked up on disk first, and new parses are written there in one transaction.
    """
    key = pipeline_key(lang, model)
    found = _recall(key, texts)
    missing = list(dict.fromkeys(t for t in texts if t not in found))
    if missing:
        pool = _pool(lang, model)
        with pool.borrow() as nlp:
            found.update(_recall(key, missing))  # parsed by another thread meanwhile
            missing = [t for t in missing if t not in found]
            found.update(_parse_missing(key, nlp, missing, keep_strings=pool.keeps_strings(nlp)))
    return [found[t] for t in texts]


def _parse_missing(key: str, nlp: Any, missing: list[str], keep_strings: bool) -> dict[str, Parse]:
    """Parses of ``missing``, from the disk layer or spaCy, remembered in both layers."""
    disk = _DISK
    new: dict[str, Parse] = {}
    if missing and disk is not None:
        with _DISK_LOCK:
            new = disk.read(key, missing)
        if new:
            log.debug("spaCy %s: read %d parses from %s", key, len(new), disk.path)
            missing = [t for t in missing if t not in new]
    if missing:
        log.debug("spaCy %s: parsing %d new texts", key, len(missing))
        # A memory zone forgets the strings these texts add to the vocabulary, which otherwise
        # grows with every new word or number served.
        zone = contextlib.nullcontext() if keep_strings else nlp.memory_zone()
        started = time.perf_counter()
        with zone:
            parsed = {
                text: to_parse(doc)
                for text, doc in zip(missing, nlp.pipe(missing, batch_size=BATCH_SIZE), strict=True)
            }
        seconds = time.perf_counter() - started
        _PARSE_SECONDS[0] += seconds
        if disk is not None:
            with _DISK_LOCK:
                disk.write(key, parsed, seconds)
        new.update(parsed)
    _remember(key, new)
    return new


def parse_seconds() -> float:
    """Seconds spaCy has spent parsing: every process of the run's, from the disk layer when it
    is on (and readable), else this process's."""
    disk = _DISK
    total = None
    if disk is not None:
        with _DISK_LOCK:
            total = disk.parse_seconds()
    return _PARSE_SECONDS[0] if total is None else total


def cached_count(lang: str, model: str | None) -> int:
    """How many distinct texts this process holds parses for in memory (for tests and reports)."""
    return len(_PARSES.get(pipeline_key(lang, model), {}))


def clear_cache() -> None:
    """Forget the parses held in memory; the disk cache, if on, is left as it is."""
    with _CACHE_LOCK:
        _PARSES.clear()


def use_disk_cache(directory: Path | None) -> None:
    """Keep parses in ``directory / DISK_CACHE_FILE`` from now on, or only in memory with None.

    Nothing is opened here: the directory and database are created on first use, by each
    process that needs them. Processes forked later inherit the setting.
    """
    global _DISK
    if _DISK is not None:
        _DISK.close()
    from textauto.features.spacy_disk_cache import DiskCache

    _DISK = None if directory is None else DiskCache(Path(directory) / DISK_CACHE_FILE)
