"""A fake-engines harness for session tests that run in milliseconds.

Scripted voice activity (the fake VAD reads loudness), canned transcripts (each spoken
stretch is a square wave whose level names its text), a silent voice, and a clock the
test moves forward as it feeds audio, so that 15 s of silence costs no 15 s. The real
models are tested end to end elsewhere (tests/test_roundtrip.py, test_turn_taking.py...);
this is for the session's own rules: endpointing, reopening, barge-in, previews.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel

from server import protocol as p
from server.bank import load_bank
from server.config import Settings
from server.engines.registry import Engines
from server.engines.stt import TranscribedWord, TranscribeOptions, Transcription
from server.scoring.content import ContentScorer
from server.session.clock import ManualClock
from server.session.conversation import Conversation

RATE = 16_000
CHUNK = 512  # 32 ms, one VAD frame per chunk
LEVEL0, LEVEL_STEP = 0.2, 0.01  # square-wave level of the first utterance, then each next


FakeClock = ManualClock


class LoudnessVad:
    """Speech wherever the frame is loud: the script decides, not a model."""

    def frame_probability(self, frame: np.ndarray, state: Any) -> float:
        return 0.95 if float(np.abs(frame).max()) > 0.05 else 0.02


@dataclass
class _Job:
    audio: np.ndarray
    kind: str
    future: asyncio.Future[Transcription | None]
    options: TranscribeOptions | None = None


class ScriptedScheduler:
    """The transcription scheduler's interface over canned texts. Each utterance's level
    in the audio says which text it was; `hold()` keeps jobs queued (a loaded server),
    `release()` lets them land."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts  # shared with the harness: index = utterance level
        self.jobs: list[_Job] = []
        self.held = False
        self.done: list[_Job] = []
        self.verbatim_texts: dict[str, str] = {}  # plain text -> what the verbatim pass hears
        self.whole_texts: dict[str, str] = {}  # pieces' text -> what one pass over it hears

    def _read(self, audio: np.ndarray) -> Transcription:
        levels = np.round((np.abs(audio) - LEVEL0) / LEVEL_STEP)
        loud = np.abs(audio) > 0.05
        texts: list[str] = []
        words: list[TranscribedWord] = []
        index = np.flatnonzero(loud)
        if not len(index):
            return Transcription(text="")
        # Runs of one level, in order: one utterance each.
        runs = np.split(index, np.flatnonzero(np.diff(levels[index]) != 0) + 1)
        for run in runs:
            text = self.texts[int(levels[run[0]])]
            if texts and texts[-1] == text:
                continue
            texts.append(text)
            start, end = run[0] / RATE, (run[-1] + 1) / RATE
            tokens = text.split()
            step = (end - start) / max(1, len(tokens))
            words += [TranscribedWord(f" {w}", round(start + i * step, 3),
                                      round(start + (i + 1) * step, 3), 0.9)
                      for i, w in enumerate(tokens)]
        return Transcription(text=" ".join(texts), words=words, duration_s=len(audio) / RATE)

    def _submit(self, kind: str, audio: np.ndarray,
                options: TranscribeOptions | None = None) -> asyncio.Future[Transcription | None]:
        job = _Job(audio, kind, asyncio.get_running_loop().create_future(), options)
        self.jobs.append(job)
        if not self.held:
            asyncio.get_running_loop().call_soon(self._land, job)
        return job.future

    def _land(self, job: _Job) -> None:
        if job in self.jobs:
            self.jobs.remove(job)
        if job.future.done():
            return
        result = self._read(job.audio)
        if job.kind == "verbatim":
            result = Transcription(text=self.verbatim_texts.get(result.text, result.text))
        elif job.kind == "whole" and result.text in self.whole_texts:
            result = Transcription(text=self.whole_texts[result.text], words=result.words)
        self.done.append(job)
        job.future.set_result(result)

    def hold(self) -> None:
        self.held = True

    def release(self) -> None:
        self.held = False
        for job in list(self.jobs):
            asyncio.get_running_loop().call_soon(self._land, job)

    def final(self, audio: np.ndarray, options: TranscribeOptions,
              urgent: Callable[[], bool] | None = None) -> asyncio.Future[Transcription | None]:
        return self._submit("final", audio, options)

    def verbatim(self, audio: np.ndarray,
                 options: TranscribeOptions) -> asyncio.Future[Transcription | None]:
        return self._submit("verbatim", audio, options)

    def partial(self, key: str, audio: np.ndarray,
                options: TranscribeOptions) -> asyncio.Future[Transcription | None]:
        return self._submit("partial", audio, options)

    def whole(self, audio: np.ndarray,
              options: TranscribeOptions) -> asyncio.Future[Transcription | None]:
        return self._submit("whole", audio, options)

    def drop_partial(self, key: str) -> None:
        for job in [j for j in self.jobs if j.kind == "partial"]:
            self.jobs.remove(job)
            job.future.set_result(None)

    def withdraw(self, future: asyncio.Future[Transcription | None]) -> bool:
        for job in self.jobs:
            if job.future is future:
                self.jobs.remove(job)
                return not future.done()
        return False

    def backlog(self) -> int:
        return sum(1 for job in self.jobs if not job.future.done())

    def finals(self) -> list[_Job]:
        return [job for job in self.done if job.kind == "final"]


