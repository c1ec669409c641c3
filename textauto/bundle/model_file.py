"""The model file: written with ``skops.io`` and read back only when every type in it is allowed.

Unlike a pickle, a skops file holds the model's data and the names of its types; nothing in it
runs on loading. ``TRUSTED_TYPES`` is the allowlist beyond skops' own (scikit-learn's
estimators, NumPy and SciPy types, builtin containers): textauto's estimators and the
scikit-learn and LightGBM helpers they hold, each named. A type outside it refuses the file.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import skops.io as sio
from skops.io.exceptions import UntrustedTypesFoundException

from textauto.exceptions import BundleError

MODEL_FILE = "model.skops"

TRUSTED_TYPES = frozenset(
    {
        "textauto.boosting.PacedLGBMClassifier",
        "textauto.ensemble.EnsembleClassifier",
        "textauto.features.ngrams.NgramTfidf",
        "textauto.features.spacy_tokens.SpacyTokens",
        "textauto.nbsvm.NBSVMClassifier",
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


def dump_model(model: Any, path: Path, compress: bool) -> None:
    compression = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    sio.dump(model, path, compression=compression, compresslevel=3 if compress else None)


def untrusted_types(data: bytes, source: Path) -> list[str]:
    """The types in a model file that the allowlist does not name; nothing is built or run."""
    try:
        found = sio.get_untrusted_types(data=data)
    except Exception as exc:  # a damaged or foreign file can fail in any of skops' readers
        raise BundleError(f"{source}: not a textauto model file ({type(exc).__name__}: {exc})") from exc
    return sorted(set(found) - TRUSTED_TYPES)


class UntrustedTypes(BundleError):
    """The model file holds a type the allowlist does not name; nothing was built."""


def build_model(data: bytes, source: Path) -> Any:
    """The model in ``data`` (the bytes of ``source``); refused, before anything is built, if any
    of its types is not on the allowlist."""
    try:
        return sio.loads(data, trusted=sorted(TRUSTED_TYPES))
    except UntrustedTypesFoundException as exc:
        raise UntrustedTypes(f"{source}: refused to load: {exc}") from exc
    except zipfile.BadZipFile as exc:  # a pickle, or anything else that is not skops' zip
        raise BundleError(f"{source}: not a textauto model file ({type(exc).__name__}: {exc})") from exc
    except Exception as exc:  # allowed types with inconsistent contents
        raise BundleError(f"{source}: cannot load the model ({type(exc).__name__}: {exc})") from exc
