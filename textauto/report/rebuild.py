"""``textauto report``: render a bundle's ``report.html`` and ``MODEL_CARD.md`` again from its
manifest and leaderboard."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from textauto.bundle import LEADERBOARD_FILE, MODEL_CARD_FILE, REPORT_HTML_FILE, read_manifest, verified_files
from textauto.bundle.files import write_files
from textauto.exceptions import BundleError
from textauto.report.card import render_card
from textauto.report.html import render_html


def write_html_report(path: Path) -> Path:
    """Write ``report.html`` and ``MODEL_CARD.md`` into the bundle at ``path`` (replacing them)
    and return where the page is.

    The manifest and the leaderboard are checked against their hashes first: the page shows
    what the bundle holds, or nothing."""
    manifest = read_manifest(path)
    if LEADERBOARD_FILE not in manifest["files"]:
        raise BundleError(f"{path}: the manifest lists no {LEADERBOARD_FILE}, which the report is drawn from")
    data = verified_files(path, {"files": {LEADERBOARD_FILE: manifest["files"][LEADERBOARD_FILE]}})
    board = (
        pd.read_csv(io.BytesIO(data[LEADERBOARD_FILE])) if data[LEADERBOARD_FILE].strip() else pd.DataFrame()
    )
    page, card = render_html(manifest, board), render_card(manifest)
    write_files(
        path,
        {
            REPORT_HTML_FILE: lambda p: p.write_text(page, "utf-8"),
            MODEL_CARD_FILE: lambda p: p.write_text(card, "utf-8"),
        },
    )
    return path / REPORT_HTML_FILE
