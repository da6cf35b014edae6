"""The pieces of a turn, transcribed: jobs on the shared scheduler, each piece after the
one before it (whose words are its context), the filler-counting verbatim pass, and the
live captions (partials and landed pieces)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import numpy as np

from server import protocol as p
from server.audio.pcm import TARGET_RATE
from server.bank import Question
from server.engines.stt import TranscribeOptions, Transcription, is_probable_hallucination
from server.turn import Piece, Turn, done_text, filler_text, join_texts, outcome

log = logging.getLogger("viva.transcriber")

Job = asyncio.Future[Transcription | None]
T = TypeVar("T")

PARTIAL_WINDOW_S = 20.0  # the short-window transcription road (engines/stt.py)
MIN_PARTIAL_S = 0.5
#: Words of the turn so far given to Whisper as context for the next piece.
CONTEXT_WORDS = 40
#: Transcription jobs already waiting beyond which a piece gets no filler pass.
VERBATIM_MAX_BACKLOG = 1
#: Whisper drops "um" and "uh"; a disfluent prompt brings them back (at some cost in
#: accuracy, so this pass only counts fillers and never replaces the transcript).
VERBATIM_PROMPT = "Umm, let me think like, hmm... Okay, here's what I'm, like, thinking. Uh, so, um, yeah."


class Scheduler(Protocol):
    """What a session needs of the shared transcription worker
    (`server.engines.scheduler.TranscriptionScheduler`)."""

    def final(self, audio: np.ndarray, options: TranscribeOptions,
              urgent: Callable[[], bool] | None = None) -> Job: ...

    def verbatim(self, audio: np.ndarray, options: TranscribeOptions) -> Job: ...

    def whole(self, audio: np.ndarray, options: TranscribeOptions) -> Job: ...

    def partial(self, key: str, audio: np.ndarray, options: TranscribeOptions) -> Job: ...

    def drop_partial(self, key: str) -> None: ...

    def withdraw(self, future: Job) -> bool: ...

    def backlog(self) -> int: ...


def _forward(source: Job, target: Job) -> None:
    if not target.done():
        target.set_result(outcome(source))


async def settled(future: asyncio.Future[T]) -> T | None:
    """The result, or None when the work was cancelled or failed (already logged)."""
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        if future.cancelled():
            return None
        raise
    except Exception:
        return None


class PieceTranscriber:
    def __init__(self, scheduler: Scheduler, *, key: Callable[[], str], language: Callable[[], str],
                 question: Callable[[], Question | None], beam_size: int,
                 on_landed: Callable[[Turn, Piece], None],
                 caption: Callable[[Turn, str], None]) -> None:
        self.scheduler = scheduler
        self._key = key  # the session, for the scheduler's one pending partial per session
        self._language = language
        self._question = question  # the question being answered, for its glossary
        self._beam_size = beam_size
        self._on_landed = on_landed
        self._caption = caption
        self.closed = False

    def withdraw(self, piece: Piece) -> bool:
        """Whether the piece's transcription has not begun and is now called off."""
        if piece.transcribed:
            return False
        if piece.job is None:
            return True  # still waiting for the piece before it
        return self.scheduler.withdraw(piece.job)

    def submit(self, turn: Turn, piece: Piece, audio: np.ndarray, previous: Piece | None,
               urgent: Callable[[], bool]) -> None:
        """Transcribe a piece once the one before it is done. `urgent()`: the candidate is
        quiet or the turn is over, so the reply may be waiting on this very piece."""
        self.scheduler.drop_partial(self._key())  # its audio is in this piece now

        def landed(job: Job) -> None:
            if piece not in turn.pieces:
                return  # taken back: the candidate went on
            result = outcome(job)
            if not job.cancelled() and job.exception() is not None:
                log.error("session %s: transcription failed", self._key(), exc_info=job.exception())
            if not piece.plain.done():
                piece.plain.set_result(result)
            if result is None or not result.text:
                piece.verbatim.set_result(None)
                return
            self._on_landed(turn, piece)
            # Fillers next, ahead of any partial, but after the reply being worked out.
            if turn.preview is not None and not turn.preview.task.done():
                turn.preview.task.add_done_callback(lambda _: self._fillers(piece, audio))
            else:
                self._fillers(piece, audio)

        def start(_: object = None) -> None:
            if self.closed:
                piece.plain.cancel()
                return
            if piece not in turn.pieces:
                return
            context = done_text(turn) if previous is not None else ""
            job = piece.job = self.scheduler.final(audio, self.options(context=context),
                                                   urgent=urgent)
            job.add_done_callback(landed)

        if previous is None or previous.plain.done():
            start()
        else:
            previous.plain.add_done_callback(start)

    def _fillers(self, piece: Piece, audio: np.ndarray) -> None:
        if self.scheduler.backlog() > VERBATIM_MAX_BACKLOG:
            # Under load the filler pass is the first thing to go: this piece's
            # fillers are counted from its plain words.
            if not piece.verbatim.done():
                piece.verbatim.set_result(None)
            return
        job = self.scheduler.verbatim(audio, TranscribeOptions(
            language=self._language(), beam_size=1, initial_prompt=VERBATIM_PROMPT,
            word_timestamps=False))
        job.add_done_callback(lambda done: _forward(done, piece.verbatim))

    def options(self, final: bool = True, context: str = "") -> TranscribeOptions:
        question = self._question()
        # The question's vocabulary as a glossary prompt. Measured on Piper-spoken answers,
        # `hotwords` made tiny.en drop whole clauses or trail off in ". . ." when the
        # answer did not use the listed words; a glossary prompt fixed "SMOTE" and
        # "PR-AUC" without either failure. A piece also gets the words before it, so
        # that Whisper carries the sentence on across the cut.
        # Partials are live captions: they skip the glossary.
        glossary = (f"Glossary: {', '.join(question.vocabulary)}."
                    if final and question and question.vocabulary else "")
        before = " ".join(context.split()[-CONTEXT_WORDS:])
        prompt = " ".join(part for part in (glossary, before) if part) or None
        return TranscribeOptions(language=self._language(), beam_size=self._beam_size,
                                 initial_prompt=prompt, word_timestamps=final)

    # ------------------------------------------------------------------ captions

    def partial_due(self, turn: Turn, audio_between: Callable[[float, float], np.ndarray],
                    t_in: float, now: float,
                    spawn: Callable[[Awaitable[None], str], asyncio.Task[None]]) -> None:
        """Captions wait while other transcription work is queued: under load a session
        gets fewer partials, never a later reply."""
        if (turn.partial_task is None or turn.partial_task.done()) \
                and self.scheduler.backlog() == 0:
            turn.last_partial_at = now
            turn.partial_task = spawn(self._partial(turn, audio_between, t_in), "partial")

    async def _partial(self, turn: Turn, audio_between: Callable[[float, float], np.ndarray],
                       t_in: float) -> None:
        """Live caption: the transcribed pieces, then the audio not transcribed yet."""
        pending = next((piece for piece in turn.pieces if not piece.transcribed), None)
        start_t = pending.start_t if pending is not None else turn.commit_t
        start_t = max(start_t, t_in - PARTIAL_WINDOW_S)
        if t_in - start_t < MIN_PARTIAL_S:
            return
        audio = audio_between(start_t, t_in)
        # The words before this audio, as they are now: a piece that lands while the
        # partial is transcribed covers part of this audio, and joining its text too
        # said that stretch twice.
        before = done_text(turn)
        result = await self.scheduler.partial(self._key(), audio, self.options(final=False))
        if result is None or turn.partial_task is None or not result.text:
            return
        if is_probable_hallucination(result.text, len(audio) / TARGET_RATE):
            return
        text = join_texts([before, result.text])
        turn.text_hint = text
        self.caption(turn, text)

    def caption(self, turn: Turn, text: str) -> None:
        """A partial transcript, unless it says less than the last one. Pieces landing
        caption too: under load the partials (last in the scheduler's line) can starve
        for a whole answer (measured, eight sessions: first caption 11-12 s in)."""
        if len(text) <= len(turn.caption):
            return
        turn.caption = text
        self._caption(turn, text)

    def idle(self) -> bool:
        """No transcription waiting, of any session."""
        return self.scheduler.backlog() == 0

    async def whole(self, turn: Turn, audio: np.ndarray) -> Transcription | None:
        """The whole answer transcribed in one pass: pieces cut at pauses lose the words'
        context (the JFK clip's "ask not" came back "S not." from its piece, "ask not"
        in one pass), so the stored transcript is made again from the whole audio. None
        when that pass heard nothing or invented it."""
        result = await settled(self.scheduler.whole(audio, self.options()))
        speech_s = sum(end - start for start, end in turn.segments)
        if result is None or not result.text or is_probable_hallucination(result.text, speech_s):
            return None
        return result

    def turn_ended(self, turn: Turn) -> None:
        if turn.partial_task is not None:
            turn.partial_task.cancel()
            turn.partial_task = None
        self.scheduler.drop_partial(self._key())


def protocol_words(result: Transcription, segments: list[tuple[float, float]]) -> list[p.Word]:
    """A transcription's words as the wire carries them, with their delivery marks."""
    return p.marked_words([p.Word(word=w.word, start=float(w.start), end=float(w.end),
                                  probability=float(w.probability)) for w in result.words],
                          segments)


async def verbatim_text(turn: Turn) -> Transcription:
    """The verbatim passes of all pieces joined, once all have landed (a piece without
    one, skipped under load or failed, gives its plain words)."""
    for piece in turn.pieces:
        await settled(piece.plain)
        await settled(piece.verbatim)
    return Transcription(text=filler_text(turn))
