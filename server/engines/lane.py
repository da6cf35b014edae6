"""One CPU lane for the model work of every session: transcription and synthesis.

Whisper (CTranslate2, `cpu_threads` = the cores) and Piper (onnxruntime, one thread
per core) each use every core of a small machine. Run side by side, on their own
threads, they only slow each other down and neither knows what the other is doing
for whom; on one lane, the most urgent work waiting anywhere goes first:

1. `URGENT_FINAL`: pieces of a turn whose speaker has gone quiet (the reply waits on
   exactly this text);
2. `FIRST_SENTENCE`: the first sentences of a reply (a candidate is waiting to hear
   it);
3. `LATER_SENTENCE`: the rest of a reply, which only has to keep ahead of playback (a
   late one is a gap in the voice a candidate hears now);
4. `FINAL`: pieces of a turn whose speaker is still talking (needed by the end of the
   turn; they become urgent by themselves when the speaker stops);
5. `VERBATIM`: the filler-counting passes (the score can wait for them);
6. `PARTIAL`: live captions.

The order, from what each job costs on 2 cores (tiny.en int8, Piper joe-medium) and
who waits on it: a quiet speaker's piece takes 128 ms and a whole reply waits on it;
a first sentence 524 ms (9 words), and the candidate hears nothing new until it is
done (the cached opening covers ~0.5 s of it); a later sentence 742 ms (16 words, the
longest part `speech_parts` makes) against the seconds of the sentence playing before
it; a talking speaker's piece 128 ms, needed only when the speaker stops, and then it
is urgent and first; a verbatim pass 154 ms, which only the filler count waits on; a
partial 150 ms, a caption, coalesced per session. The most a job waits behind lower
work is the one job running: at most one sentence, 0.76 s.

Work comes from sources (the `TranscriptionScheduler`, the `SynthesisQueue`): each
says what the rank of its best job is right now (ranks can change while waiting: a
piece becomes urgent when its speaker stops) and hands over that job when chosen.
Ties go to the job queued first. Jobs that must not run together (two calls into the
one Whisper model) share an `exclusive` tag.

The threads are a standard executor's, so that the interpreter waits for a running
job at exit instead of killing it inside onnxruntime. Each submission schedules one
"run the best job now" call; a call that finds nothing runnable returns.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

URGENT_FINAL, FIRST_SENTENCE, LATER_SENTENCE, FINAL, VERBATIM, PARTIAL = range(6)

log = logging.getLogger("viva.lane")


class LaneSource(Protocol):
    #: Jobs with the same tag never run at once (None: no such limit).
    exclusive: str | None

    def best(self) -> tuple[int, int] | None:
        """(rank, seq) of the job this source would hand over now; None when empty.
        Called with the lane's lock held."""

    def take(self) -> Callable[[], None] | None:
        """Remove the best job (and whatever it batches with) and return the work to
        run on a lane thread. Called with the lane's lock held."""


class CpuLane:
    def __init__(self, workers: int = 1) -> None:
        #: Sources add, remove and reorder their jobs under this lock.
        self.lock = threading.RLock()
        self._sources: list[LaneSource] = []
        self._running: dict[str, int] = {}  # exclusive tag -> jobs of it running
        self._seq = itertools.count()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lane")
        self._closed = False

    def next_seq(self) -> int:
        """Order of arrival, shared by every source (ties go to the oldest job)."""
        return next(self._seq)

    def attach(self, source: LaneSource) -> None:
        with self.lock:
            self._sources.append(source)

    def detach(self, source: LaneSource) -> None:
        with self.lock:
            if source in self._sources:
                self._sources.remove(source)

    def kick(self) -> bool:
        """A job was queued: a thread will run the best one. False once closed."""
        if self._closed:
            return False
        try:
            self._executor.submit(self._run_best)
        except RuntimeError:  # shut down (the interpreter is exiting)
            return False
        return True

    def close(self) -> None:
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _choose(self) -> tuple[Callable[[], None], str | None] | None:
        with self.lock:
            best: tuple[tuple[int, int], LaneSource] | None = None
            for source in self._sources:
                if source.exclusive is not None and self._running.get(source.exclusive):
                    continue
                offer = source.best()
                if offer is not None and (best is None or offer < best[0]):
                    best = (offer, source)
            if best is None:
                return None
            work = best[1].take()
            if work is None:
                return None
            tag = best[1].exclusive
            if tag is not None:
                self._running[tag] = self._running.get(tag, 0) + 1
            return work, tag

    def _run_best(self) -> None:
        chosen = self._choose()
        if chosen is None:
            return
        work, tag = chosen
        try:
            work()
        except Exception:  # a job reports its own failure; the thread must live on
            log.exception("lane job failed")
        finally:
            if tag is not None:
                with self.lock:
                    self._running[tag] -= 1
            # Work held back by the exclusive tag, or queued by more kicks than threads,
            # gets a thread again.
            if self._pending():
                self.kick()

    def _pending(self) -> bool:
        with self.lock:
            return any(source.best() is not None for source in self._sources)
