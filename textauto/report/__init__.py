"""The run's record as pages a person reads: ``report.md``, the self-contained ``report.html``
and ``MODEL_CARD.md``.

Renders from the manifest and the leaderboard alone (what a bundle holds), so a report can be
rebuilt from any bundle. Imports textauto.validation (the metrics' directions) and nothing that
searches, fits or saves.
"""

from textauto.report.card import render_card
from textauto.report.html import SECTIONS, render_html
from textauto.report.markdown import render_report

__all__ = ["SECTIONS", "render_card", "render_html", "render_report"]
