"""Micro-batching: concurrent requests share model calls, each gets its own answers."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

import textauto
from service import ServiceSettings, create_app
from service.batching import BatchStats, MicroBatcher


def echo(calls: list[list[str]], delay: float = 0.0, poison: str | None = None):
    """A model whose label is the text itself; it fails on any call holding ``poison``."""

    def predict(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        calls.append(list(texts))
        if poison in texts:
            raise ValueError(f"cannot predict {poison!r}")
        time.sleep(delay)
        return np.asarray(texts, dtype=object), np.arange(len(texts), dtype=float)[:, None]

    return predict


async def batched(batcher: MicroBatcher, requests: list[list[str]]) -> list:
    batcher.start()
    try:
        return await asyncio.gather(*(batcher.predict(r) for r in requests), return_exceptions=True)
    finally:
        await batcher.stop()


def test_concurrent_requests_share_calls_and_get_their_own_rows_in_order():
    calls: list[list[str]] = []
    stats: list[BatchStats] = []
    requests = [[f"r{i}-t{j}" for j in range(i % 3 + 1)] for i in range(20)]
    batcher = MicroBatcher(echo(calls, delay=0.01), max_texts=16, max_wait=0.05, observe=stats.append)
    answers = asyncio.run(batched(batcher, requests))
    for request, (labels, _) in zip(requests, answers, strict=True):
        assert list(labels) == request
    assert len(calls) < len(requests)  # shared
    assert all(len(c) <= 16 for c in calls)
    assert sum(s.texts for s in stats) == sum(map(len, requests))
    assert sum(s.requests for s in stats) == len(requests)
    assert all(w >= 0 for s in stats for w in s.queue_waits)


def test_a_request_larger_than_a_batch_is_predicted_whole():
    calls: list[list[str]] = []
    big = [f"t{j}" for j in range(40)]
    (labels, _), (small, _) = asyncio.run(
        batched(MicroBatcher(echo(calls), max_texts=16, max_wait=0.01), [big, ["x"]])
    )
    assert list(labels) == big and list(small) == ["x"]
    assert big in calls


def test_an_error_reaches_only_the_request_that_caused_it():
    calls: list[list[str]] = []
    requests = [["a"], ["b", "poison"], ["c"], ["d"]]
    batcher = MicroBatcher(echo(calls, poison="poison"), max_texts=64, max_wait=0.05)
    answers = asyncio.run(batched(batcher, requests))
    assert isinstance(answers[1], ValueError) and "poison" in str(answers[1])
    for i in (0, 2, 3):
        assert list(answers[i][0]) == requests[i]


def test_a_lone_request_is_not_kept_waiting():
    """Once a batch held one request alone, the next lone one goes at once, not after the wait."""
    calls: list[list[str]] = []

    async def one_after_another() -> list[float]:
        batcher = MicroBatcher(echo(calls), max_texts=64, max_wait=0.5)
        batcher.start()
        took = []
        for i in range(5):
            started = time.perf_counter()
            await batcher.predict([f"t{i}"])
            took.append(time.perf_counter() - started)
        await batcher.stop()
        return took

    assert max(asyncio.run(one_after_another())) < 0.25  # far below the 0.5 s wait


def test_requests_sent_just_after_a_call_ends_join_the_one_waiting_for_it():
    """The wait runs from when the model is free, not from when the first waiting request came:
    clients just answered have time to send again, and their requests share the next call."""
    calls: list[list[str]] = []

    async def scenario() -> None:
        batcher = MicroBatcher(echo(calls, delay=0.2), max_texts=64, max_wait=0.3)
        batcher.start()
        busy = asyncio.gather(batcher.predict(["a"]), batcher.predict(["b"]))  # one call, to 0.2 s
        await asyncio.sleep(0.01)
        early = asyncio.ensure_future(batcher.predict(["early"]))  # waits while the model is busy
        await asyncio.sleep(0.34)  # 0.35 s: past early's arrival + 0.3 s, before 0.2 s + 0.3 s
        await asyncio.gather(busy, early, batcher.predict(["late"]))
        await batcher.stop()

    asyncio.run(scenario())
    assert calls == [["a", "b"], ["early", "late"]]


def test_a_batch_closes_once_as_many_requests_wait_as_the_last_one_served():
    """Two clients in turn: each call closes when both have sent again, not after the long wait."""
    calls: list[list[str]] = []

    async def two_clients() -> float:
        batcher = MicroBatcher(echo(calls, delay=0.05), max_texts=64, max_wait=2.0)
        batcher.start()

        async def client(name: str) -> None:
            for i in range(4):
                await batcher.predict([f"{name}{i}"])

        started = time.perf_counter()
        await asyncio.gather(client("a"), client("b"))
        await batcher.stop()
        return time.perf_counter() - started

    took = asyncio.run(two_clients())
    assert took < 1.0  # four calls of 0.05 s; one full wait would be 2 s
    assert calls == [[f"a{i}", f"b{i}"] for i in range(4)]


def samples(client: TestClient, name: str) -> dict[tuple, float]:
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(client.get("/metrics").text)
        for s in family.samples
        if s.name == name
    }


@pytest.mark.parametrize("wait_ms", [2.0, 0.0])
def test_the_service_answers_as_the_library_with_batching_on_and_off(trained_bundle, wait_ms):
    settings = ServiceSettings(model_dir=trained_bundle, max_batch_wait_ms=wait_ms, max_batch_texts=8)
    texts = [
        f"my invoice {i} was charged twice" if i % 2 else f"the app crashes on page {i}" for i in range(24)
    ]
    expected = [str(x) for x in textauto.load(trained_bundle).predict(texts)]
    with TestClient(create_app(settings)) as client:

        async def send_all() -> list:
            loop = asyncio.get_running_loop()
            return await asyncio.gather(
                *(
                    loop.run_in_executor(None, lambda t=t: client.post("/v1/predict", json={"texts": [t]}))
                    for t in texts
                )
            )

        responses = asyncio.run(send_all())
        assert [r.status_code for r in responses] == [200] * len(texts)
        assert [r.json()["predictions"][0]["label"] for r in responses] == expected
        model_calls = samples(client, "textauto_model_batch_texts_count")[()]
        assert samples(client, "textauto_model_batch_texts_sum")[()] == len(texts)
        waits = samples(client, "textauto_batch_queue_wait_seconds_count")
        if wait_ms:
            assert model_calls <= len(texts) and waits[()] == len(texts)
        else:
            assert model_calls == len(texts) and waits[()] == 0
