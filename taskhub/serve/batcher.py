"""Micro-batching: concurrent requests share one ``predict`` call.

One worker takes the first waiting request, then whatever else arrives within ``max_wait``
seconds (or is already queued), up to ``max_batch`` inputs, and predicts them together in a
thread. While a batch runs, new requests queue up and form the next one, so batches grow with
load and a lone request waits at most ``max_wait``. A batch that fails, or whose rows do not map
one to one onto its inputs, is redone request by request, so one bad request fails alone.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("taskhub")
Job = tuple[list[Any], str, "asyncio.Future[list[dict[str, Any]]]"]


class MicroBatcher:
    def __init__(self, predict: Callable[[list[Any]], list[dict[str, Any]]], max_batch: int = 32,
                 max_wait: float = 0.001) -> None:
        self.predict, self.max_batch, self.max_wait = predict, max(1, int(max_batch)), max(0.0, float(max_wait))
        self.queue: asyncio.Queue[Job] = asyncio.Queue()
        self.batches: list[int] = []  # inputs per predict call, for tests and logs
        self._worker: asyncio.Task | None = None

    def start(self) -> None:
        self._worker = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()

    async def submit(self, inputs: list[Any], kind: str = "values") -> list[dict[str, Any]]:
        """Rows for ``inputs``; only requests of the same ``kind`` (uploaded files, JSON values)
        share a batch, since a task may order files and values differently."""
        future: asyncio.Future[list[dict[str, Any]]] = asyncio.get_running_loop().create_future()
        await self.queue.put((inputs, kind, future))
        return await future

    async def _collect(self) -> list[Job]:
        jobs = [await self.queue.get()]
        size = len(jobs[0][0])
        deadline = asyncio.get_running_loop().time() + self.max_wait
        while size < self.max_batch:
            try:
                job = self.queue.get_nowait()
            except asyncio.QueueEmpty:
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    break
                try:
                    job = await asyncio.wait_for(self.queue.get(), left)
                except asyncio.TimeoutError:
                    break
            jobs.append(job)
            size += len(job[0])
        return jobs

    async def _run(self) -> None:
        while True:
            jobs = await self._collect()
            try:
                await self._predict(jobs)
            except Exception as exc:  # never let the worker die: fail the requests instead
                for *_, future in jobs:
                    if not future.done():
                        future.set_exception(exc)

    async def _predict(self, jobs: list[Job]) -> None:
        if len(jobs) > 1 and len({kind for _, kind, _ in jobs}) == 1:
            combined = [x for inputs, _, _ in jobs for x in inputs]
            try:
                rows = await asyncio.to_thread(self.predict, combined)
            except Exception:
                rows = None  # someone's bad input: redo one by one so only that request fails
            if rows is not None and len(rows) == len(combined):
                self.batches.append(len(combined))
                start = 0
                for inputs, _, future in jobs:
                    _settle(future, rows[start:start + len(inputs)])
                    start += len(inputs)
                return
        for inputs, _, future in jobs:
            try:
                rows = await asyncio.to_thread(self.predict, inputs)
                self.batches.append(len(inputs))
                _settle(future, rows)
            except Exception as exc:
                _settle(future, error=exc)


def _settle(future: asyncio.Future, rows: Any = None, error: BaseException | None = None) -> None:
    """Hand a request its rows or its error, unless its client has gone (the future was cancelled)."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(rows)
