"""The model file: written with ``skops.io`` and read back only when every type in it is allowed.

Unlike a pickle, a skops file holds the model's data and the names of its types; nothing in it
runs on loading. ``TRUSTED_TYPES`` is the allowlist beyond skops' own (scikit-learn's
estimators, NumPy and SciPy types, builtin containers): textauto's estimators and the
scikit-learn and LightGBM helpers they hold, each named. A type outside it refuses the file.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import skops.io as sio
from skops.io.exceptions import UntrustedTypesFoundException

from textauto.exceptions import BundleError

MODEL_FILE = "model.skops"

TRUSTED_TYPES = frozenset(
    {
        "textauto.space.boosting.PacedLGBMClassifier",
        "textauto.ensemble.classifier.EnsembleClassifier",
        "textauto.features.ngrams.NgramTfidf",
        "textauto.features.spacy_tokens.SpacyTokens",
        "textauto.features.spacy_tokens.StreamTfidf",
        "textauto.space.nbsvm.NBSVMClassifier",
        # a margin classifier given probabilities (CalibratedClassifierCV's fitted parts)
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.calibration._TemperatureScaling",
        # LightGBM: its booster (rebuilt from its model string) and the booster's parameters
        "lightgbm.basic.Booster",
        "lightgbm.sklearn.LGBMClassifier",
        "collections.OrderedDict",
    }
)

# Where textauto's own types lived before the library was split into stages: files written
# then name them so, and are read as naming their new homes (the same classes).
MOVED_TYPES = {
    ("textauto.boosting", "PacedLGBMClassifier"): "textauto.space.boosting",
    ("textauto.ensemble", "EnsembleClassifier"): "textauto.ensemble.classifier",
    ("textauto.nbsvm", "NBSVMClassifier"): "textauto.space.nbsvm",
}
SCHEMA = "schema.json"


def dump_model(model: Any, path: Path, compress: bool) -> None:
    compression = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    sio.dump(model, path, compression=compression, compresslevel=3 if compress else None)


def current_type_names(data: bytes) -> bytes:
    """``data`` with the types of ``MOVED_TYPES`` named by their current modules; the same bytes
    when it names none (every file written since the move)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            schema = archive.read(SCHEMA).decode("utf-8")
            if not any(f'"{module}"' in schema for module, _ in MOVED_TYPES):
                return data
            renamed = json.dumps(_renamed(json.loads(schema)))
            out = io.BytesIO()
            with zipfile.ZipFile(out, "w") as copy:
                for info in archive.infolist():
                    body = renamed.encode("utf-8") if info.filename == SCHEMA else archive.read(info)
                    copy.writestr(info, body)
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError, json.JSONDecodeError):
        return data  # not a readable skops file: the readers below say so
    return out.getvalue()


def _renamed(node: Any) -> Any:
    if isinstance(node, list):
        return [_renamed(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _renamed(value) for key, value in node.items()}
    moved = MOVED_TYPES.get((out.get("__module__"), out.get("__class__")))
    if moved is not None:
        out["__module__"] = moved
    return out


def untrusted_types(data: bytes, source: Path) -> list[str]:
    """The types in a model file that the allowlist does not name; nothing is built or run."""
    try:
        found = sio.get_untrusted_types(data=current_type_names(data))
    except Exception as exc:  # a damaged or foreign file can fail in any of skops' readers
        raise BundleError(f"{source}: not a textauto model file ({type(exc).__name__}: {exc})") from exc
    return sorted(set(found) - TRUSTED_TYPES)


class UntrustedTypes(BundleError):
    """The model file holds a type the allowlist does not name; nothing was built."""


def build_model(data: bytes, source: Path) -> Any:
    """The model in ``data`` (the bytes of ``source``); refused, before anything is built, if any
    of its types is not on the allowlist."""
    try:
        return sio.loads(current_type_names(data), trusted=sorted(TRUSTED_TYPES))
    except UntrustedTypesFoundException as exc:
        raise UntrustedTypes(f"{source}: refused to load: {exc}") from exc
    except zipfile.BadZipFile as exc:  # a pickle, or anything else that is not skops' zip
        raise BundleError(f"{source}: not a textauto model file ({type(exc).__name__}: {exc})") from exc
    except Exception as exc:  # allowed types with inconsistent contents
        raise BundleError(f"{source}: cannot load the model ({type(exc).__name__}: {exc})") from exc
