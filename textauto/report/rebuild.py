"""``textauto report``: render a bundle's ``report.html`` again from its manifest and leaderboard."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from textauto.bundle import LEADERBOARD_FILE, REPORT_HTML_FILE, read_manifest, verified_files
from textauto.bundle.files import write_files
from textauto.exceptions import BundleError
from textauto.report.html import render_html


def write_html_report(path: Path) -> Path:
    """Write ``report.html`` into the bundle at ``path`` (replacing it) and return where it is.

    The manifest and the leaderboard are checked against their hashes first: the page shows
    what the bundle holds, or nothing."""
    manifest = read_manifest(path)
    if LEADERBOARD_FILE not in manifest["files"]:
        raise BundleError(f"{path}: the manifest lists no {LEADERBOARD_FILE}, which the report is drawn from")
    data = verified_files(path, {"files": {LEADERBOARD_FILE: manifest["files"][LEADERBOARD_FILE]}})
    board = (
        pd.read_csv(io.BytesIO(data[LEADERBOARD_FILE])) if data[LEADERBOARD_FILE].strip() else pd.DataFrame()
    )
    page = render_html(manifest, board)
    write_files(path, {REPORT_HTML_FILE: lambda p: p.write_text(page, "utf-8")})
    return path / REPORT_HTML_FILE
