"""The disk layer of the spaCy parse cache: one SQLite file shared by every process of a run.

Parses are keyed by pipeline key and the SHA-256 of the text. A file that cannot be opened, read
or written is logged as a warning and switched off for the process: it never fails a run.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import astuple, fields
from pathlib import Path

from textauto.features.spacy_parse import Parse

log = logging.getLogger(__name__)

_FIELDS = tuple(f.name for f in fields(Parse))
_TABLE = "parses_v1"  # bump when to_parse changes what a parse holds
_LOOKUP_CHUNK = 500
_SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {_TABLE} (pipeline TEXT NOT NULL, text_sha256 BLOB NOT NULL, "
    + ", ".join(f"{name} TEXT NOT NULL" for name in _FIELDS)
    + ", PRIMARY KEY (pipeline, text_sha256))"
)
_INSERT = (
    f"INSERT OR IGNORE INTO {_TABLE} (pipeline, text_sha256, {', '.join(_FIELDS)}) "
    f"VALUES ({', '.join('?' * (len(_FIELDS) + 2))})"
)
# Seconds spaCy took, per batch written: the run's parsing time, summed over its processes.
_SECONDS_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS parse_seconds_v1 (pipeline TEXT NOT NULL, seconds REAL NOT NULL)"
)
_SELECT = f"SELECT text_sha256, {', '.join(_FIELDS)} FROM {_TABLE} WHERE pipeline = ? AND text_sha256 IN "

# Connections opened before a fork: the child must neither use nor close them (closing could
# checkpoint or delete the parent's WAL), so they are kept referenced here and never touched.
_INHERITED: list[sqlite3.Connection] = []


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class DiskCache:
    """One SQLite file shared by every process of a run; a connection per process, opened lazily."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._pid: int | None = None
        self._failed_pid: int | None = None

    def read(self, key: str, texts: Sequence[str]) -> dict[str, Parse]:
        conn = self._connection()
        if conn is None:
            return {}
        by_digest = {_digest(t): t for t in texts}
        digests = list(by_digest)
        found: dict[str, Parse] = {}
        try:
            for start in range(0, len(digests), _LOOKUP_CHUNK):
                chunk = digests[start : start + _LOOKUP_CHUNK]
                sql = f"{_SELECT}({', '.join('?' * len(chunk))})"
                for digest, *values in conn.execute(sql, (key, *chunk)):
                    found[by_digest[digest]] = Parse(*values)
        except sqlite3.Error as exc:
            self._fail("read", exc)
            return {}
        return found

    def write(self, key: str, parses: dict[str, Parse], seconds: float = 0.0) -> None:
        """Keep ``parses``, which spaCy took ``seconds`` to make."""
        conn = self._connection()
        if conn is None or not parses:
            return
        rows = ((key, _digest(text), *astuple(parse)) for text, parse in parses.items())
        try:
            conn.execute("BEGIN IMMEDIATE")  # take the write lock now, waiting up to the timeout
            try:
                conn.executemany(_INSERT, rows)
                conn.execute("INSERT INTO parse_seconds_v1 VALUES (?, ?)", (key, seconds))
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            self._fail("write", exc)

    def parse_seconds(self) -> float | None:
        """Seconds spaCy took for every parse written here, by any process; None if unreadable."""
        conn = self._connection()
        if conn is None:
            return None
        try:
            (total,) = conn.execute("SELECT COALESCE(SUM(seconds), 0) FROM parse_seconds_v1").fetchone()
        except sqlite3.Error as exc:
            self._fail("read", exc)
            return None
        return float(total)

    def close(self) -> None:
        """Close this process's connection; one inherited through a fork is left alone."""
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        elif self._conn is not None:
            _INHERITED.append(self._conn)
        self._conn = None
        self._pid = None

    def _connection(self) -> sqlite3.Connection | None:
        pid = os.getpid()
        if self._failed_pid == pid:
            return None
        if self._conn is not None and self._pid == pid:
            return self._conn
        if self._conn is not None:  # opened by the parent before a fork
            _INHERITED.append(self._conn)
            self._conn = None
        conn = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # autocommit (isolation_level=None): write() runs its own BEGIN IMMEDIATE
            # used by one thread at a time (under _DISK_LOCK), not always the one that opened it
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")  # no WAL on some network file systems: fine
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            conn.execute(_SECONDS_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            if conn is not None:
                conn.close()
            self._fail("open", exc)
            return None
        self._conn, self._pid = conn, pid
        return conn

    def _fail(self, action: str, exc: Exception) -> None:
        log.warning(
            "spaCy parse cache %s: cannot %s it (%s: %s); parsing in memory only in this process",
            self.path,
            action,
            type(exc).__name__,
            exc,
        )
        if self._conn is not None and self._pid == os.getpid():
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
        self._conn = None
        self._pid = None
        self._failed_pid = os.getpid()
