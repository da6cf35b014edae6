"""One queue for all transcription work, so every session stays real-time.

Its jobs run on the shared `CpuLane` (see `lane.py`, with the synthesis of replies),
which takes, each time it is free, the most urgent job waiting; of transcription:

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
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import numpy as np

from server.engines import lane as ranks
from server.engines.lane import CpuLane
from server.engines.stt import SpeechToText, TranscribeOptions, Transcription

URGENT, FINAL, VERBATIM, PARTIAL = ranks.URGENT_FINAL, ranks.FINAL, ranks.VERBATIM, ranks.PARTIAL
#: Pieces transcribed together at most: all the sessions a small machine serves when
#: all of them are waiting for their reply; only two when none is, because a batch
#: cannot be interrupted and a candidate who stops meanwhile waits for all of it.
MAX_BATCH = {URGENT: 8, FINAL: 2}
_KINDS = {URGENT: "finals", FINAL: "finals", VERBATIM: "verbatim", PARTIAL: "partials"}


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
    """Transcription jobs on a `CpuLane`: its own one-thread lane unless given the one
    shared with synthesis (`Engines.lane`). One Whisper model: one job at a time."""

    exclusive: str | None = "stt"  # one Whisper model: one job at a time

    def __init__(self, stt: SpeechToText, lane: CpuLane | None = None) -> None:
        self.stt = stt
        self._own_lane = lane is None
        self.lane = lane if lane is not None else CpuLane(workers=1)
        self._loop: asyncio.AbstractEventLoop | None = None
        # Touched on the event loop (queueing) and on a lane thread (choosing), always
        # under the lane's lock.
        self._jobs: list[_Job] = []
        self._pending_partials: dict[str, _Job] = {}
        self.stats = {"finals": 0, "urgent": 0, "verbatim": 0, "partials": 0,
                      "partials_dropped": 0, "batched": 0}

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.lane.attach(self)

    async def close(self) -> None:
        self.lane.detach(self)
        with self.lane.lock:
            self._jobs.clear()
            self._pending_partials.clear()
        if self._own_lane:
            self.lane.close()
        self._loop = None

    def _submit(self, priority: int, audio: np.ndarray, options: TranscribeOptions,
                key: str | None = None,
                urgent: Callable[[], bool] | None = None) -> asyncio.Future[Transcription | None]:
        if self._loop is None:
            raise RuntimeError("scheduler not started")
        future: asyncio.Future[Transcription | None] = self._loop.create_future()
        with self.lane.lock:
            seq = self.lane.next_seq()
            older = self._pending_partials.pop(key, None) if key is not None else None
            if older is not None and not older.future.done():
                older.future.set_result(None)  # superseded before it ran
                self.stats["partials_dropped"] += 1
                seq = older.seq
            job = _Job(priority, seq, audio, options, future, key, urgent)
            if key is not None:
                self._pending_partials[key] = job
            self._jobs.append(job)
        self.lane.kick()
        return future

    def drop_partial(self, key: str) -> None:
        """A final for this session is coming: its pending partial would only delay it."""
        with self.lane.lock:
            job = self._pending_partials.pop(key, None)
            if job is not None and not job.future.done():
                job.future.set_result(None)
                self.stats["partials_dropped"] += 1

    def withdraw(self, future: asyncio.Future[Transcription | None]) -> bool:
        """Take back a job that has not started (its audio will come in a longer one)."""
        with self.lane.lock:
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
        with self.lane.lock:
            return sum(1 for job in self._jobs if not job.future.done())

    def verbatim(self, audio: np.ndarray,
                 options: TranscribeOptions) -> asyncio.Future[Transcription | None]:
        return self._submit(VERBATIM, audio, options)

    def partial(self, key: str, audio: np.ndarray,
                options: TranscribeOptions) -> asyncio.Future[Transcription | None]:
        return self._submit(PARTIAL, audio, options, key=key)

    def whole(self, audio: np.ndarray,
              options: TranscribeOptions) -> asyncio.Future[Transcription | None]:
        """A whole answer again in one pass, for the stored transcript: nobody waits on
        it, so it goes with the filler passes, after every piece of a live answer."""
        return self._submit(VERBATIM, audio, options)

    # ---------------------------------------------------------------- the lane's side

    def best(self) -> tuple[int, int] | None:
        # A future is only ever completed on the loop; reading `done()` here is a
        # plain attribute read (a job cancelled meanwhile is skipped when it lands).
        self._jobs = [job for job in self._jobs if not job.future.done()]
        return min((job.rank() for job in self._jobs), default=None)

    def take(self) -> Callable[[], None] | None:
        chosen = self._next()
        if chosen is None:
            return None
        batch, rank = chosen
        return lambda: self._run(batch, rank)

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
        many = cast(Callable[[list[tuple[np.ndarray, TranscribeOptions]]], list[Transcription]],
                    self.stt.transcribe_many)  # type: ignore[attr-defined]
        return many([(job.audio, job.options) for job in batch])

    def _run(self, batch: list[_Job], rank: int) -> None:
        """On a lane thread: transcribe, then hand the results to the loop."""
        try:
            results: list[Transcription] | BaseException = self._transcribe(batch)
        except Exception as exc:  # reported to the sessions that asked
            results = exc
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is gone (shutdown)
                loop.call_soon_threadsafe(self._land, batch, rank, results)

    def _land(self, batch: list[_Job], rank: int,
              results: list[Transcription] | BaseException) -> None:
        if isinstance(results, BaseException):
            for job in batch:
                if not job.future.done():
                    job.future.set_exception(results)
            return
        if len(batch) > 1:
            self.stats["batched"] += len(batch)
        for job, result in zip(batch, results, strict=True):
            self.stats[_KINDS[job.priority]] += 1
            if rank == URGENT:
                self.stats["urgent"] += 1
            if not job.future.done():
                job.future.set_result(result)
