"""One queue for all transcription work, so every session stays real-time.

Finals (pieces of a turn, whose text the reply waits for) always go first, then
the filler-counting verbatim passes, then partials (live captions). Partials
coalesce per session: a newer request replaces an older one that has not
started, so under load sessions get fewer partials instead of a backlog that grows without bound.
"""

from __future__ import annotations

import asyncio
import itertools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from server.engines.stt import SpeechToText, TranscribeOptions, Transcription


@dataclass(order=True)
class _Job:
    priority: int
    seq: int
    audio: np.ndarray = field(compare=False)
    options: TranscribeOptions = field(compare=False)
    future: asyncio.Future[Transcription | None] = field(compare=False)
    key: str | None = field(compare=False, default=None)


FINAL, VERBATIM, PARTIAL = 0, 1, 2


class TranscriptionScheduler:
    def __init__(self, stt: SpeechToText, workers: int = 1) -> None:
        self.stt = stt
        self.workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stt")
        self._queue: asyncio.PriorityQueue[_Job] | None = None
        self._pending_partials: dict[str, _Job] = {}
        self._seq = itertools.count()
        self._tasks: list[asyncio.Task[None]] = []
        self.stats = {"finals": 0, "verbatim": 0, "partials": 0, "partials_dropped": 0}

    async def start(self) -> None:
        self._queue = asyncio.PriorityQueue()
        self._tasks = [asyncio.create_task(self._worker()) for _ in range(self.workers)]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _submit(self, priority: int, audio: np.ndarray, options: TranscribeOptions,
                key: str | None) -> asyncio.Future[Transcription | None]:
        if self._queue is None:
            raise RuntimeError("scheduler not started")
        future: asyncio.Future[Transcription | None] = asyncio.get_running_loop().create_future()
        job = _Job(priority, next(self._seq), audio, options, future, key)
        if key is not None:
            older = self._pending_partials.pop(key, None)
            if older is not None and not older.future.done():
                older.future.set_result(None)  # superseded before it ran
                self.stats["partials_dropped"] += 1
            self._pending_partials[key] = job
        self._queue.put_nowait(job)
        return future

    def drop_partial(self, key: str) -> None:
        """A final for this session is coming: its pending partial would only delay it."""
        job = self._pending_partials.pop(key, None)
        if job is not None and not job.future.done():
            job.future.set_result(None)
            self.stats["partials_dropped"] += 1

    def final(self, audio: np.ndarray, options: TranscribeOptions) -> asyncio.Future[Transcription | None]:
        return self._submit(FINAL, audio, options, None)

    def backlog(self) -> int:
        """Jobs waiting for the worker (some may be superseded partials)."""
        return self._queue.qsize() if self._queue is not None else 0

    def verbatim(self, audio: np.ndarray,
                 options: TranscribeOptions) -> asyncio.Future[Transcription | None]:
        return self._submit(VERBATIM, audio, options, None)

    def partial(self, key: str, audio: np.ndarray,
                options: TranscribeOptions) -> asyncio.Future[Transcription | None]:
        return self._submit(PARTIAL, audio, options, key)

    async def _worker(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            job = await self._queue.get()
            if job.key is not None and self._pending_partials.get(job.key) is job:
                del self._pending_partials[job.key]
            if job.future.done():  # superseded or cancelled by its session
                continue
            try:
                result = await loop.run_in_executor(self._pool, self.stt.transcribe, job.audio,
                                                    job.options)
            except Exception as exc:  # reported to the one session that asked
                if not job.future.done():
                    job.future.set_exception(exc)
                continue
            self.stats[("finals", "verbatim", "partials")[job.priority]] += 1
            if not job.future.done():
                job.future.set_result(result)
