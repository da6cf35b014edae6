"""One candidate turn, transcribed piece by piece as it is spoken.

A turn is cut into pieces at the candidate's pauses and each piece is
transcribed as soon as it is cut, so when the turn ends only its last phrase is
still to be transcribed, however long the answer was. Pieces are never thrown
away: a pause that turns out not to end the turn is still a good place to cut.

This module holds the turn's state and the pure joining of its pieces; the listener
(server/session/listener.py) decides when to cut, the piece transcriber schedules the work.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from server.engines.stt import TranscribedWord, Transcription, is_probable_hallucination
from server.lexicon import CONTINUING, CUT_BEFORE


@dataclass
class Piece:
    start_t: float  # input time (s) of its first sample
    end_t: float
    plain: asyncio.Future[Transcription | None]
    #: The filler-counting pass, started once the plain one is done (None: no words).
    verbatim: asyncio.Future[Transcription | None]
    #: Cut short, at a pause that may end the turn: taken back if speech resumes soon,
    #: so that the phrase is transcribed again whole (short pieces lose words).
    speculative: bool = False
    job: asyncio.Future[Transcription | None] | None = None

    def cancel(self) -> None:
        for future in (self.job, self.plain, self.verbatim):
            if future is not None and not future.done():
                future.cancel()

    @property
    def transcribed(self) -> bool:
        return self.plain.done()


@dataclass
class Preview:
    """The reply worked out during the endpointer's wait, for the text heard so far."""

    text: str
    task: asyncio.Task[Any]

    def cancel(self) -> None:
        self.task.cancel()
        if self.task.done() and not self.task.cancelled() and self.task.exception() is None:
            synthesis = getattr(self.task.result(), "synthesis", None)
            if synthesis is not None:
                synthesis.cancel()


@dataclass
class Turn:
    turn_id: str
    start_t: float  # input time (s) of the turn's first sample
    speech_end_t: float = 0.0
    silence_since: float | None = None
    text_hint: str = ""  # the latest partial text, for the endpointer
    caption: str = ""  # the latest partial transcript sent (captions never shrink)
    last_partial_at: float = 0.0
    partial_task: asyncio.Task[None] | None = None
    pieces: list[Piece] = field(default_factory=list)
    #: Input time up to which audio has been cut into pieces.
    commit_t: float = 0.0
    preview: Preview | None = None
    segments: list[tuple[float, float]] = field(default_factory=list)  # speech, turn-relative
    speech_started_at: float = 0.0
    onset_wall: float = 0.0  # monotonic clock at the first speech onset
    #: The turn-end model's verdict on the current pause: (its silence start, P(finished)).
    end_check: tuple[float, float] | None = None
    end_check_asked: float | None = None  # the pause the model was last asked about
    #: The endpointer's last reading of the current pause: its words and the silence set.
    pause_reading: tuple[str, float] | None = None
    #: The pause (its silence start) the candidate was told "take your time" in.
    nudged_at: float | None = None
    #: Speech segments whose pauses the endpointer's rhythm has heard (a turn carried on
    #: after its end is finished twice).
    segments_learned: int = 0

    @property
    def sounds_finished(self) -> float | None:
        """P(finished) for the pause now under way; None while the model has not said."""
        if self.end_check is None or self.end_check[0] != self.silence_since:
            return None
        return self.end_check[1]

    def __post_init__(self) -> None:
        self.commit_t = max(self.commit_t, self.start_t)

    @property
    def uncommitted_speech(self) -> bool:
        """Speech after the last cut (the current segment, or one that ended after it)."""
        if self.silence_since is None:
            return True
        return self.speech_end_t > self.commit_t

    @property
    def transcribed(self) -> bool:
        """Every piece cut is transcribed and no speech is left uncut."""
        return not self.uncommitted_speech and all(p.transcribed for p in self.pieces)

    def first_speech_after(self, t: float) -> float:
        """Input time at which the first speech after `t` began (or `t`)."""
        for start, end in self.segments:
            if end + self.start_t > t:
                return max(t, start + self.start_t)
        return max(t, self.speech_started_at)

    def speech_in(self, start_t: float, end_t: float) -> float:
        """Seconds of detected speech between two input times."""
        lo, hi = start_t - self.start_t, end_t - self.start_t
        return sum(max(0.0, min(hi, end) - max(lo, start)) for start, end in self.segments)

    def retract(self) -> None:
        """Take back a speculative last piece: its audio goes into the next cut."""
        if self.pieces and self.pieces[-1].speculative:
            piece = self.pieces.pop()
            piece.cancel()
            self.commit_t = piece.start_t

    def drop_preview(self) -> None:
        if self.preview is not None:
            self.preview.cancel()
            self.preview = None


