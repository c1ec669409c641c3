"""A report page as headless Chromium draws it: a screenshot, and the size of every section and plot.

The browser runs with a throwaway profile and networking off (no name resolves and every request
goes to a closed proxy port, loopback included), so a page renders as it would from disk on an
offline machine. Imports textauto.exceptions only.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from textauto.exceptions import BrowserError

CHROMIUM_ENV = "TEXTAUTO_CHROMIUM"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
WIDTH, HEIGHT = 1200, 900
MAX_HEIGHT = 16_000  # taller captures run into Chromium's texture size limit
TIMEOUT_S = 60.0
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SIZE_ATTR = "data-textauto-size"
# The report has no script, so a copy of it carries this one: it writes each box's laid-out size
# into an attribute, which --dump-dom then prints.
MEASURE = f"""<script>
for (const e of document.querySelectorAll("section, svg")) {{
  const box = e.getBoundingClientRect();
  e.setAttribute("{SIZE_ATTR}", box.width + " " + box.height);
}}
const root = document.documentElement;
root.setAttribute("{SIZE_ATTR}", root.scrollWidth + " " + root.scrollHeight);
</script>"""


@dataclass(frozen=True)
class Box:
    """One element as laid out: its tag, its id and its size in CSS pixels."""

    tag: str
    id: str
    width: float
    height: float


@dataclass(frozen=True)
class Layout:
    """A page as laid out: the whole document, its sections and its plots, in page order."""

    page: Box
    sections: list[Box]
    svgs: list[Box]


def find_chromium() -> Path:
    """The browser $TEXTAUTO_CHROMIUM names, else the first of CHROMIUM_NAMES on PATH."""
    named = os.environ.get(CHROMIUM_ENV)
    if named:
        if (found := shutil.which(named)) is None:
            raise BrowserError(f"{CHROMIUM_ENV}={named}: no such browser executable")
        return Path(found)
    for name in CHROMIUM_NAMES:
        if found := shutil.which(name):
            return Path(found)
    raise BrowserError(
        f"no Chromium found: none of {', '.join(CHROMIUM_NAMES)} is on PATH and {CHROMIUM_ENV} is not set "
        "(on Debian: apt-get install chromium)"
    )


def unavailable() -> str | None:
    """Why no browser can be used here, or None when one can."""
    try:
        find_chromium()
    except BrowserError as exc:
        return str(exc)
    return None


def screenshot(
    report: Path, png: Path, width: int = WIDTH, height: int | None = None, timeout: float = TIMEOUT_S
) -> Path:
    """Write a PNG of ``report`` as Chromium draws it ``width`` pixels wide and return its path;
    ``height`` None takes the whole page (up to MAX_HEIGHT)."""
    _check_page(report)
    if height is None:
        height = min(MAX_HEIGHT, math.ceil(layout(report, width, timeout=timeout).page.height))
    with tempfile.TemporaryDirectory(prefix="textauto-shot-") as tmp:
        shot = Path(tmp) / png.name
        args = [f"--screenshot={shot}", f"--window-size={width},{height}"]
        browser, _ = _run(report, args, timeout)
        if not shot.is_file() or shot.read_bytes()[: len(PNG_SIGNATURE)] != PNG_SIGNATURE:
            raise BrowserError(f"{browser} wrote no PNG of {report}")
        shutil.move(shot, png)  # whole: a reader never sees half an image
    return png


def layout(page: Path, width: int = WIDTH, height: int = HEIGHT, timeout: float = TIMEOUT_S) -> Layout:
    """Render ``page`` in a ``width`` x ``height`` window and measure its sections and plots."""
    _check_page(page)
    with tempfile.TemporaryDirectory(prefix="textauto-layout-") as tmp:
        copy = Path(tmp) / page.name
        copy.write_text(page.read_text(encoding="utf-8") + MEASURE, encoding="utf-8")
        _, dom = _run(copy, ["--dump-dom", f"--window-size={width},{height}"], timeout, shown=page)
    sizes = _Sizes()
    sizes.feed(dom)
    pages = [b for b in sizes.boxes if b.tag == "html"]
    if not pages:
        raise BrowserError(f"Chromium returned no measured page for {page}")
    return Layout(
        pages[0], [b for b in sizes.boxes if b.tag == "section"], [b for b in sizes.boxes if b.tag == "svg"]
    )


class _Sizes(HTMLParser):
    """The boxes MEASURE marked in a dumped DOM, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.boxes: list[Box] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if size := found.get(SIZE_ATTR):
            width, height = (float(v) for v in size.split())
            self.boxes.append(Box(tag, found.get("id") or "", width, height))


def _check_page(page: Path) -> None:
    # Chromium opens a missing file as an error page and exits 0
    if not page.is_file():
        raise BrowserError(f"{page}: no such page to render")


def _run(page: Path, args: list[str], timeout: float, shown: Path | None = None) -> tuple[Path, str]:
    """Run headless Chromium on ``page`` with ``args``; the browser and its standard output.
    Errors name ``shown`` (default ``page``), the file the caller was asked about."""
    shown = shown or page
    try:
        browser = find_chromium()
    except BrowserError as exc:
        raise BrowserError(f"cannot render {shown}: {exc}") from None
    with tempfile.TemporaryDirectory(prefix="textauto-chromium-", ignore_cleanup_errors=True) as profile:
        command = [str(browser), *_flags(Path(profile)), *args, page.resolve().as_uri()]
        try:
            out, err, code = _communicate(command, timeout)
        except OSError as exc:
            raise BrowserError(f"{browser} could not start to render {shown}: {exc}") from None
        except subprocess.TimeoutExpired:
            raise BrowserError(f"{browser} did not finish rendering {shown} within {timeout:g} s") from None
    if code != 0:
        last = next((line for line in reversed(err.splitlines()) if line.strip()), "no message")
        raise BrowserError(f"{browser} failed on {shown} (exit {code}): {last[:300]}")
    return browser, out


def _communicate(command: list[str], timeout: float) -> tuple[str, str, int]:
    """Standard output, standard error and exit code of ``command``, killed whole after ``timeout``."""
    # its own session: Chromium's helper processes would outlive a kill of the first one
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    ) as process:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
    return out, err, process.returncode


def _flags(profile: Path) -> list[str]:
    """Headless with a throwaway profile, and nothing reachable over the network."""
    # Chromium's sandbox will not start as root
    sandbox = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    return [
        "--headless", "--disable-gpu", "--hide-scrollbars", *sandbox,
        f"--user-data-dir={profile}", "--no-first-run", "--no-default-browser-check", "--disable-sync",
        "--disable-extensions", "--disable-background-networking", "--disable-component-update",
        # no name resolves, and every request goes to a closed port; "<-loopback>" drops the
        # proxy's implicit bypass of localhost, so a page cannot reach this machine's servers either
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
    ]  # fmt: skip
