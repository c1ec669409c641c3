"""The reference for benchmarks/serve_load.py: a minimal hand-written FastAPI endpoint.

What a person writes in a few lines to serve a joblib pipeline: no metrics, no limits, no
validation beyond the body schema. Run with:
    MODEL=path/to/model.joblib uvicorn --factory minimal_endpoint:app
"""

import os

import joblib
import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel


class Texts(BaseModel):
    texts: list[str]


def app() -> FastAPI:
    pipeline = joblib.load(os.environ["MODEL"])
    api = FastAPI()

    @api.post("/predict")
    def predict(body: Texts) -> dict:
        return {"labels": [str(x) for x in pipeline.predict(np.asarray(body.texts, dtype=object))]}

    return api
