"""The reference for benchmarks/serve_load.py: a bare FastAPI endpoint calling the model directly.

What a person writes in a few lines to serve a bundle: the model's own batch predict on each
request's texts, no metrics, no limits, no validation beyond the body schema. Run with:
    MODEL_DIR=path/to/bundle uvicorn --factory minimal_endpoint:app
"""

import os

from fastapi import FastAPI
from pydantic import BaseModel

import textauto


class Texts(BaseModel):
    texts: list[str]


def app() -> FastAPI:
    model = textauto.load(os.environ["MODEL_DIR"])
    api = FastAPI()

    @api.post("/predict")
    def predict(body: Texts) -> dict:
        return {"labels": [str(x) for x in model.predict(body.texts)]}

    return api
