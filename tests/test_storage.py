"""Several workers share one Optuna study in PostgreSQL (127.0.0.1:5432, database `test`)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import uuid

import optuna
import pytest

from tests.conftest import DEMO_TRAIN
from textauto.bundle import MODEL_FILE

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_available() -> bool:
    try:
        import sqlalchemy as sa

        with sa.create_engine(PG_URL).connect() as conn:
            conn.execute(sa.text("select 1"))
        return True
    except Exception:
        return False


# Skipped only on a machine without the server; .ci/run sets TEXTAUTO_REQUIRE_POSTGRES so CI fails instead.
pytestmark = pytest.mark.skipif(
    not os.environ.get("TEXTAUTO_REQUIRE_POSTGRES") and not postgres_available(),
    reason="needs PostgreSQL on 127.0.0.1:5432 (trust auth, database test)",
)


@pytest.fixture
def study_name():
    name = f"textauto-test-{uuid.uuid4().hex[:8]}"
    yield name
    with contextlib.suppress(KeyError):
        optuna.delete_study(study_name=name, storage=PG_URL)


def test_two_workers_share_one_study(tmp_path, study_name):
    def worker(i: int) -> subprocess.Popen:
        return subprocess.Popen(
            [
                sys.executable, "-m", "textauto", "train", str(DEMO_TRAIN), "--storage", PG_URL,
                "--study-name", study_name, "--n-trials", "12", "--time-budget", "120", "--n-jobs", "1",
                "--out", str(tmp_path / f"worker{i}"),
                # fast classifiers only: a LightGBM trial took 40 s on the demo data beside the other
                # worker, which can leave the clock, not --n-trials, to stop the study short of 12
                "--space.classifiers", '["linear_svc", "logreg", "ridge", "nbsvm", "complement_nb"]',
            ],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    procs = [worker(0), worker(1)]
    for proc in procs:
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
    study = optuna.load_study(study_name=study_name, storage=PG_URL)
    finished = [t for t in study.trials if t.state.is_finished()]
    # what each trial was, should this fail again (it failed once in a full local run)
    seen = [
        (t.number, t.state.name, t.user_attrs.get("worker"), t.user_attrs.get("note")) for t in study.trials
    ]
    assert 12 <= len(finished) <= 14, seen  # each worker stops once the study holds 12 (one may be in flight)
    portfolio = [t for t in study.trials if t.user_attrs.get("portfolio")]
    assert len({json.dumps(t.params, sort_keys=True) for t in portfolio}) == len(portfolio), seen
    for i in range(2):
        out = tmp_path / f"worker{i}"
        assert (out / MODEL_FILE).exists() and not (out / "study.db").exists()
        manifest = json.loads((out / "manifest.json").read_text())
        # the winner is a trial of the shared study (either worker's), saved with its parameters
        winner = study.trials[manifest["best_trial"]]
        assert winner.state.name == "COMPLETE" and winner.params == manifest["best_params"]


def test_workers_started_together_on_a_new_database_both_open_the_storage():
    """Optuna creates its tables on first use; two workers doing it at once collided (one of
    the two failed in five rounds of five)."""
    import sqlalchemy as sa

    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    for _ in range(3):
        name = f"textauto_race_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
        try:
            url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
            code = f"from textauto.search.study import make_storage; make_storage({url!r})"
            procs = [
                subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
                for _ in range(2)
            ]
            for proc in procs:
                _, err = proc.communicate(timeout=60)
                assert proc.returncode == 0, err
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()
