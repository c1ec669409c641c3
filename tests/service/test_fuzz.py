"""Property-based fuzzing of the running service from its own OpenAPI schema (schemathesis):
every generated request, valid or not, gets a documented answer and never a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation import GenerationMode

from tests.service.helpers import free_port, running, serve_cmd

TOKEN = "fuzz-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EXAMPLES = 50  # per operation and mode: bounded, so the suite stays fast


@pytest.fixture(scope="module")
def served(trained_bundle, tmp_path_factory):
    port = free_port()
    env = {
        "TEXTAUTO_API_TOKEN": TOKEN,
        "TEXTAUTO_MAX_TEXTS": "16",
        "TEXTAUTO_MAX_TEXT_CHARS": "2000",
        "TEXTAUTO_MAX_BODY_BYTES": "65536",
    }
    log = tmp_path_factory.mktemp("fuzz") / "serve.log"
    url = f"http://127.0.0.1:{port}"
    with running(serve_cmd(trained_bundle, port, workers=1), f"{url}/readyz", env=env, log=log):
        yield url


# Schema-violating requests must be refused with a 4xx; 413 (a text or a batch over the
# service's limits) is a refusal too, which schemathesis's default list lacks.
REJECTED = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
CONFIG = {"checks": {"negative_data_rejection": {"expected-statuses": REJECTED}}}


def operations(url: str) -> list:
    config = schemathesis.config.SchemathesisConfig.from_dict(CONFIG)
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json", config=config)
    return [result.ok() for result in schema.get_all_operations()]


def fuzz(operation, mode: GenerationMode, check) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case) -> None:
        check(case)

    run()


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
def test_every_generated_request_gets_a_documented_answer(served, mode):
    """schemathesis's checks: no 5xx, status codes, content types, headers and bodies as the
    schema documents them, valid data accepted and invalid data rejected."""
    seen = set()
    for operation in operations(served):
        if mode == GenerationMode.NEGATIVE and not len(operation.body):
            continue  # nothing to get wrong in a request without parameters
        fuzz(operation, mode, lambda case: case.call_and_validate(base_url=served, headers=AUTH))
        seen.add(operation.label)
    assert {"POST /v1/predict", "POST /v1/explain"} <= seen


def test_requests_without_the_token_are_refused_with_401_never_5xx(served):
    def check(case) -> None:
        response = case.call(base_url=served)
        assert response.status_code < 500
        assert response.status_code == 401, response.text

    for operation in operations(served):
        if operation.label in ("POST /v1/predict", "POST /v1/explain"):
            fuzz(operation, GenerationMode.POSITIVE, check)
