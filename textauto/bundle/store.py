"""Saving and loading a bundle: every file's SHA-256 in the manifest, checked before anything is read."""

from __future__ import annotations

import hashlib
import json
import math
import pickle
import platform
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from textauto.bundle.files import resolve, write_files
from textauto.bundle.model_file import MODEL_FILE, UntrustedTypes, build_model, dump_model, untrusted_types
from textauto.exceptions import BundleError
from textauto.inference import predict_proba, share_equal_featurizers

MANIFEST_FILE = "manifest.json"
LEADERBOARD_FILE = "leaderboard.csv"
REPORT_FILE = "report.md"
# Not hashed: views of the manifest and leaderboard, which `textauto report` rebuilds at will.
REPORT_HTML_FILE = "report.html"
REPORT_PNG_FILE = "report.png"  # a screenshot of report.html: `textauto report --screenshot`
MODEL_CARD_FILE = "MODEL_CARD.md"
STUDY_FILE = "study.db"
CACHE_DIR = "cache"
LEGACY_MODEL_FILE = "model.joblib"  # a pickle: bundles of format 1
FORMAT_VERSION = 2
VERSIONED = (
    "textauto", "scikit-learn", "optuna", "spacy", "numpy", "scipy", "pandas", "skops", "lightgbm",
)  # fmt: skip


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# A zip's deflate at level 3 packs a model's float arrays at about 50 MB/s of raw data; written
# stored (uncompressed) they take a fraction of that.
COMPRESSED_MB_PER_S = 50.0


def raw_megabytes(obj: Any) -> float:
    """The size of ``obj``'s pickle; its numpy arrays are counted, not copied (protocol 5)."""
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    return (len(head) + sum(b.raw().nbytes for b in buffers)) / 2**20