@dataclass
class _Chunk:
    pcm: bytes


class SilentVoice:
    """A voice that takes no time and says nothing: 0.2 s of silence a word."""

    name = "silent"
    sample_rate = RATE

    def synthesize(self, text: str, length_scale: float = 1.0) -> Iterator[_Chunk]:
        yield _Chunk(bytes(2 * int(RATE * 0.2 * length_scale) * max(1, len(text.split()))))


class InlineExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs what the session hands to a thread (synthesis, scoring) at once, on the
    caller's thread: a thread's real delay would be seconds on the virtual clock. (A
    ThreadPoolExecutor only because asyncio accepts no other as the default.)"""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
               ) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the awaiting side, as a thread would
            future.set_exception(exc)
        return future


class InlineQueue:
    """The synthesis queue, running each job at once on the submitting thread."""

    FIRST, LATER = 0, 1

    def submit(self, priority: int, job: Callable[[], None]) -> bool:
        job()
        return True


@dataclass
class Harness:
    conversation: Conversation
    clock: FakeClock
    scheduler: ScriptedScheduler
    sent: list[BaseModel] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)  # the clock when each was sent
    audio_bytes: int = 0
    closed_with: int | None = None

    async def settle(self, rounds: int = 3) -> None:
        """Let callbacks, tasks and the synthesis thread run."""
        for _ in range(rounds):
            await asyncio.sleep(0.002)

    async def feed(self, samples: np.ndarray) -> None:
        for start in range(0, len(samples), CHUNK):
            chunk = samples[start:start + CHUNK]
            await self.conversation.handle_audio((chunk * 32767).astype("<i2").tobytes())
            self.clock.advance(len(chunk) / RATE)
            await asyncio.sleep(0)
        await self.settle()

    async def say(self, text: str, seconds: float | None = None) -> None:
        """Speak `text` (a level of its own) for `seconds` (0.3 s a word by default)."""
        self.scheduler.texts.append(text)
        level = LEVEL0 + LEVEL_STEP * (len(self.scheduler.texts) - 1)
        n = int(RATE * (seconds if seconds is not None else 0.3 * len(text.split())))
        wave = np.where((np.arange(n) // 20) % 2 == 0, level, -level).astype(np.float32)
        await self.feed(wave)

    async def pause(self, seconds: float) -> None:
        await self.feed(np.zeros(int(RATE * seconds), dtype=np.float32))

    def of(self, kind: type[BaseModel]) -> list[Any]:
        return [m for m in self.sent if isinstance(m, kind)]

    def when(self, message: BaseModel) -> float:
        return self.sent_at[next(i for i, m in enumerate(self.sent) if m is message)]

    def agent(self, kind: str | None = None) -> list[p.Agent]:
        return [m for m in self.of(p.Agent) if kind is None or m.kind == kind]


class SureTurnEnd:
    """A turn-end model that hears every pause as the end of the answer."""

    name = "sure"

    def __init__(self, probability: float = 0.9) -> None:
        self.probability = probability

    def complete_probability(self, audio: np.ndarray) -> float:
        return self.probability


async def start_session(*, tts: bool = False, settings: Settings | None = None,
                        turn_end_model: Any = None, **fields: Any) -> Harness:
    """A started session on the fake engines with the real bank, policy and scorer
    (and `turn_end_model`, a turn-end model such as `SureTurnEnd`, or none)."""
    clock = FakeClock()
    scheduler = ScriptedScheduler([])
    engines = Engines(stt=None, tts=SilentVoice(), vad=LoudnessVad(),  # type: ignore[arg-type]
                      embedder=None, tts_queue=InlineQueue(),  # type: ignore[arg-type]
                      turn_end=turn_end_model)

    def no_embedding(texts: list[str]) -> np.ndarray:
        raise AssertionError("bank questions are judged by claims, never embedded")

    harness: Harness

    async def send_json(message: BaseModel) -> None:
        harness.sent.append(message)
        harness.sent_at.append(clock.now)

    async def send_bytes(data: bytes) -> None:
        harness.audio_bytes += len(data)

    async def close(code: int) -> None:
        harness.closed_with = code

    conversation = Conversation(
        engines=engines, scheduler=scheduler, bank=_bank(),
        settings=settings or Settings(),
        send_json=send_json, send_bytes=send_bytes, close=close,
        scorer=ContentScorer(no_embedding), clock=clock)
    harness = Harness(conversation, clock, scheduler)
    start = {"type": "start", "sample_rate": RATE, "tts": tts, "max_follow_ups": 1,
             "question_ids": ["bias-variance", "regularization"]} | fields
    await conversation.handle_message(p.Start.model_validate(start))
    await harness.settle()
    await harness.pause(0.1)  # the greeting, spoken (tts) or shown
    return harness


_BANK: list[Any] = []


def _bank() -> Any:
    if not _BANK:
        _BANK.append(load_bank())
    return _BANK[0]
