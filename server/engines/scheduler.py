"""One queue for all transcription work, so every session stays real-time.

The one worker takes, each time it is free, the most urgent job waiting:

1. pieces of a turn whose speaker has gone quiet: the turn may have ended, and the
   reply waits on exactly this text;
2. other pieces (the candidate is still talking, so they are only needed by the
   end of the turn);
3. the filler-counting verbatim passes;
4. partials (live captions).

Pieces of the same urgency from different sessions are transcribed together, in one
batch (see `WhisperSTT.transcribe_many`): when candidates finish answering at the
same moment, the last of them waits for one batch instead of a queue of pieces.
Urgency is asked at the moment of choosing, not when the job was queued: a piece
queued while the candidate spoke becomes urgent when they stop. Partials coalesce
per session: a newer request replaces an older one that has not started, so under
load sessions get fewer partials instead of a backlog that grows without bound. The
newer request keeps the older one's place in line: sent to the back, a session that
asks again before its turn comes would wait behind every other session each time.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from server.engines.stt import SpeechToText, TranscribeOptions, Transcription

URGENT, FINAL, VERBATIM, PARTIAL = 0, 1, 2, 3
#: Pieces transcribed together at most: all the sessions a small machine serves when
#: all of them are waiting for their reply; only two when none is, because a batch
#: cannot be interrupted and a candidate who stops meanwhile waits for all of it.
MAX_BATCH = {URGENT: 8, FINAL: 2}
_KINDS = ("finals", "finals", "verbatim", "partials")


@dataclass
class _Job:
    priority: int
    seq: int
    audio: np.ndarray
    options: TranscribeOptions
    future: asyncio.Future[Transcription | None]
    key: str | None = None
    #: For a piece: whether its speaker is silent now (it may be the last one).
    urgent: Callable[[], bool] | None = field(default=None)

    def rank(self) -> tuple[int, int]:
        if self.priority == FINAL and self.urgent is not None and self.urgent():
            return URGENT, self.seq
        return self.priority, self.seq


class TranscriptionScheduler:
    def __init__(self, stt: SpeechToText, workers: int = 1) -> None:
        self.stt = stt
        self.workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stt")
        self._jobs: list[_Job] = []
        self._wake: asyncio.Event | None = None
        self._pending_partials: dict[str, _Job] = {}
        self._seq = itertools.count()
        self._tasks: list[asyncio.Task[None]] = []
        self.stats = {"finals": 0, "urgent": 0, "verbatim": 0, "partials": 0,
                      "partials_dropped": 0, "batched": 0}

    async def start(self) -> None:
        self._wake = asyncio.Event()
        self._tasks = [asyncio.create_task(self._worker()) for _ in range(self.workers)]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _submit(self, priority: int, audio: np.ndarray, options: TranscribeOptions,
                key: str | None = None,
                urgent: Callable[[], bool] | None = None) -> asyncio.Future[Transcription | None]:
        if self._wake is None:
            raise RuntimeError("scheduler not started")
        future: asyncio.Future[Transcription | None] = asyncio.get_running_loop().create_future()
        seq = next(self._seq)
        older = self._pending_partials.pop(key, None) if key is not None else None
        if older is not None and not older.future.done():
            older.future.set_result(None)  # superseded before it ran
            self.stats["partials_dropped"] += 1
            seq = older.seq
        job = _Job(priority, seq, audio, options, future, key, urgent)
        if key is not None:
            self._pending_partials[key] = job
        self._jobs.append(job)
        self._wake.set()
        return future

    def drop_partial(self, key: str) -> None:
        """A final for this session is coming: its pending partial would only delay it."""
        job = self._pending_partials.pop(key, None)
        if job is not None and not job.future.done():
            job.future.set_result(None)
            self.stats["partials_dropped"] += 1

    def withdraw(self, future: asyncio.Future[Transcription | None]) -> bool:
        """Take back a job that has not started (its audio will come in a longer one)."""
        for index, job in enumerate(self._jobs):
            if job.future is future:
                del self._jobs[index]
                return not future.done()
        return False

    def final(self, audio: np.ndarray, options: TranscribeOptions,
              urgent: Callable[[], bool] | None = None) -> asyncio.Future[Transcription | None]:
        """A piece of a turn; `urgent()` says, when the worker is choosing, whether the
        turn may be over (its text then goes before the pieces of speakers still talking)."""
        return self._submit(FINAL, audio, options, urgent=urgent)

    def backlog(self) -> int:
        """Jobs waiting for the worker."""
        return sum(1 for job in self._jobs if not job.future.done())

    def verbatim(self, audio: np.ndarray,
                 options: TranscribeOptions) -> asyncio.Future[Transcription | None]:
        return self._submit(VERBATIM, audio, options)

    def partial(self, key: str, audio: np.ndarray,
                options: TranscribeOptions) -> asyncio.Future[Transcription | None]:
        return self._submit(PARTIAL, audio, options, key=key)

    def _next(self) -> tuple[list[_Job], int] | None:
        """The most urgent job, with the pieces of the same urgency it can share a batch
        with (when the engine transcribes several at once)."""
        self._jobs = [job for job in self._jobs if not job.future.done()]
        if not self._jobs:
            return None
        ranked = sorted((job.rank(), index) for index, job in enumerate(self._jobs))
        rank = ranked[0][0][0]
        taken = [ranked[0][1]]
        if rank in MAX_BATCH and hasattr(self.stt, "transcribe_many"):
            taken += [index for (r, _), index in ranked[1:] if r == rank][:MAX_BATCH[rank] - 1]
        batch = [self._jobs[index] for index in taken]
        chosen = set(taken)
        self._jobs = [job for index, job in enumerate(self._jobs) if index not in chosen]
        for job in batch:
            if job.key is not None and self._pending_partials.get(job.key) is job:
                del self._pending_partials[job.key]
        return batch, rank

    def _transcribe(self, batch: list[_Job]) -> list[Transcription]:
        if len(batch) == 1:
            return [self.stt.transcribe(batch[0].audio, batch[0].options)]
        return self.stt.transcribe_many([(job.audio, job.options) for job in batch])  # type: ignore[attr-defined]

    async def _worker(self) -> None:
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        while True:
            chosen = self._next()
            if chosen is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            batch, rank = chosen
            try:
                results = await loop.run_in_executor(self._pool, self._transcribe, batch)
            except Exception as exc:  # reported to the sessions that asked
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(exc)
                continue
            if len(batch) > 1:
                self.stats["batched"] += len(batch)
            for job, result in zip(batch, results, strict=True):
                self.stats[_KINDS[job.priority]] += 1
                if rank == URGENT:
                    self.stats["urgent"] += 1
                if not job.future.done():
                    job.future.set_result(result)
