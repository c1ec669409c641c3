"""A model bundle on disk: the fitted pipeline, its manifest and the search's leaderboard.

Layout of a bundle directory::

    model.joblib      the fitted scikit-learn pipeline
    manifest.json     classes, best parameters, scores, data fingerprint, versions, seed
    leaderboard.csv   every trial: parameters, score, duration, state
    report.md         a readable summary
    study.db          the Optuna study (SQLite; absent when another storage was used)
    cache/            what the trials share (out-of-fold scores); only --resume needs it
"""

from __future__ import annotations

import hashlib
import json
import math
import pickle
import platform
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from optuna.trial import TrialState

from textauto.budget import stopped_timings
from textauto.exceptions import BundleError

MODEL_FILE = "model.joblib"
MANIFEST_FILE = "manifest.json"
LEADERBOARD_FILE = "leaderboard.csv"
REPORT_FILE = "report.md"
STUDY_FILE = "study.db"
CACHE_DIR = "cache"
FORMAT_VERSION = 1
VERSIONED = (
    "textauto", "scikit-learn", "optuna", "spacy", "numpy", "scipy", "pandas", "joblib",
)  # fmt: skip


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def stop_note(trial: Any) -> str:
    """The note of a trial whose worker the supervisor stopped at its time limit, else ""."""
    if stopped_timings(trial) is None:
        return ""
    return f"stopped: over its time limit of {trial.user_attrs['limit']:.1f}s (its worker was stopped)"


def leaderboard(
    trials: Sequence[Any], direction: str, failure_notes: Mapping[int, str] | None = None
) -> pd.DataFrame:
    """One row per trial, best first: number, state, score, seconds, note, then parameters.

    ``failure_notes``: why the supervisor failed trials (``study.failure_notes``)."""
    failure_notes = failure_notes or {}
    rows = []
    for t in trials:
        if t.state == TrialState.WAITING:  # queued but never run (the budget ran out first)
            continue
        duration = (
            (t.datetime_complete - t.datetime_start).total_seconds()
            if t.datetime_complete and t.datetime_start
            else None
        )
        note = t.user_attrs.get("error") or t.user_attrs.get("stopped") or stop_note(t)
        if not note and t.state == TrialState.FAIL:
            note = failure_notes.get(t.number, "")
        rows.append(
            {
                "trial": t.number,
                "state": t.state.name.lower(),
                "score": t.value if t.state == TrialState.COMPLETE else None,
                "duration_s": round(duration, 3) if duration is not None else None,
                "portfolio": bool(t.user_attrs.get("portfolio", False)),
                "note": note,
                **{f"param.{k}": v for k, v in t.params.items()},
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    complete = frame["state"] == "complete"
    ranked = frame[complete].sort_values("score", ascending=direction == "minimize", kind="stable")
    return pd.concat([ranked, frame[~complete]], ignore_index=True)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# joblib's zlib level 3 packs a model's float arrays at about 55 MB/s of raw data (20newsgroups'
# ensemble: 513 MB in 9.2 s, 249 MB on disk); written uncompressed they take 1.4 s.
COMPRESSED_MB_PER_S = 50.0


def raw_megabytes(obj: Any) -> float:
    """The size of ``obj``'s pickle; its numpy arrays are counted, not copied (protocol 5)."""
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    return (len(head) + sum(b.raw().nbytes for b in buffers)) / 2**20


def save_bundle(
    out: Path,
    pipeline: Any,
    manifest: dict[str, Any],
    board: pd.DataFrame,
    report: str,
    seconds_left: float = math.inf,
) -> None:
    """Write the bundle; the model compressed unless that would take more than ``seconds_left``
    (the rest of the time budget: a large ensemble is written as it is, twice the size)."""
    out.mkdir(parents=True, exist_ok=True)
    compress = 3 if raw_megabytes(pipeline) / COMPRESSED_MB_PER_S <= seconds_left else 0
    joblib.dump(pipeline, out / MODEL_FILE, compress=compress)
    manifest = {**manifest, "format": FORMAT_VERSION, "bundle_sha256": file_sha256(out / MODEL_FILE)}
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, default=_json_default) + "\n")
    board.to_csv(out / LEADERBOARD_FILE, index=False)
    (out / REPORT_FILE).write_text(report)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class Model:
    """A loaded bundle: predicts like a fitted classifier and carries its manifest."""

    def __init__(self, pipeline: Any, manifest: dict[str, Any], path: Path) -> None:
        self.pipeline = pipeline
        self.manifest = manifest
        self.path = path

    @property
    def classes_(self) -> np.ndarray:
        return self.pipeline.classes_

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return self.pipeline.predict(np.asarray(list(texts), dtype=object))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.pipeline.predict_proba(np.asarray(list(texts), dtype=object))

    def predict_with_proba(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Labels (the most probable class) and the probability matrix, from one pass."""
        proba = self.predict_proba(texts)
        return self.classes_[proba.argmax(axis=1)], proba

    def __repr__(self) -> str:
        return f"Model(path={str(self.path)!r}, classes={list(self.classes_)!r})"


def check_bundle(path: str | Path) -> Path:
    """``path`` if it looks like a bundle (without loading it), else a ``BundleError``."""
    path = Path(path)
    if not path.is_dir():
        raise BundleError(f"{path}: no model bundle here (not a directory)")
    for name in (MODEL_FILE, MANIFEST_FILE):
        if not (path / name).is_file():
            raise BundleError(f"{path}: not a model bundle ({name} is missing)")
    return path


def load(path: str | Path) -> Model:
    """Load the bundle at ``path`` (a directory written by ``textauto train``)."""
    path = check_bundle(path)
    try:
        manifest = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BundleError(f"{path / MANIFEST_FILE}: unreadable manifest ({exc})") from exc
    try:
        pipeline = joblib.load(path / MODEL_FILE)
    except Exception as exc:  # unpickling can raise nearly anything for a damaged file
        raise BundleError(f"{path / MODEL_FILE}: cannot load the model ({exc})") from exc
    return Model(pipeline, manifest, path)
