"""Each class's indicative features as the manifest records them (found at training, where the
training texts name the model's hashed n-grams)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textauto.exceptions import ExplainError
from textauto.explain.explanation import Contribution, class_index

MANIFEST_KEY = "class_features"


def features_record(features: dict[str, list[Contribution]]) -> dict[str, list[dict[str, Any]]]:
    """``class_features``' result as the manifest keeps it, weights to 5 significant digits."""
    return {
        cls: [c.to_dict() | {"weight": float(f"{c.weight:.5g}")} for c in contributions]
        for cls, contributions in features.items()
    }


def recorded_features(
    manifest: dict[str, Any], where: Path, class_name: str | None = None, top: int | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The recorded features of every class, or of ``class_name``, at most ``top`` each."""
    record = manifest.get(MANIFEST_KEY)
    if not isinstance(record, dict):
        raise ExplainError(
            f"{where}: the bundle records no class features (saved by an older textauto, or its "
            "budget ran out before they were found); explain a text instead, or train again"
        )
    classes = list(record)
    if class_name is not None:
        classes = [classes[class_index(classes, class_name, 0)]]
    return {cls: record[cls][:top] for cls in classes}
