"""Every endpoint, every limit and bad bodies, through the real app with its lifespan."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

import textauto
from service import ServiceSettings, create_app
from textauto.explain import explain_text

MAX_TEXTS, MAX_CHARS, MAX_BODY = 8, 5_000, 64 * 1024


@pytest.fixture
def settings(trained_bundle) -> ServiceSettings:
    return ServiceSettings(
        model_dir=trained_bundle, max_texts=MAX_TEXTS, max_text_chars=MAX_CHARS, max_body_bytes=MAX_BODY
    )


@pytest.fixture
def client(settings):
    responses = []
    with TestClient(create_app(settings)) as c:
        original = c.request

        def recording(*args, **kwargs):
            response = original(*args, **kwargs)
            responses.append(response)
            return response

        c.request = recording  # type: ignore[method-assign]
        yield c
    assert all(r.status_code < 500 for r in responses), [r.status_code for r in responses]


def samples(client: TestClient, name: str) -> dict[tuple, float]:
    out = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for s in family.samples:
            if s.name == name:
                out[tuple(sorted(s.labels.items()))] = s.value
    return out


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_not_ready_without_lifespan(settings):
    client = TestClient(create_app(settings))  # no `with`: lifespan has not run
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["detail"] == "model not loaded yet"
    assert client.get("/healthz").status_code == 200


def test_model_info(client, trained_bundle):
    info = client.get("/v1/model").json()
    manifest = json.loads((trained_bundle / "manifest.json").read_text())
    assert info["classes"] == manifest["classes"]
    assert (
        info["bundle_hash"] == manifest["bundle_sha256"] and info["version"] == manifest["bundle_sha256"][:12]
    )
    assert info["best_params"] == manifest["best_params"] and info["created"] == manifest["created"]
    assert info["validation_score"] == manifest["validation"]["score"]
    assert info["test_metrics"]["accuracy"] == manifest["test"]["accuracy"]


def test_predictions_equal_the_library_in_order(client, trained_bundle):
    texts = ["I was charged twice for one order", "the app crashes when I log in", "where is my parcel?"]
    body = client.post("/v1/predict", json={"texts": texts, "return_probabilities": True, "top_k": 2}).json()
    labels, proba = textauto.load(trained_bundle).predict_with_proba(texts)
    assert [p["label"] for p in body["predictions"]] == list(labels)
    for p, row in zip(body["predictions"], proba, strict=True):
        assert p["confidence"] == pytest.approx(row.max())
        assert sum(p["probabilities"].values()) == pytest.approx(1.0)
        assert p["top_k"][0]["label"] == p["label"] and len(p["top_k"]) == 2
    plain = client.post("/v1/predict", json={"texts": texts}).json()["predictions"]
    assert plain[0]["probabilities"] is None and plain[0]["top_k"] is None


@pytest.mark.parametrize(
    "text",
    ["emoji 🎉🔥 refund please", "שלום עולם مرحبا", "nul\x00byte", "ctrl\x07\x1b[31m", "", "   ", "é" * 100],
)
def test_unusual_texts_are_answered(client, text):
    r = client.post("/v1/predict", json={"texts": [text]})
    assert r.status_code == 200 and len(r.json()["predictions"]) == 1


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"texts": []}, "texts"),
        ({"texts": [1, 2]}, "texts"),
        ({"texts": [None]}, "texts"),
        ({"texts": None}, "texts"),
        ({"texts": "a single string"}, "texts"),
        ({}, "texts"),
        ({"texts": ["x"], "top_k": 0}, "top_k"),
        ({"texts": ["x"], "unknown": 1}, "unknown"),
        # another JSON type is refused, not coerced (the fuzzer found 0.0 taken as false)
        ({"texts": ["x"], "return_probabilities": 0.0}, "return_probabilities"),
        ({"texts": ["x"], "return_probabilities": "true"}, "return_probabilities"),
        ({"texts": ["x"], "top_k": "3"}, "top_k"),
        ({"texts": ["x"], "top_k": True}, "top_k"),
        ({"texts": ["x"], "top_k": 2.5}, "top_k"),
        (None, "body"),
        ([1, 2], "body"),
    ],
)
def test_bad_bodies_get_422_naming_the_field(client, body, where):
    r = client.post("/v1/predict", json=body)
    assert r.status_code == 422
    assert any(where in map(str, e["loc"]) for e in r.json()["detail"]), r.json()


def test_an_integral_number_is_an_integer_as_json_schema_says(client):
    r = client.post("/v1/predict", json={"texts": ["x"], "top_k": 2.0})
    assert r.status_code == 200 and len(r.json()["predictions"][0]["top_k"]) == 2


@pytest.mark.parametrize("raw", [b"{not json", b"", b'{"texts": ["a"', b'{"texts": ["a"]} trailing'])
def test_malformed_json_gets_422(client, raw):
    r = client.post("/v1/predict", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "detail" in r.json()


def test_body_that_is_not_utf8_gets_400(client):
    r = client.post(
        "/v1/predict", content=b'{"texts": ["caf\xe9"]}', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["detail"]


def test_too_many_texts_413(client):
    r = client.post("/v1/predict", json={"texts": ["x"] * (MAX_TEXTS + 1)})
    assert (
        r.status_code == 413
        and r.json()["detail"] == f"{MAX_TEXTS + 1} texts; at most {MAX_TEXTS} per request"
    )


def test_too_long_text_413(client):
    r = client.post("/v1/predict", json={"texts": ["ok", "y" * (MAX_CHARS + 1)]})
    assert r.status_code == 413 and r.json()["detail"].startswith("texts[1] has 5001 characters")


def test_one_megabyte_text_413(client):
    r = client.post("/v1/predict", json={"texts": ["z" * 1_000_000]})
    assert r.status_code == 413 and "larger than" in r.json()["detail"]


def test_streamed_body_over_the_limit_413(client):
    def chunks():
        yield b'{"texts": ["'
        for _ in range(40):
            yield b"a" * 4096
        yield b'"]}'

    r = client.post("/v1/predict", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_unknown_route_and_method(client):
    r = client.get("/v2/nothing")
    assert r.status_code == 404 and r.json()["detail"] == "no route /v2/nothing"
    assert client.get("/v1/predict").status_code == 405


def test_bearer_token(trained_bundle):
    settings = ServiceSettings(model_dir=trained_bundle, api_token="s3cret")
    with TestClient(create_app(settings)) as client:
        body = {"texts": ["refund"]}
        assert client.post("/v1/predict", json=body).status_code == 401
        wrong = client.post("/v1/predict", json=body, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["detail"] == "missing or wrong bearer token"
        assert wrong.headers["www-authenticate"] == "Bearer"
        ok = client.post("/v1/predict", json=body, headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        assert client.get("/healthz").status_code == 200 and client.get("/v1/model").status_code == 200
        errors = samples(client, "textauto_errors_total")
        assert errors[(("kind", "unauthorized"),)] == 2


def test_metrics_count_requests_predictions_and_errors(client):
    texts = ["I was charged twice", "the page does not load"]
    for _ in range(3):
        client.post("/v1/predict", json={"texts": texts})
    client.post("/v1/predict", json={"texts": []})
    client.post("/v1/predict", json={"texts": ["x"] * (MAX_TEXTS + 1)})
    requests = samples(client, "textauto_http_requests_total")
    route = ("route", "/v1/predict")
    assert requests[(("method", "POST"), route, ("status", "200"))] == 3
    assert requests[(("method", "POST"), route, ("status", "422"))] == 1
    assert requests[(("method", "POST"), route, ("status", "413"))] == 1
    assert sum(samples(client, "textauto_predictions_total").values()) == 6
    assert samples(client, "textauto_batch_size_texts_count")[()] == 3
    assert samples(client, "textauto_input_length_chars_count")[()] == 6
    assert samples(client, "textauto_prediction_confidence_ratio_count")[()] == 6
    assert samples(client, "textauto_inference_duration_seconds_count")[()] == 3
    assert samples(client, "textauto_http_request_duration_seconds_count")[(("method", "POST"), route)] == 5
    errors = samples(client, "textauto_errors_total")
    assert errors[(("kind", "validation"),)] == 1 and errors[(("kind", "too_large"),)] == 1
    info = samples(client, "textauto_model_info")
    assert list(info.values()) == [1.0]
    assert samples(client, "textauto_model_load_duration_seconds")[()] > 0
    assert samples(client, "textauto_http_requests_in_flight")[()] == 1  # the /metrics request itself
    assert "charged twice" not in client.get("/metrics").text  # never user text in labels


def test_explain_answers_as_the_library_does(client, trained_bundle):
    text = "I was charged twice for one order, please refund"
    body = client.post("/v1/explain", json={"text": text, "top": 3}).json()
    own = explain_text(textauto.load(trained_bundle).pipeline, text).to_dict(3)
    assert body["predicted"] == own["predicted"] == body["explained"]
    assert body["toward"] == own["toward"] and len(body["toward"]) <= 3
    assert body["probability"] == pytest.approx(own["probability"])
    assert body["model_version"] == client.get("/v1/model").json()["version"]
    assert all(f["weight"] > 0 for f in body["toward"]) and all(f["weight"] < 0 for f in body["against"])


def test_explain_another_class_or_an_unknown_one(client):
    classes = client.get("/v1/model").json()["classes"]
    r = client.post("/v1/explain", json={"text": "where is my parcel?", "class": classes[-1]})
    assert r.status_code == 200 and r.json()["explained"] == classes[-1]
    r = client.post("/v1/explain", json={"text": "x", "class": "nope"})
    assert r.status_code == 422
    assert (
        r.json()["detail"] == f"class 'nope': not a class of this model; its classes are {', '.join(classes)}"
    )


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({}, "text"),
        ({"text": ["a", "list"]}, "text"),
        ({"text": "x", "top": 0}, "top"),
        ({"text": "x", "top": 101}, "top"),
        ({"text": "x", "top": "3"}, "top"),
        ({"text": "x", "class": 3}, "class"),
        ({"text": "x", "why": 1}, "why"),
        ({"text": "x", "class_name": "billing"}, "class_name"),  # the field is "class"
    ],
)
def test_explain_bad_bodies_get_422_naming_the_field(client, body, where):
    r = client.post("/v1/explain", json=body)
    assert r.status_code == 422
    assert any(where in map(str, e["loc"]) for e in r.json()["detail"]), r.json()


def test_explain_has_the_limits_token_and_metrics_of_predict(client, trained_bundle):
    r = client.post("/v1/explain", json={"text": "y" * (MAX_CHARS + 1)})
    assert r.status_code == 413 and r.json()["detail"] == f"text has 5001 characters; at most {MAX_CHARS}"
    for _ in range(2):
        client.post("/v1/explain", json={"text": "the app crashes when I log in"})
    requests = samples(client, "textauto_http_requests_total")
    assert requests[(("method", "POST"), ("route", "/v1/explain"), ("status", "200"))] == 2
    assert sum(samples(client, "textauto_explanations_total").values()) == 2
    assert samples(client, "textauto_explain_duration_seconds_count")[()] == 2
    assert samples(client, "textauto_inference_duration_seconds_count")[()] == 0  # predict's own
    assert samples(client, "textauto_input_length_chars_count")[()] == 2
    assert samples(client, "textauto_errors_total")[(("kind", "too_large"),)] == 1
    with TestClient(create_app(ServiceSettings(model_dir=trained_bundle, api_token="s3cret"))) as guarded:
        assert guarded.post("/v1/explain", json={"text": "refund"}).status_code == 401
        ok = guarded.post("/v1/explain", json={"text": "refund"}, headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200


def test_openapi_docs(client):
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {"/v1/predict", "/v1/explain", "/v1/model", "/healthz", "/readyz", "/metrics"} <= set(
        spec["paths"]
    )
    assert spec["components"]["schemas"]["ExplainRequest"]["properties"]["text"]["maxLength"] == MAX_CHARS


@pytest.mark.parametrize(
    ("field", "value"), [("max_texts", 0), ("max_text_chars", -1), ("max_body_bytes", 10)]
)
def test_settings_fail_fast_on_bad_values(trained_bundle, field, value):
    with pytest.raises(ValidationError, match=field):
        ServiceSettings(model_dir=trained_bundle, **{field: value})


def test_settings_from_environment(monkeypatch, trained_bundle):
    monkeypatch.setenv("TEXTAUTO_MODEL_DIR", str(trained_bundle))
    monkeypatch.setenv("TEXTAUTO_MAX_TEXTS", "3")
    s = ServiceSettings()
    assert s.model_dir == trained_bundle and s.max_texts == 3 and s.api_token is None
