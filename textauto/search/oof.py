"""Out-of-fold scores: what every completed trial leaves for the ensemble, shared by workers."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np


class OOFStore:
    """Out-of-fold scores per trial number, as ``.npy`` files shared by every worker of a run."""

    def __init__(self, directory: Path | None = None) -> None:
        self._tmp = None if directory is not None else tempfile.TemporaryDirectory(prefix="textauto-oof-")
        self.directory = Path(directory if directory is not None else self._tmp.name)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, number: int) -> Path:
        return self.directory / f"trial-{number}.npy"

    def save(self, number: int, scores: np.ndarray) -> None:
        tmp = self.directory / f".trial-{number}.{os.getpid()}.npy"
        np.save(tmp, scores.astype(np.float32))
        os.replace(tmp, self._path(number))  # readers never see half a file

    def load(self, number: int) -> np.ndarray | None:
        try:
            return np.load(self._path(number))
        except (OSError, ValueError):
            return None

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
