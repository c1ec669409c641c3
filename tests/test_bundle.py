from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import RidgeClassifier

from textauto import load
from textauto.bundle import MODEL_FILE, raw_megabytes, save_bundle


def _model() -> RidgeClassifier:
    # 4 classes x 500k features of float64: 16 MB raw, mostly zeros, so it compresses well
    X = np.zeros((8, 500_000))
    X[np.arange(8), np.arange(8)] = 1.0
    return RidgeClassifier().fit(X, [0, 1, 2, 3, 0, 1, 2, 3])


def test_raw_size_counts_the_arrays_without_copying_them():
    model = _model()
    assert raw_megabytes(model) == raw_megabytes(model)  # no state changed
    assert 15.2 < raw_megabytes(model) < 15.5  # coef_: 4 x 500k float64 = 15.26 MB


def test_the_model_is_written_uncompressed_when_compressing_would_overrun_the_budget(tmp_path):
    model = _model()
    manifest = {"classes": [0, 1, 2, 3]}
    board = pd.DataFrame({"trial": [0]})
    save_bundle(tmp_path / "slow", model, manifest, board, "report", seconds_left=60.0)
    # 16 MB at 50 MB/s would take 0.3 s
    save_bundle(tmp_path / "fast", model, manifest, board, "report", seconds_left=0.1)
    compressed = (tmp_path / "slow" / MODEL_FILE).stat().st_size
    plain = (tmp_path / "fast" / MODEL_FILE).stat().st_size
    assert compressed < 2**20 < 15 * 2**20 < plain
    for name in ("slow", "fast"):  # both load and predict the same
        assert np.array_equal(load(tmp_path / name).pipeline.coef_, model.coef_)
