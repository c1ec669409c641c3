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
from textauto.bundle import CACHE_DIR, check_bundle, load
from textauto.exceptions import BundleError

CODE_PACKAGES = ("textauto", "service")
EXECUTABLE = 0o755


def pinned_requirements() -> list[str]:
    """textauto's runtime requirements pinned to the versions installed here (that trained it)."""
    pins = []
    for requirement in metadata.requires("textauto") or []:
        if "extra ==" in requirement:
            continue
        name = re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0]
        pins.append(f"{name}=={metadata.version(name)}")
    return sorted(pins, key=str.lower)


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


def package(model_dir: Path, out: Path) -> dict[str, Any]:
    """Write the deployable directory ``out``; returns what was written (for the CLI to report)."""
    model_dir = check_bundle(model_dir)
    manifest = load(model_dir).manifest  # also proves the bundle loads here
    if out.exists() and any(out.iterdir()):
        raise BundleError(f"{out}: exists and is not empty; choose a new --out")
    name = re.sub(r"[^a-z0-9_.-]+", "-", str(manifest.get("name", "model")).lower()).strip("-") or "model"
    values = {
        "name": name,
        "version": str(manifest.get("bundle_sha256", ""))[:12] or "unknown",
        "python_version": ".".join(platform.python_version_tuple()[:2]),
    }
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(model_dir, out / "model", ignore=shutil.ignore_patterns("study.db*", CACHE_DIR))
    _copy_code(out / "app")
    (out / "requirements.txt").write_text("\n".join(pinned_requirements()) + "\n")
    for template in ("Dockerfile", "compose.yaml", "prometheus.yml", "README.md", "start.sh"):
        (out / template).write_text(_render(template, values))
    (out / "start.sh").chmod(EXECUTABLE)
    provisioning = out / "grafana" / "provisioning"
    for sub, template in (("datasources", "datasource.yaml"), ("dashboards", "dashboards.yaml")):
        (provisioning / sub).mkdir(parents=True, exist_ok=True)
        (provisioning / sub / template).write_text(_render(template, values))
    (out / "grafana" / "dashboards").mkdir(parents=True, exist_ok=True)
    (out / "grafana" / "dashboards" / "textauto.json").write_text(json.dumps(dashboard(name), indent=2))
    return {"out": str(out), **values}
