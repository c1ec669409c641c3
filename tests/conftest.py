from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from textauto.cli import app

ROOT = Path(__file__).resolve().parents[1]
DEMO_TRAIN = ROOT / "data" / "train.csv"
DEMO_TEST = ROOT / "data" / "test.csv"
SHARED = ROOT.parent / "shared" / "datasets"


def read_demo(path: Path = DEMO_TRAIN) -> tuple[list[str], list[str]]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [r["label"] for r in rows]


@pytest.fixture(scope="session")
def demo() -> tuple[list[str], list[str]]:
    return read_demo()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def invoke(runner: CliRunner):
    """Run the CLI in-process; returns the click Result (exit_code, stdout, stderr)."""

    def _invoke(*args: str):
        return runner.invoke(app, [str(a) for a in args])

    return _invoke


def write_csv(path: Path, rows: list[dict[str, object]], header: list[str] | None = None) -> Path:
    header = header or list(rows[0])
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="session")
def trained_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small bundle trained once on the demo data through the CLI."""
    out = tmp_path_factory.mktemp("bundle") / "model"
    result = CliRunner().invoke(
        app,
        [
            "train",
            str(DEMO_TRAIN),
            "--test",
            str(DEMO_TEST),
            "--n-trials",
            "6",
            "--n-jobs",
            "1",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def spacy_pipe_calls(monkeypatch) -> list[int]:
    """Sizes of the batches the blank English pipeline is asked to parse from now on."""
    from textauto.features import spacy_parse

    calls: list[int] = []
    nlp = spacy_parse.load_pipeline("en", None)
    original = nlp.pipe

    def counting_pipe(texts, **kw):
        texts = list(texts)
        calls.append(len(texts))
        return original(texts, **kw)

    monkeypatch.setattr(nlp, "pipe", counting_pipe)
    return calls