def piece_text(turn: Turn, piece: Piece, result: Transcription | None) -> str:
    """A piece's words, or nothing when they are Whisper filling a silence."""
    if result is None or not result.text:
        return ""
    if is_probable_hallucination(result.text, turn.speech_in(piece.start_t, piece.end_t)):
        return ""
    return result.text


#: Speech in the last piece for which Whisper wrote nothing: most likely a filler on its
#: own ("and, um," cut off after a comma's pause), so the candidate is still thinking.
#: Piper's "um" alone is 0.22 s of VAD speech (seen in a cut-in under load); the VAD
#: needs 0.1 s to call speech at all, so breaths and clicks mostly never get here.
UNREAD_SPEECH_S = 0.15
#: The same after the last word Whisper did write (seen under load: "...the errors it
#: makes, and, um," came back as "...the errors it makes."); longer, as word times are
#: approximate.
UNREAD_TAIL_S = 0.4


def trails_off(turn: Turn) -> bool:
    """The last piece had speech in it that came back without words: none at all, or
    none after some point well before the speech ended. "Well before" is counted from
    the last word Whisper wrote in any piece: "...it makes, and" with the "and" dropped,
    then "um," alone in a piece of its own that came back empty, is 0.2 s of unread
    speech in each piece and still thinking (seen under load)."""
    if not turn.pieces or not turn.pieces[-1].transcribed:
        return False
    last = turn.pieces[-1]
    if not piece_text(turn, last, outcome(last.plain)) \
            and turn.speech_in(last.start_t, last.end_t) >= UNREAD_SPEECH_S:
        return True
    for piece in reversed(turn.pieces):
        result = outcome(piece.plain) if piece.transcribed else None
        if result is None or not piece_text(turn, piece, result):
            continue
        if not result.words:
            return False  # no word times (a partial's options): nothing to go on
        read_until = piece.start_t + result.words[-1].end
        return turn.speech_in(read_until, last.end_t) >= UNREAD_TAIL_S
    return False


def done_text(turn: Turn) -> str:
    """The text of the leading pieces that are transcribed (for captions and the endpointer)."""
    parts: list[str] = []
    for piece in turn.pieces:
        if not piece.transcribed:
            break
        parts.append(piece_text(turn, piece, outcome(piece.plain)))
    return join_texts(parts)




def join_texts(parts: list[str]) -> str:
    """Pieces joined into one text. Whisper ends every piece as if it ended a sentence;
    where the next piece carries on in lower case, that full stop was the cut's, not
    the speaker's: it becomes a comma before "and", "so" ... and goes otherwise. So
    does a full stop after a word no sentence ends on ("from", "the")."""
    text = ""
    for part in (part.strip() for part in parts):
        if not part:
            continue
        if text.endswith(".") and not text.endswith(".."):
            first = part.split(maxsplit=1)[0].strip(",").lower()
            if first in CONTINUING:
                text = text[:-1] + ","
                part = part[:1].lower() + part[1:]
            elif part[:1].islower():
                text = text[:-1]
            elif text[:-1].rsplit(maxsplit=1)[-1].lower() in CUT_BEFORE:
                # "the weights come from. The dot product": one sentence, cut in two.
                text = text[:-1]
                if not part.startswith("I ") and not part[1:2].isupper():
                    part = part[:1].lower() + part[1:]
        text = f"{text} {part}" if text else part
    return text


def join_pieces(turn: Turn, results: list[Transcription | None]) -> Transcription:
    """The whole turn as one transcription: texts joined, word times made turn-relative."""
    texts: list[str] = []
    words: list[TranscribedWord] = []
    for piece, result in zip(turn.pieces, results, strict=True):
        text = piece_text(turn, piece, result)
        if not text or result is None:
            continue
        texts.append(text)
        offset = piece.start_t - turn.start_t
        words.extend(TranscribedWord(w.word, round(w.start + offset, 3), round(w.end + offset, 3),
                                     w.probability) for w in result.words)
    duration = (turn.pieces[-1].end_t - turn.start_t) if turn.pieces else 0.0
    return Transcription(text=join_texts(texts), words=words, duration_s=duration)


def filler_text(turn: Turn) -> str:
    """Each piece's verbatim words where that pass has landed with some, its plain words
    elsewhere: the text fillers are counted from."""
    return join_texts([piece_text(turn, piece, outcome(piece.verbatim) or outcome(piece.plain))
                       for piece in turn.pieces])


def outcome(future: asyncio.Future[Transcription | None]) -> Transcription | None:
    """The result of finished work; None while it runs, or when cancelled or failed."""
    if not future.done() or future.cancelled() or future.exception() is not None:
        return None
    return future.result()
