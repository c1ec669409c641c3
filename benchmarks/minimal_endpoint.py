"""The reference for benchmarks/serve_load.py: a minimal hand-written FastAPI endpoint.

What a person writes in a few lines to serve a fitted pipeline: no metrics, no limits, no
validation beyond the body schema. Run with:
    MODEL_DIR=path/to/bundle uvicorn --factory minimal_endpoint:app
"""

import os

import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

import textauto


class Texts(BaseModel):
    texts: list[str]


def app() -> FastAPI:
    pipeline = textauto.load(os.environ["MODEL_DIR"]).pipeline
    api = FastAPI()

    @api.post("/predict")
    def predict(body: Texts) -> dict:
        return {"labels": [str(x) for x in pipeline.predict(np.asarray(body.texts, dtype=object))]}

    return api
