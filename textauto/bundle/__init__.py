"""Model bundles on disk: the fitted model, its manifest, the leaderboard and the report.

Layout of a bundle directory::

    model.skops       the fitted model (skops.io: data and type names, no code)
    manifest.json     classes, best parameters, scores, data fingerprint, versions, seed,
                      and the SHA-256 of every other file, checked before anything is read
    leaderboard.csv   every trial: parameters, score, duration, state
    report.md         a readable summary
    report.html       the search, the model and its scores as one page (not hashed: rebuilt
                      from the manifest and leaderboard by `textauto report`)
    report.png        a screenshot of report.html in headless Chromium, written only by
                      `textauto report --screenshot` (not hashed)
    MODEL_CARD.md     intended use, training data, metrics, limitations, how it was found
                      (not hashed either; rebuilt with report.html)
    study.db          the Optuna study (SQLite; absent when another storage was used)
    cache/            what the trials share (out-of-fold scores); only --resume needs it

Owns saving (crash-safe), loading (checked files, allowlisted types only) and converting old
bundles. Imports textauto.exceptions, textauto.inference and textauto.search.records; the
modules of a model's types are imported by skops when a file names them (only allowed ones).
"""

from textauto.bundle.board import leaderboard, stop_note
from textauto.bundle.model_file import MODEL_FILE, TRUSTED_TYPES
from textauto.bundle.store import (
    CACHE_DIR,
    LEADERBOARD_FILE,
    LEGACY_MODEL_FILE,
    MANIFEST_FILE,
    MODEL_CARD_FILE,
    REPORT_FILE,
    REPORT_HTML_FILE,
    REPORT_PNG_FILE,
    STUDY_FILE,
    Model,
    check_bundle,
    file_sha256,
    library_versions,
    load,
    raw_megabytes,
    read_manifest,
    save_bundle,
    spacy_pipeline,
    verified_files,
    verify,
)

__all__ = [
    "CACHE_DIR",
    "LEADERBOARD_FILE",
    "LEGACY_MODEL_FILE",
    "MANIFEST_FILE",
    "MODEL_CARD_FILE",
    "MODEL_FILE",
    "REPORT_FILE",
    "REPORT_HTML_FILE",
    "REPORT_PNG_FILE",
    "STUDY_FILE",
    "TRUSTED_TYPES",
    "Model",
    "check_bundle",
    "file_sha256",
    "leaderboard",
    "library_versions",
    "load",
    "raw_megabytes",
    "read_manifest",
    "save_bundle",
    "spacy_pipeline",
    "stop_note",
    "verified_files",
    "verify",
]
