"""`textauto serve`: run the app under uvicorn, with multiprocess metrics for several workers."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from textauto.bundle import check_bundle

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_dir() -> Path:
    """An empty directory for prometheus-client's multiprocess files, named in the environment.

    Stale files from an earlier run would add old counts to the new one, so it is emptied.
    """
    given = os.environ.get(MULTIPROC_ENV)
    path = Path(given) if given else Path(tempfile.mkdtemp(prefix="textauto-metrics-"))
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(path)
    return path


def serve(model_dir: Path, host: str, port: int, workers: int, log_level: str = "info") -> None:
    import uvicorn

    check_bundle(model_dir)
    os.environ["TEXTAUTO_MODEL_DIR"] = str(Path(model_dir).resolve())
    if workers > 1:
        prepare_multiprocess_dir()
    uvicorn.run(
        "service.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,  # requests are counted in /metrics; a line per request costs throughput
    )
