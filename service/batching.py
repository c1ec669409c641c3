"""Adaptive micro-batching: the texts of concurrent requests predicted in one model call.

A model predicts a batch of texts many times faster per text than one text at a time (its
per-call work is paid once). Requests wait in a queue; one task forms batches and worker
threads predict them while the next one gathers, so under load a batch holds whatever arrived
meanwhile. A batch closes when it holds ``max_texts`` texts, ``max_wait`` seconds after a thread
became free for it, or as soon as it holds as many requests as there were clients last time
(the previous batch's requests and those left waiting): the clients just answered get time to
send again, else batches alternate between two halves of them, and a lone client is never
kept waiting. Each request gets its own rows back; a batch that fails is predicted again
request by request, so an error reaches only the request causing it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

Rows = tuple[np.ndarray, np.ndarray]  # labels and class probabilities, one row per text
PredictFn = Callable[[list[str]], Rows]


@dataclass
class BatchStats:
    """What one model call was: observed by the service's metrics."""

    texts: int
    requests: int
    queue_waits: list[float]  # seconds each request waited before the call began
    seconds: float  # the model call


@dataclass
class _Waiting:
    texts: list[str]
    future: asyncio.Future[Rows]
    arrived: float = field(default_factory=time.perf_counter)


class MicroBatcher:
    """Coalesces ``predict`` calls of concurrent requests into at most ``threads`` model calls at
    a time; start it inside the event loop."""

    def __init__(
        self,
        predict: PredictFn,
        max_texts: int,
        max_wait: float,
        observe: Callable[[BatchStats], None] = lambda stats: None,
        threads: int = 1,
    ) -> None:
        self._predict = predict
        self.max_texts = max_texts
        self.max_wait = max_wait
        self._observe = observe
        self._queue: deque[_Waiting] = deque()
        self._arrival = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="textauto-batch")
        self._free = asyncio.Semaphore(threads)
        self._calls: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._clients = 1  # the last batch's requests and those left waiting: who sends next

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="textauto-batcher")

    async def stop(self) -> None:
        """After the last request is answered (the server drains them before the lifespan ends)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._executor.shutdown(wait=True)

    async def predict(self, texts: list[str]) -> Rows:
        """The labels and probabilities of ``texts``, predicted with other requests' texts."""
        waiting = _Waiting(texts, asyncio.get_running_loop().create_future())
        self._queue.append(waiting)
        self._arrival.set()
        return await waiting.future

    async def _run(self) -> None:
        while True:
            if not self._queue:
                self._arrival.clear()
                await self._arrival.wait()
            await self._free.acquire()  # a thread is free: the next batch forms now
            call = asyncio.get_running_loop().create_task(self._call(await self._gather()))
            self._calls.add(call)
            call.add_done_callback(self._done)

    def _done(self, call: asyncio.Task[None]) -> None:
        self._calls.discard(call)
        self._free.release()

    async def _gather(self) -> list[_Waiting]:
        batch: list[_Waiting] = []
        n = 0
        deadline = time.perf_counter() + self.max_wait
        while True:
            while self._queue and (not batch or n + len(self._queue[0].texts) <= self.max_texts):
                batch.append(self._queue.popleft())
                n += len(batch[-1].texts)
            left = deadline - time.perf_counter()
            if self._queue or n >= self.max_texts or left <= 0 or len(batch) >= self._clients:
                break
            self._arrival.clear()
            try:
                await asyncio.wait_for(self._arrival.wait(), left)
            except TimeoutError:
                break
        self._clients = len(batch) + len(self._queue)
        return batch

    async def _call(self, batch: list[_Waiting]) -> None:
        texts = [text for waiting in batch for text in waiting.texts]
        started = time.perf_counter()
        try:
            labels, proba = await asyncio.get_running_loop().run_in_executor(
                self._executor, self._predict, texts
            )
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0].future, exc=exc)
            else:  # find the request that fails: each again on its own
                for waiting in batch:
                    await self._call([waiting])
            return
        ended = time.perf_counter()
        self._observe(
            BatchStats(len(texts), len(batch), [started - w.arrived for w in batch], ended - started)
        )
        at = 0
        for waiting in batch:
            k = len(waiting.texts)
            _settle(waiting.future, rows=(labels[at : at + k], proba[at : at + k]))
            at += k


def _settle(future: asyncio.Future[Rows], rows: Rows | None = None, exc: Exception | None = None) -> None:
    if future.done():  # the request was cancelled meanwhile
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(rows)  # type: ignore[arg-type]
