"""The deploy directory's lock: every package the service imports, transitively, at the version
installed here (the one that trained the model)."""

from __future__ import annotations

import json
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def _requirements(dist: metadata.Distribution, extras: frozenset[str]) -> list[Requirement]:
    """What ``dist`` needs here, with the given extras, its environment markers evaluated."""
    wanted = []
    for line in dist.requires or []:
        req = Requirement(line)
        if req.marker is None:
            wanted.append(req)
            continue
        if any(req.marker.evaluate({"extra": extra}) for extra in extras | {""}):
            wanted.append(req)
    return wanted


def closure(roots: list[str]) -> dict[str, metadata.Distribution]:
    """The installed distributions ``roots`` need, themselves included, by canonical name."""
    found: dict[str, metadata.Distribution] = {}
    pending = [Requirement(r) for r in roots]
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        req = pending.pop()
        key = (canonicalize_name(req.name), frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError as exc:
            raise LookupError(f"{req.name} is required but not installed here") from exc
        found[key[0]] = dist
        pending.extend(_requirements(dist, frozenset(req.extras)))
    return found


def pin(dist: metadata.Distribution) -> str:
    """``name==version``, or ``name @ url`` for a package installed from a URL (PEP 610), such as a
    spaCy pipeline from its GitHub release."""
    direct = dist.read_text("direct_url.json")
    if direct:
        info = json.loads(direct)
        if "archive_info" in info and not info["url"].startswith("file:"):
            return f"{dist.metadata['Name']} @ {info['url']}"
    return f"{dist.metadata['Name']}=={dist.version}"


def lock(roots: list[str]) -> list[str]:
    """Pinned requirement lines for ``roots`` and everything they need, sorted by name."""
    return sorted((pin(d) for d in closure(roots).values()), key=str.lower)