def _text_writer(text: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(text, "utf-8")


class _Written:
    """The manifest as a bundle's files are written: the hashed files' hashes, and, fixed when
    first read (after those files), the time saving took."""

    def __init__(self, manifest: dict[str, Any], run_started: float | None) -> None:
        self.manifest, self.run_started = manifest, run_started
        self.started = time.monotonic()
        self.hashes: dict[str, str] = {}
        self.final: dict[str, Any] = {}

    def hashed(self, name: str, write: Callable[[Path], Any]) -> Callable[[Path], None]:
        def writer(path: Path) -> None:
            write(path)
            self.hashes[name] = file_sha256(path)

        return writer

    def complete(self) -> dict[str, Any]:
        if not self.final:
            self.final.update(self.manifest, format=FORMAT_VERSION)
            if self.run_started is not None:  # a run's bundle (not one converted)
                now = time.monotonic()
                timings = dict(self.manifest.get("timings") or {})
                timings["saving_s"] = round(now - self.started, 2)
                timings["total_s"] = round(now - self.run_started, 2)
                self.final["timings"] = timings
            self.final.update(bundle_sha256=self.hashes[MODEL_FILE], files=dict(sorted(self.hashes.items())))
        return self.final


def save_bundle(
    out: Path,
    pipeline: Any,
    manifest: dict[str, Any],
    board: pd.DataFrame,
    report: str,
    seconds_left: float = math.inf,
    pages: dict[str, Callable[[dict[str, Any]], str]] | None = None,
    run_started: float | None = None,
) -> dict[str, Any]:
    """Write the bundle in one step (``files.write_files``); the model compressed unless that would
    take more than ``seconds_left`` (the rest of the time budget: a large ensemble is written as
    it is, twice the size). A full disk is a ``BundleError`` and leaves ``out`` as it was.

    ``pages`` (unhashed) are rendered from the manifest as written, once the hashed files are:
    given ``run_started`` (the run's ``time.monotonic()``), its ``timings`` then hold
    ``saving_s`` and the run's ``total_s``. Returns that manifest."""
    written = _Written(manifest, run_started)
    compress = raw_megabytes(pipeline) / COMPRESSED_MB_PER_S <= seconds_left

    def page(render: Callable[[dict[str, Any]], str]) -> Callable[[Path], None]:
        return lambda path: path.write_text(render(written.complete()), "utf-8")

    def write_manifest(path: Path) -> None:
        path.write_text(json.dumps(written.complete(), indent=2, default=_json_default) + "\n")

    writers = {
        MODEL_FILE: written.hashed(MODEL_FILE, lambda p: dump_model(pipeline, p, compress)),
        LEADERBOARD_FILE: written.hashed(LEADERBOARD_FILE, lambda p: board.to_csv(p, index=False)),
        REPORT_FILE: written.hashed(REPORT_FILE, _text_writer(report)),
        **{name: page(render) for name, render in (pages or {}).items()},  # not hashed
        MANIFEST_FILE: write_manifest,  # last: it lists the others' hashes
    }
    try:
        write_files(out, writers, stale=(LEGACY_MODEL_FILE,))
    except OSError as exc:
        raise BundleError(
            f"{out}: could not write the model bundle ({exc.strerror or exc}); "
            "nothing was changed there, the previous bundle (if any) is intact"
        ) from exc
    return written.complete()


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
        """The most probable class of each text (``textauto.inference``'s lean path)."""
        return self.predict_with_proba(texts)[0]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return predict_proba(self.pipeline, np.asarray(list(texts), dtype=object))

    def predict_with_proba(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Labels (the most probable class) and the probability matrix, from one pass."""
        proba = self.predict_proba(texts)
        return self.classes_[proba.argmax(axis=1)], proba

    def __repr__(self) -> str:
        return f"Model(path={str(self.path)!r}, classes={list(self.classes_)!r})"


def check_bundle(path: str | Path) -> Path:
    """``path`` if it looks like a bundle (without reading it), else a ``BundleError``."""
    path = Path(path)
    if not path.is_dir():
        raise BundleError(f"{path}: no model bundle here (not a directory)")
    if not resolve(path, MANIFEST_FILE).is_file():
        raise BundleError(f"{path}: not a model bundle ({MANIFEST_FILE} is missing)")
    return path


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of the bundle at ``path``, refused unless it is of this format."""
    source = resolve(check_bundle(path), MANIFEST_FILE)
    try:
        manifest = json.loads(source.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BundleError(f"{source}: unreadable manifest ({exc})") from exc
    if not isinstance(manifest, dict):
        raise BundleError(f"{source}: unreadable manifest (not a JSON object)")
    if manifest.get("format", 1) < FORMAT_VERSION and (path / LEGACY_MODEL_FILE).exists():
        raise BundleError(
            f"{path}: saved by an older textauto as a pickle ({LEGACY_MODEL_FILE}), which can run "
            f"any code when loaded, so it is not loaded. If you trust where it came from, convert it "
            f"once: textauto convert {path} NEW_DIR --trust-pickle"
        )
    files = manifest.get("files")
    if manifest.get("format") != FORMAT_VERSION or not isinstance(files, dict) or MODEL_FILE not in files:
        raise BundleError(
            f"{source}: not a bundle of format {FORMAT_VERSION} (no file list with {MODEL_FILE})"
        )
    return manifest


def verified_files(path: Path, manifest: dict[str, Any]) -> dict[str, bytes]:
    """Every file the manifest lists, read and checked against its SHA-256, by name."""
    contents = {}
    for name, expected in manifest["files"].items():
        if Path(name).name != name:
            raise BundleError(f"{path}: the manifest lists {name!r}, which is not a file of the bundle")
        source = resolve(path, name)
        try:
            data = source.read_bytes()
        except FileNotFoundError:
            raise BundleError(f"{path}: {name} is missing (the manifest lists it)") from None
        if sha256_bytes(data) != expected:
            raise BundleError(
                f"{source}: its SHA-256 differs from the manifest's; the bundle was changed "
                "after it was saved, so it is not loaded"
            )
        contents[name] = data
    return contents


def spacy_pipeline(manifest: dict[str, Any]) -> str | None:
    """The trained spaCy pipeline the bundle's model parses with (``space.spacy_model``), if any."""
    return ((manifest.get("config") or {}).get("space") or {}).get("spacy_model") or None


def verify(path: str | Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The bundle's manifest and files, every file checked against its hash and the model's types
    against the allowlist, without building anything from them."""
    path = Path(path)
    manifest = read_manifest(path)
    files = verified_files(path, manifest)
    refuse_untrusted(files[MODEL_FILE], resolve(path, MODEL_FILE))
    return manifest, files


def refuse_untrusted(data: bytes, source: Path) -> None:
    refused = untrusted_types(data, source)
    if refused:
        raise BundleError(
            f"{source}: refused to load: it holds types textauto does not trust ({', '.join(refused)})"
        )


def load(path: str | Path) -> Model:
    """Load the bundle at ``path``: every listed file is checked before the model is read.

    skops audits the model's types once, as it builds it (a separate audit first, as ``verify``
    makes, doubled the load time of models with large vocabularies)."""
    path = Path(path)
    manifest = read_manifest(path)
    files = verified_files(path, manifest)
    source = resolve(path, MODEL_FILE)
    try:
        model = build_model(files[MODEL_FILE], source)
    except UntrustedTypes:
        refuse_untrusted(files[MODEL_FILE], source)  # names them
        raise
    share_equal_featurizers(model)
    return Model(model, manifest, path)
