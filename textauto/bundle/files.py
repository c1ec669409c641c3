"""Crash-safe writing: a kill at any moment leaves the old complete set of files or the new one.

A bundle shares its directory with what the run keeps (the study, the cache), so it cannot be
swapped as a whole. Its files are written into a staging directory beside them; renaming that
directory to ``.commit`` is the commit point; the files then move into place one by one.
Readers take a file from ``.commit`` while it is there (``resolve``), so a save killed while
moving reads as the new bundle, and the next save finishes the move. A directory that is
written whole (a deploy directory) is built beside its target and renamed into place.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

COMMIT_DIR = ".commit"
STAGING_PREFIX = ".staging-"

Writer = Callable[[Path], None]


def resolve(directory: Path, name: str) -> Path:
    """Where the current version of ``name`` is: in a commit still moving into place, or here."""
    committed = directory / COMMIT_DIR / name
    return committed if committed.exists() else directory / name


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def finish_commit(directory: Path, stale: tuple[str, ...] = ()) -> None:
    """Move a committed set of files into place (the last save may have been killed doing it),
    remove the files in ``stale`` that the commit does not replace, and any leftover staging."""
    commit = directory / COMMIT_DIR
    if commit.is_dir():
        names = sorted(p.name for p in commit.iterdir())
        for name in stale:
            if name not in names:
                (directory / name).unlink(missing_ok=True)
        for name in names:
            os.replace(commit / name, directory / name)
        commit.rmdir()
        _fsync(directory)
    for leftover in directory.glob(STAGING_PREFIX + "*"):
        shutil.rmtree(leftover, ignore_errors=True)


def write_files(directory: Path, writers: Mapping[str, Writer], stale: tuple[str, ...] = ()) -> None:
    """Write each ``name`` by ``writers[name](path)`` and put them all in place at once.

    Any error (a full disk, a kill) before the commit leaves the directory as it was.
    """
    directory.mkdir(parents=True, exist_ok=True)
    finish_commit(directory, stale)
    staging = directory / f"{STAGING_PREFIX}{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    try:
        for name, write in writers.items():
            write(staging / name)
            _fsync(staging / name)
        _fsync(staging)
        os.rename(staging, directory / COMMIT_DIR)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finish_commit(directory, stale)


@contextlib.contextmanager
def new_directory(target: Path, replace: bool = False) -> Iterator[Path]:
    """A temporary directory beside ``target`` to fill; renamed to ``target`` on success.

    An existing ``target`` is swapped out atomically (``replace``) and then removed; on any
    error the temporary directory is removed and ``target`` is untouched.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
        if target.exists() and replace:
            _exchange(tmp, target)  # tmp now holds the old directory
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            os.rename(tmp, target)  # fails if target appeared meanwhile (not empty)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


RENAME_EXCHANGE = 2
AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> None:
    """Swap two directories in one step (Linux ``renameat2``); elsewhere in two renames."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is not None:
        if renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.ENOSYS, errno.EINVAL):
            raise OSError(code, os.strerror(code), str(b))
    aside = a.with_name(a.name + "-old")
    os.rename(b, aside)
    os.rename(a, b)
    os.rename(aside, a)
