"""report.html as headless Chromium draws it, networking off: every section and plot has a size."""

from __future__ import annotations

import http.server
import os
import shutil
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sklearn.model_selection import train_test_split
from typer.testing import CliRunner

from tests.conftest import SHARED
from textauto.bundle import REPORT_HTML_FILE, REPORT_PNG_FILE
from textauto.cli import app
from textauto.report import SECTIONS
from textauto.report.browser import CHROMIUM_ENV, PNG_SIGNATURE, WIDTH, layout, unavailable

TREC6 = SHARED / "trec6"


@pytest.fixture(scope="module")
def chromium() -> None:
    """Skipped on a machine without a browser; .ci/run installs Debian's chromium and sets
    TEXTAUTO_REQUIRE_CHROMIUM, so CI fails instead."""
    if (why := unavailable()) is None:
        return
    if os.environ.get("TEXTAUTO_REQUIRE_CHROMIUM"):
        pytest.fail(f"TEXTAUTO_REQUIRE_CHROMIUM is set but {why}")
    pytest.skip(why)


@pytest.fixture(scope="module")
def trec6_bundle(chromium: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 20-second search on 1,000 stratified trec6 questions, tested on 500."""
    tmp = tmp_path_factory.mktemp("trec6")
    train = pd.read_parquet(TREC6 / "train.parquet")
    sample = train_test_split(train, train_size=1000, stratify=train["label"], random_state=0)[0]
    sample.to_csv(tmp / "train.csv", index=False)
    pd.read_parquet(TREC6 / "test.parquet").head(500).to_csv(tmp / "test.csv", index=False)
    out = tmp / "model"
    args = ["train", tmp / "train.csv", "--test", tmp / "test.csv", "--time-budget", "20", "--out", out]
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return out


def test_every_section_and_plot_of_the_report_is_drawn(trec6_bundle):
    drawn = layout(trec6_bundle / REPORT_HTML_FILE)
    assert [box.id for box in drawn.sections] == [key for key, _ in SECTIONS]
    assert all(box.width > 0 and box.height > 0 for box in drawn.sections), drawn.sections
    assert len(drawn.svgs) >= 4  # class counts, two convergence charts, the confusion matrix
    assert all(box.width > 0 and box.height > 0 for box in drawn.svgs), drawn.svgs


def test_textauto_report_writes_a_screenshot_of_the_whole_page(invoke, trec6_bundle):
    result = invoke("report", trec6_bundle, "--screenshot")
    assert result.exit_code == 0, result.output
    png = (trec6_bundle / REPORT_PNG_FILE).read_bytes()
    assert f"wrote {trec6_bundle / REPORT_PNG_FILE}" in result.output.replace("\n", "")
    assert png.startswith(PNG_SIGNATURE) and len(png) > 20_000
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk, first after the signature
    page = layout(trec6_bundle / REPORT_HTML_FILE).page
    assert (width, height) == (WIDTH, page.height) and height > 2000


@pytest.fixture
def local_server() -> Iterator[tuple[int, list[str]]]:
    """An HTTP server on loopback, and the paths it is asked for."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], asked
    server.shutdown()
    thread.join()


def test_a_page_reaches_no_server_not_even_on_this_machine(chromium, local_server, tmp_path):
    port, asked = local_server
    page = tmp_path / "page.html"
    images = "".join(
        f'<img src="http://{host}:{port}/{host}.png">' for host in ("127.0.0.1", "localhost", "example.com")
    )
    page.write_text(f'<!DOCTYPE html><section id="s">{images}</section>', encoding="utf-8")
    assert [box.id for box in layout(page).sections] == ["s"]
    assert asked == []


def test_report_screenshot_without_a_browser_says_which_and_fails(runner, trained_bundle, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(trained_bundle, copy)
    missing = tmp_path / "no-such-chromium"
    result = runner.invoke(app, ["report", str(copy), "--screenshot"], env={CHROMIUM_ENV: str(missing)})
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert f"cannot render {copy / REPORT_HTML_FILE}" in message and f"{CHROMIUM_ENV}={missing}" in message
    assert "Traceback" not in result.output and not (copy / REPORT_PNG_FILE).exists()
