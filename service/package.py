"""`textauto package`: turn a model bundle into a self-contained deployable directory."""

from __future__ import annotations

import json
import platform
import re
import shutil
from importlib import metadata
from importlib.resources import files
from pathlib import Path
from typing import Any

from service.dashboard import dashboard
from service.lock import lock
from textauto.bundle import MANIFEST_FILE, spacy_pipeline, verify
from textauto.bundle.files import new_directory, resolve
from textauto.exceptions import BundleError

CODE_PACKAGES = ("textauto", "service")
# Debian packages the image installs beside the slim base: the shared libraries that compiled
# extensions of the lock link and their wheels do not bundle (tests/service/test_deploy.py
# checks this with ldd). libgomp1: LightGBM's OpenMP runtime.
SYSTEM_PACKAGES = ("libgomp1",)
EXECUTABLE = 0o755


def service_requirements(manifest: dict[str, Any]) -> list[str]:
    """The lock: textauto's runtime requirements and the bundle's trained spaCy pipeline, if it
    uses one, with everything they need, pinned to the versions installed here."""
    roots = [r for r in metadata.requires("textauto") or [] if "extra ==" not in r]
    pipeline = spacy_pipeline(manifest)
    if pipeline:
        dists = metadata.packages_distributions().get(pipeline)
        if not dists:
            raise BundleError(
                f"the bundle uses the spaCy pipeline {pipeline!r} (space.spacy_model), which is not "
                f"installed here; install it (python -m spacy download {pipeline}) and package again"
            )
        roots.append(dists[0])
    try:
        return lock(roots)
    except LookupError as exc:
        raise BundleError(f"cannot pin the service's requirements: {exc}") from exc


def _render(name: str, values: dict[str, str]) -> str:
    """A template with its ``{{key}}`` placeholders filled (``$`` is left alone for the shell)."""
    text = (files("service") / "templates" / name).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    leftover = re.search(r"\{\{\w+\}\}", text)
    if leftover:
        raise ValueError(f"template {name}: no value for {leftover.group()}")
    return text


def _copy_code(dest: Path) -> None:
    import service
    import textauto

    for module in (textauto, service):
        src = Path(module.__file__).parent
        shutil.copytree(src, dest / src.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def image_name(raw: str) -> str:
    """A name Docker and compose accept: lower-case letters and digits joined by single hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", raw.lower()).strip("-")[:63].strip("-") or "model"


def package(model_dir: Path, out: Path, force: bool = False) -> dict[str, Any]:
    """Write the deployable directory ``out``; returns what was written (for the CLI to report).

    It is built beside ``out`` and renamed into place: a kill leaves the old one or the new one."""
    manifest, files = verify(model_dir)
    files[MANIFEST_FILE] = resolve(model_dir, MANIFEST_FILE).read_bytes()
    if out.exists() and not force:
        raise BundleError(f"{out}: already exists; pass --force to replace it")
    values = {
        "name": image_name(str(manifest.get("name", "model"))),
        "version": str(manifest.get("bundle_sha256", ""))[:12] or "unknown",
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "system_packages": " ".join(SYSTEM_PACKAGES),
    }
    requirements = service_requirements(manifest)
    with new_directory(out, replace=force) as tmp:
        _write(tmp, files, requirements, values)
    return {"out": str(out), **values}


def _write(out: Path, files: dict[str, bytes], requirements: list[str], values: dict[str, str]) -> None:
    (out / "model").mkdir()
    for name, data in files.items():
        (out / "model" / name).write_bytes(data)
    _copy_code(out / "app")
    (out / "requirements.txt").write_text("\n".join(requirements) + "\n")
    for template in ("Dockerfile", "compose.yaml", "prometheus.yml", "README.md", "start.sh"):
        (out / template).write_text(_render(template, values))
    (out / "start.sh").chmod(EXECUTABLE)
    provisioning = out / "grafana" / "provisioning"
    for sub, template in (("datasources", "datasource.yaml"), ("dashboards", "dashboards.yaml")):
        (provisioning / sub).mkdir(parents=True, exist_ok=True)
        (provisioning / sub / template).write_text(_render(template, values))
    (out / "grafana" / "dashboards").mkdir(parents=True, exist_ok=True)
    (out / "grafana" / "dashboards" / "textauto.json").write_text(
        json.dumps(dashboard(values["name"]), indent=2)
    )
