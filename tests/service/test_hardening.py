"""The service under hostile input: bounded metric labels, settings that fail fast, separable
metrics and docs, a model that must predict before the service says ready."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from service import ServiceSettings, create_app
from tests.service.test_app import samples
from textauto import ConfigError
from textauto.bundle import save_bundle
from textauto.features import SpacyTokens
from textauto.features.ngrams import NgramTfidf


def test_any_http_method_a_client_sends_is_counted_under_a_bounded_label(trained_bundle):
    with TestClient(create_app(ServiceSettings(model_dir=trained_bundle))) as client:
        for method in ("BREW", "X-ANYTHING-1", "X-ANYTHING-2", "PROPFIND"):
            assert client.request(method, "/v1/predict").status_code == 405
        assert client.request("BREW", "/nowhere").status_code == 404
        counted = samples(client, "textauto_http_requests_total")
        assert {dict(k)["method"] for k in counted} == {"other"} and sum(counted.values()) == 5


@pytest.mark.parametrize("token", ["", "   "])
def test_an_empty_api_token_is_a_startup_error(trained_bundle, token):
    with pytest.raises(ValidationError, match=r"api_token\n.*is set but empty"):
        ServiceSettings(model_dir=trained_bundle, api_token=token)


def test_docs_and_openapi_can_be_turned_off(trained_bundle, monkeypatch):
    monkeypatch.setenv("TEXTAUTO_DOCS", "false")
    settings = ServiceSettings(model_dir=trained_bundle)
    with TestClient(create_app(settings)) as client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert client.get(path).status_code == 404, path
        assert client.post("/v1/predict", json={"texts": ["refund"]}).status_code == 200


def test_with_a_metrics_port_the_api_port_serves_no_metrics(trained_bundle):
    settings = ServiceSettings(model_dir=trained_bundle, metrics_port=9100)
    with TestClient(create_app(settings)) as client:
        assert client.get("/metrics").status_code == 404
        assert "/metrics" not in client.get("/openapi.json").json()["paths"]


def test_process_figures_are_exported(trained_bundle):
    with TestClient(create_app(ServiceSettings(model_dir=trained_bundle))) as client:
        assert samples(client, "textauto_process_resident_memory_bytes")[()] > 10 * 2**20
        assert samples(client, "textauto_process_cpu_seconds")[()] > 0
        assert samples(client, "textauto_process_open_fds")[()] > 0


def test_the_service_is_not_ready_until_a_prediction_has_run(tmp_path: Path):
    """A model whose spaCy pipeline is not installed loads, but cannot predict: startup fails."""
    texts, labels = ["refund my money", "app crashes", "where is my parcel", "charged twice"], list("abab")
    model = Pipeline([("f", NgramTfidf()), ("clf", LogisticRegression())]).fit(texts, labels)
    model.steps.insert(0, ("tokens", SpacyTokens(model="xx_no_such_pipeline").fit(texts)))
    save_bundle(tmp_path / "b", model, {"name": "b"}, pd.DataFrame({"trial": [0]}), "")
    app = create_app(ServiceSettings(model_dir=tmp_path / "b"))
    with (
        pytest.raises(ConfigError, match="cannot load spaCy pipeline 'xx_no_such_pipeline'"),
        TestClient(app),
    ):
        pass


def test_metrics_labels_stay_bounded_under_unique_texts(trained_bundle):
    with TestClient(create_app(ServiceSettings(model_dir=trained_bundle))) as client:
        for i in range(30):
            client.post("/v1/predict", json={"texts": [f"unique text {i} {'x' * i}"]})
        text = client.get("/metrics").text
    assert "unique text" not in text
    assert json.dumps("x" * 5) not in text


def test_serve_empties_only_metrics_directories_it_made(tmp_path, monkeypatch):
    from service.runner import prepare_multiprocess_dir

    ours = tmp_path / "ours"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(ours))
    assert prepare_multiprocess_dir() == ours and ours.is_dir()
    (ours / "counter_999999.db").write_bytes(b"stale")  # a killed run's counts
    prepare_multiprocess_dir()
    assert not list(ours.glob("*.db"))  # emptied: old counts would add to the new run's

    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("years of work")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(foreign))
    with pytest.raises(ConfigError, match="not empty and not made by textauto serve"):
        prepare_multiprocess_dir()
    assert (foreign / "thesis.tex").read_text() == "years of work"


def test_serve_refuses_bad_settings_and_foreign_metrics_dirs_in_one_line(trained_bundle, tmp_path):
    import os
    import subprocess
    import sys

    foreign = tmp_path / "data"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    cases = [
        ({"TEXTAUTO_API_TOKEN": ""}, "TEXTAUTO_API_TOKEN: Value error, is set but empty"),
        ({"PROMETHEUS_MULTIPROC_DIR": str(foreign)}, "not empty and not made by textauto serve"),
    ]
    for env, message in cases:
        result = subprocess.run(
            [sys.executable, "-m", "textauto", "serve", str(trained_bundle), "--workers", "2", "--port", "1"],
            env={**os.environ, **env}, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert (foreign / "keep.txt").read_text() == "mine"
