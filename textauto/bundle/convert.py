"""``textauto convert``: turn a bundle of format 1 (a pickle) into a safe one, once, on request.

Unpickling runs whatever code the file names, so this is the one place textauto does it, and
only with ``trust_pickle``: the caller vouches for where the old bundle came from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer

from textauto.bundle.files import new_directory
from textauto.bundle.store import (
    LEADERBOARD_FILE,
    LEGACY_MODEL_FILE,
    MANIFEST_FILE,
    REPORT_FILE,
    load,
    save_bundle,
)
from textauto.exceptions import BundleError
from textauto.features.spacy_tokens import TOKEN_PATTERN


def _without_code(model: Any) -> Any:
    """Replace what format 1 held as code: the spaCy streams' ``tokenizer=str.split``."""
    stack = [model]
    seen: set[int] = set()
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, TfidfVectorizer) and obj.tokenizer is str.split:
            obj.set_params(tokenizer=None, token_pattern=TOKEN_PATTERN)
        if hasattr(obj, "get_params"):
            stack.extend(obj.get_params(deep=False).values())
            stack.extend(v for k, v in vars(obj).items() if k.endswith("_") and not k.startswith("_"))
        elif isinstance(obj, list | tuple):
            stack.extend(obj)
    return model


def convert(old: Path, new: Path, trust_pickle: bool) -> Path:
    """Write ``new``, a bundle of today's format holding the model of the format-1 bundle ``old``."""
    if not trust_pickle:
        raise BundleError(
            "convert unpickles the old model, which runs any code the file holds: pass "
            "--trust-pickle only for a bundle you trust"
        )
    legacy = old / LEGACY_MODEL_FILE
    if not legacy.is_file():
        raise BundleError(f"{old}: no {LEGACY_MODEL_FILE} to convert (is it already converted?)")
    if new.exists():
        raise BundleError(f"{new}: already exists; choose a new directory")
    import joblib

    try:
        manifest = json.loads((old / MANIFEST_FILE).read_text(encoding="utf-8"))
        model = joblib.load(legacy)
    except Exception as exc:  # unpickling can raise nearly anything for a damaged file
        raise BundleError(f"{old}: cannot read the old bundle ({type(exc).__name__}: {exc})") from exc
    probe = np.asarray([*map(str, manifest.get("classes", [])), "", "a short text to compare"], dtype=object)
    before = model.predict_proba(probe)
    model = _without_code(model)
    board = pd.read_csv(old / LEADERBOARD_FILE) if (old / LEADERBOARD_FILE).is_file() else pd.DataFrame()
    report = (old / REPORT_FILE).read_text(encoding="utf-8") if (old / REPORT_FILE).is_file() else ""
    manifest.pop("bundle_sha256", None)
    manifest["converted_from"] = str(old)
    with new_directory(new) as tmp:
        save_bundle(tmp, model, manifest, board, report)
        if not np.allclose(load(tmp).predict_proba(probe), before, atol=1e-9):
            raise BundleError(f"{old}: the converted model predicts differently; {new} not written")
    return new
