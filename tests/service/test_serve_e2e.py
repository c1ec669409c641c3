"""`textauto serve --workers 2` as a real process on loopback; metrics summed across workers."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml

import textauto
from service.metrics import ServiceMetrics
from tests.service.helpers import counter_value, free_port, predict_requests, running, serve_cmd

N_REQUESTS = 40


def test_two_workers_count_every_request_exactly(trained_bundle, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    prom_dir = tmp_path / "prom"
    prom_dir.mkdir()
    (prom_dir / "counter_999999.db").write_bytes(b"stale")  # must be emptied at start
    env = {"PROMETHEUS_MULTIPROC_DIR": str(prom_dir)}
    with running(serve_cmd(trained_bundle, port, 2), f"{base}/readyz", env, tmp_path / "serve.log"):
        predict_requests(base, N_REQUESTS)
        text = httpx.get(f"{base}/metrics", timeout=10).text
        pids = {p.stem.rsplit("_", 1)[1] for p in prom_dir.glob("counter_*.db")}
    assert "999999" not in pids
    assert len(pids) == 2, f"expected both workers to serve requests, saw pids {pids}"
    route = {"route": "/v1/predict", "method": "POST", "status": "200"}
    assert counter_value(text, "textauto_http_requests_total", **route) == N_REQUESTS
    assert counter_value(text, "textauto_predictions_total") == N_REQUESTS
    assert counter_value(text, "textauto_batch_size_texts_count") == N_REQUESTS


def test_serve_refuses_a_missing_bundle(tmp_path):
    result = subprocess.run(
        serve_cmd(tmp_path / "nothing", free_port(), 1), capture_output=True, text=True, timeout=60
    )
    assert (
        result.returncode == 2
        and "no model bundle here" in result.stderr
        and "Traceback" not in result.stderr
    )


@pytest.fixture(scope="module")
def deploy_dir(trained_bundle, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("deploy") / "svc"
    result = subprocess.run(
        [os.sys.executable, "-m", "textauto", "package", str(trained_bundle), "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out


def test_package_writes_a_complete_deployable(deploy_dir, trained_bundle):
    for name in ("Dockerfile", "compose.yaml", "prometheus.yml", "requirements.txt", "README.md", "start.sh"):
        assert (deploy_dir / name).is_file(), name
    assert (deploy_dir / "model" / "model.joblib").is_file() and not (
        deploy_dir / "model" / "study.db"
    ).exists()
    assert (deploy_dir / "app" / "textauto" / "__init__.py").is_file() and (
        deploy_dir / "app" / "service" / "app.py"
    ).is_file()
    docker = (deploy_dir / "Dockerfile").read_text()
    assert (
        "-slim" in docker and "USER textauto" in docker and "HEALTHCHECK" in docker and "/healthz" in docker
    )
    reqs = (deploy_dir / "requirements.txt").read_text().split()
    assert f"scikit-learn=={textauto.bundle.metadata.version('scikit-learn')}" in reqs
    assert all("==" in r for r in reqs)


def test_compose_and_prometheus_configs_parse(deploy_dir):
    compose = yaml.safe_load((deploy_dir / "compose.yaml").read_text())
    assert {"textauto", "prometheus", "grafana"} <= set(compose["services"])
    assert compose["services"]["textauto"]["build"] == "."
    prom = yaml.safe_load((deploy_dir / "prometheus.yml").read_text())
    job = prom["scrape_configs"][0]
    assert job["metrics_path"] == "/metrics" and job["static_configs"][0]["targets"] == ["textauto:8000"]
    mounted = compose["services"]["prometheus"]["volumes"][0]
    assert mounted.startswith("./prometheus.yml:")
    for path in (
        "grafana/provisioning/datasources/datasource.yaml",
        "grafana/provisioning/dashboards/dashboards.yaml",
    ):
        assert yaml.safe_load((deploy_dir / path).read_text())["apiVersion"] == 1


def test_dashboard_queries_use_metrics_the_service_exports(deploy_dir):
    import json
    import re

    board = json.loads((deploy_dir / "grafana" / "dashboards" / "textauto.json").read_text())
    titles = " ".join(p["title"] for p in board["panels"]).lower()
    for topic in ("request rate", "error rate", "latency", "by class", "confidence"):
        assert topic in titles
    exported = {m.name for m in ServiceMetrics().registry.collect()}
    for panel in board["panels"]:
        for target in panel["targets"]:
            for name in re.findall(r"textauto_[a-z_]+", target["expr"]):
                base = re.sub(r"_(bucket|count|sum|total)$", "", name)
                assert base in exported or name in exported, name


def test_generated_start_command_serves_predictions(deploy_dir, trained_bundle, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"PYTHON": os.sys.executable, "PORT": str(port), "WORKERS": "1"}
    with running([str(deploy_dir / "start.sh")], f"{base}/readyz", env, tmp_path / "start.log"):
        texts = ["I was charged twice", "the app keeps crashing"]
        body = httpx.post(f"{base}/v1/predict", json={"texts": texts}, timeout=10).json()
    expected = textauto.load(trained_bundle).predict(texts)
    assert [p["label"] for p in body["predictions"]] == list(expected)


PROMETHEUS = shutil.which("prometheus")


@pytest.mark.skipif(
    PROMETHEUS is None and not os.environ.get("TEXTAUTO_REQUIRE_PROMETHEUS"),
    reason="needs Debian's prometheus package (.ci/run installs it and sets TEXTAUTO_REQUIRE_PROMETHEUS)",
)
def test_real_prometheus_scrapes_the_request_count(trained_bundle, tmp_path):
    assert PROMETHEUS, "prometheus binary not found"
    port, prom_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: textauto\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
    )
    prom_cmd = [
        PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{prom_port}",
    ]  # fmt: skip
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "mp")}
    with running(serve_cmd(trained_bundle, port, 2), f"{base}/readyz", env, tmp_path / "serve.log"):
        predict_requests(base, N_REQUESTS)
        with running(prom_cmd, f"http://127.0.0.1:{prom_port}/-/ready", None, tmp_path / "prom.log"):
            query = 'sum(textauto_http_requests_total{route="/v1/predict",status="200"})'
            seen = None
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                r = httpx.get(
                    f"http://127.0.0.1:{prom_port}/api/v1/query", params={"query": query}, timeout=5
                ).json()
                result = r["data"]["result"]
                if result:
                    seen = float(result[0]["value"][1])
                    if seen == N_REQUESTS:
                        break
                time.sleep(0.5)
    assert seen == N_REQUESTS
