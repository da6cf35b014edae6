"""The candidate's side of the line: microphone samples in, typed events out.

Resampling, voice activity, the input buffer, the current turn and the endpointer,
behind one synchronous `feed`. Nothing here awaits or talks to an engine: the
transcription of a piece cut here, the reply worked out at a pause and the end of a turn
are events for the session to act on, so every rule below is testable with scripted
voice activity and no model.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from server.audio.endpoint import (
    EndpointSettings,
    announces_more,
    at_sentence_end,
    hears_the_model,
    required_silence,
)
from server.audio.pcm import TARGET_RATE, SampleBuffer, StreamingResampler
from server.audio.rhythm import PauseRhythm
from server.audio.vad import FRAME_S, SpeechProbabilityModel, StreamingVad, VadFrame
from server.session.clock import Clock
from server.session.events import (
    EndCheckDue,
    ListenerEvent,
    PartialDue,
    PieceCut,
    PreviewDue,
    SpeechStarted,
    SpeechStopped,
    TurnEnded,
    TurnReopened,
)
from server.turn import Piece, Turn, done_text, trails_off

log = logging.getLogger("viva.listener")

PREROLL_S = 0.3  # audio kept before the VAD fired, so the first syllable is not clipped
IDLE_KEEP_S = 2.0  # audio kept while nobody speaks
TAIL_KEEP_S = 0.25  # silence kept after the last speech frame for the final transcription
#: While the interviewer speaks, its own voice may leak back through the microphone;
#: demand a clearer speech signal before treating it as barge-in.
ECHO_GUARD_THRESHOLD = 0.65
#: A turn is cut into pieces at pauses (server/turn.py). Each piece costs one encoder
#: pass (~0.1 s), so a pause cuts at once only when this much speech is uncut ...
MIN_PIECE_S = 2.5
#: ... and otherwise once it has lasted this long, which is also how early the last
#: phrase of a turn starts transcribing, before the endpointer has decided.
SPECULATE_AFTER_S = 0.15
#: A piece cut short that way is taken back if speech resumes within this pause.
RETRACT_PAUSE_S = 0.6
#: Speech with no pause at all is cut anyway, well before the 20 s short-window limit.
MAX_PIECE_S = 15.0
#: The reply is worked out (scored, decided, first sentence synthesized) this long
#: before the endpointer would end the turn, so that it is ready when it does.
PREVIEW_LEAD_S = 1.0
#: Audio the turn-end model hears: its whole window (8 s), ending at the pause.
END_CHECK_S = 8.0
#: The model is asked once a pause has lasted this long: the gaps between words are
#: shorter, and asking at every one cost eight sessions 0.5 s on the median reply
#: (bench.load: 1251 ms with a call per pause, 747 ms without the model).
END_CHECK_AFTER_S = 0.25


@dataclass(frozen=True)
class ListenerSettings:
    endpoint: EndpointSettings
    vad_threshold: float = 0.5
    #: Speech this soon after the endpointer ended a turn carries the turn on.
    resume_window_s: float = 0.0
    partial_interval_s: float = 1.0
    #: Ask the turn-end model at each pause (`EndCheckDue`); off: the words alone decide.
    end_check: bool = False


@dataclass
class _Ended:
    """The input a turn's end took away, kept for a moment in case the candidate goes
    on: a pause after a finished sentence that ends the turn is sometimes only a breath."""

    turn: Turn
    end_t: float  # input time the endpointer ended the turn
    taken: np.ndarray  # the input held when the turn ended, the turn's audio among it
    taken_from: int  # its first sample's absolute index


class Listener:
    def __init__(self, vad_model: SpeechProbabilityModel, settings: ListenerSettings,
                 clock: Clock, *, next_turn_id: Callable[[], str],
                 withdraw: Callable[[Piece], bool],
                 name: Callable[[], str] = lambda: "") -> None:
        self.settings = settings
        #: The endpointer's settings for this candidate: the quick end follows `rhythm`.
        self.rhythm = PauseRhythm(settings.endpoint.sure_silence_s,
                                  settings.endpoint.finished_silence_s)
        self.endpoint = replace(settings.endpoint, sure_silence_s=self.rhythm.quick_silence_s,
                                finished_silence_s=self.rhythm.finished_silence_s)
        self._clock = clock
        self._next_turn_id = next_turn_id
        #: Whether a piece's transcription has not begun and is now called off.
        self._withdraw = withdraw
        #: The session's id for the log (known once the session has started).
        self._name = name
        self._vad = StreamingVad(vad_model, threshold=settings.vad_threshold)
        self._resampler: StreamingResampler | None = None
        self._input = SampleBuffer(TARGET_RATE)
        self.turn: Turn | None = None
        self._ended: _Ended | None = None
        #: Set by the session while the reply to the turn just ended is still sounding
        #: its first move: speech now carries the turn on, however long the pause was.
        self.keep_ended = False
        #: Only `end_turn` ends a turn (push to talk): pauses still cut pieces.
        self.client_ends_turn = False
        self._events: list[ListenerEvent] = []

    def begin(self, sample_rate: int) -> None:
        self._resampler = StreamingResampler(sample_rate)

    @property
    def name(self) -> str:
        return self._name()

    @property
    def t_in(self) -> float:
        """Seconds of input so far: the time of the newest sample."""
        return self._input.seconds(self._input.end)

    def audio_between(self, start_t: float, end_t: float) -> np.ndarray:
        return self._input.between(self._input.index(start_t), self._input.index(end_t))

    def quiet(self, turn: Turn) -> bool:
        """The candidate is quiet or the turn is over: its reply may wait on its pieces."""
        return self.turn is not turn or turn.silence_since is not None

    def forget_ended(self) -> None:
        """The turn just ended stays over (the client acted on the reply, or the session
        is done): its audio goes."""
        self._ended = None

    def _emit(self) -> list[ListenerEvent]:
        events, self._events = self._events, []
        return events

    # ------------------------------------------------------------------ input

    def feed(self, samples: np.ndarray, *, speaking: bool) -> list[ListenerEvent]:
        """Samples at the client's rate; `speaking`: the interviewer's voice is going out."""
        assert self._resampler is not None, "begin() first"
        samples = self._resampler.process(samples)
        self._input.append(samples)
        for frame in self._vad.process(samples, ECHO_GUARD_THRESHOLD if speaking else None):
            self._on_frame(frame, speaking)
        if self._ended is not None and not self.keep_ended \
                and self.t_in - self._ended.end_t > self.settings.resume_window_s:
            self._ended = None  # too late to carry the turn on; let its audio go
        if self.turn is None and self._ended is None:
            self._input.drop_before(self._input.end - int(IDLE_KEEP_S * TARGET_RATE))
        return self._emit()

    def _on_frame(self, frame: VadFrame, speaking: bool) -> None:
        turn = self.turn
        if frame.changed and frame.speech:
            onset = frame.t - self._vad.start_frames * FRAME_S
            if turn is None:
                turn = self._reopen(onset)
            if turn is None:
                self._input.drop_before(self._input.index(onset - PREROLL_S))
                start_t = self._input.seconds(self._input.start)
                turn = self.turn = Turn(self._next_turn_id(), start_t)
                turn.last_partial_at = self._clock.monotonic()
                turn.onset_wall = self._clock.monotonic() - self._vad.start_frames * FRAME_S
            else:
                turn.drop_preview()  # they went on: the reply worked out for the pause is stale
                self._went_on(turn, onset)
                if turn.silence_since is not None and onset - turn.silence_since < RETRACT_PAUSE_S:
                    turn.retract()
                elif turn.pieces:
                    turn.pieces[-1].speculative = False  # a long pause is a fine place to cut
            turn.silence_since = None
            turn.speech_started_at = onset
            self._events.append(SpeechStarted(round(onset, 3), barge_in=speaking))
        elif frame.changed and turn is not None:
            silence_start = frame.t - self._vad.end_frames * FRAME_S
            turn.silence_since = silence_start
            turn.speech_end_t = silence_start
            turn.segments.append((round(turn.speech_started_at - turn.start_t, 3),
                                  round(silence_start - turn.start_t, 3)))
            self._events.append(SpeechStopped(round(silence_start, 3)))

        if turn is None:
            return
        if turn.silence_since is None:
            if frame.t - turn.commit_t >= MAX_PIECE_S:
                self._cut(turn, frame.t)  # no pause for a long while: cut anyway
            if self._clock.monotonic() - turn.last_partial_at >= self.settings.partial_interval_s:
                self._events.append(PartialDue(turn))
            return
        self._weigh_ending(turn, frame.t)

    # ------------------------------------------------------------------ endpointing

    def learn_rhythm(self, pauses: list[float]) -> None:
        """The pauses inside an answer just heard (`rhythm.answer_pauses`): the quick end
        follows this candidate's rhythm."""
        self.rhythm.heard(pauses)
        self._follow_rhythm()

    def _went_on(self, turn: Turn, onset: float) -> None:
        """The candidate went on after a pause: one the ordinary wait after a finished
        sentence nearly ended (or ended, and the turn was taken back) makes it longer."""
        reading, turn.pause_reading = turn.pause_reading, None
        if turn.silence_since is None or reading is None:
            return
        words, required = reading
        finished = self.endpoint.finished_silence_s
        # After a finished sentence, held or not for what it announced: the breath after
        # "...I would start with a simple baseline. [0.5 s] Then..." is one between
        # sentences all the same.
        if not at_sentence_end(words, self.endpoint) \
                or (required > finished and not announces_more(words)):
            return
        if self.rhythm.nearly_ended(onset - turn.silence_since, min(required, finished)):
            self._follow_rhythm()

    def _follow_rhythm(self) -> None:
        quick, finished = self.rhythm.quick_silence_s, self.rhythm.finished_silence_s
        if (quick, finished) != (self.endpoint.sure_silence_s, self.endpoint.finished_silence_s):
            log.info("session %s: pauses inside answers up to %.2f s (%d heard), nearly ended "
                     "at %.2f s; a finished sentence now waits %.2f s, %.2f s when it sounds "
                     "finished", self.name, max(self.rhythm.pauses, default=0.0),
                     len(self.rhythm.pauses), max(self.rhythm.near_misses, default=0.0),
                     finished, quick)
            self.endpoint = replace(self.endpoint, sure_silence_s=quick,
                                    finished_silence_s=finished)

    def reweigh(self, turn: Turn) -> list[ListenerEvent]:
        """A piece landed in a pause: perhaps the end of the answer, weigh it right away."""
        if self.turn is turn and turn.silence_since is not None:
            self._weigh_ending(turn, self.t_in)
        return self._emit()

    def _weigh_ending(self, turn: Turn, now_t: float) -> None:
        """In a pause: cut the speech not yet cut, have the reply worked out ahead of time,
        and end the turn once the silence is as long as the words so far call for."""
        assert turn.silence_since is not None
        silent_for = now_t - turn.silence_since
        if turn.uncommitted_speech:
            if turn.speech_in(turn.commit_t, now_t) >= MIN_PIECE_S:
                self._cut(turn, now_t)
            elif silent_for >= SPECULATE_AFTER_S:
                self._cut(turn, now_t, speculative=True)
        transcribed = turn.transcribed
        # The freshest words end at this very silence; before they land, the last partial.
        hint = done_text(turn) if transcribed else turn.text_hint
        burst = _burst_after_a_pause(turn)
        if self.settings.end_check and silent_for >= END_CHECK_AFTER_S \
                and turn.end_check_asked != turn.silence_since \
                and (transcribed or self.endpoint.sure_silence_s
                     < self.endpoint.finished_silence_s):
            # With a quicker end for speech that sounds finished, the model is asked
            # without waiting for the last piece's words (it hears only the audio): the
            # two run side by side on the two cores.
            turn.end_check_asked = turn.silence_since  # asked, or not needed, once a pause
            if not transcribed or hears_the_model(hint, self.endpoint, burst):
                self._events.append(EndCheckDue(turn, turn.silence_since, self.audio_between(
                    max(turn.start_t, self.t_in - END_CHECK_S), self.t_in)))
        if not transcribed and silent_for < self.endpoint.unfinished_silence_s:
            # The last partial may predate the clause just spoken ("and the second
            # reason is"): judge the ending on the transcript of this silence.
            return
        required = required_silence(hint, self.endpoint, turn.sounds_finished, burst)
        trailing = transcribed and trails_off(turn)
        if trailing:
            # Words that end a sentence, then speech Whisper could not read (seen: a
            # false cut-in during "...the errors it makes, and, um," under load).
            required = max(required, self.endpoint.unfinished_silence_s)
        # Read when the candidate goes on (`_went_on`), not at every frame of the pause.
        turn.pause_reading = (hint, required) if transcribed and not trailing else None
        if turn.preview is None and transcribed and hint \
                and silent_for >= required - PREVIEW_LEAD_S:
            self._events.append(PreviewDue(turn, hint))
        # Not while the VAD is weighing an onset: the frames of this chunk already
        # processed may be the next sentence starting (seen: turns ended 0.09 s after
        # the candidate went on, then taken back).
        if silent_for >= required and not self._vad.onset_pending and not self.client_ends_turn:
            log.info("session %s: turn %s ends after %.2f s of silence on %r", self.name,
                     turn.turn_id, silent_for, hint[-60:])
            self._end(reopenable=True)

    def end_turn(self) -> list[ListenerEvent]:
        """The client says the answer is done."""
        self._end(reopenable=False)
        return self._emit()

    def _end(self, reopenable: bool) -> None:
        turn = self.turn
        if turn is None:
            return
        if turn.silence_since is None:  # ended while still speaking: close the segment
            turn.speech_end_t = self.t_in
            turn.segments.append((round(turn.speech_started_at - turn.start_t, 3),
                                  round(self.t_in - turn.start_t, 3)))
            turn.silence_since = self.t_in
        end_t = max(turn.commit_t, min(self.t_in, turn.speech_end_t + TAIL_KEEP_S))
        if turn.uncommitted_speech:
            self._cut(turn, end_t)
        # Everything held up to the end is taken out; the turn's audio is the part of it
        # from the turn's start (one copy, shared with `_Ended` while it may resume).
        taken_from = self._input.start
        taken = self._input.between(taken_from, self._input.index(end_t))
        self._input.drop_before(taken_from + len(taken))
        audio = taken[max(0, self._input.index(turn.start_t) - taken_from):]
        self.turn = None
        reopenable = reopenable and self.settings.resume_window_s > 0
        self._ended = _Ended(turn, self.t_in, taken, taken_from) if reopenable else None
        self._events.append(TurnEnded(turn, audio, reopenable))

    def _reopen(self, onset: float) -> Turn | None:
        """The turn just ended, if this speech carries it on: listening resumes as if the
        endpointer had never ended it."""
        ended, self._ended = self._ended, None
        late = onset - ended.end_t > self.settings.resume_window_s if ended else True
        if ended is None or (late and not self.keep_ended) \
                or self._input.start != ended.taken_from + len(ended.taken):
            return None
        self._input.prepend(ended.taken)
        turn = self.turn = ended.turn
        turn.last_partial_at = self._clock.monotonic()
        self._events.append(TurnReopened(turn, round(onset - ended.end_t, 3)))
        return turn

    # ------------------------------------------------------------------ pieces

    def _cut(self, turn: Turn, end_t: float, speculative: bool = False) -> None:
        """Close a piece of the turn at `end_t`, to be transcribed after the piece before
        it, whose words become its context."""
        end_t = min(end_t, self.t_in)
        if end_t <= turn.commit_t:
            return
        # A piece starts just before its first speech, not with the pause before it.
        start_t = max(turn.commit_t, turn.first_speech_after(turn.commit_t) - PREROLL_S)
        previous = turn.pieces[-1] if turn.pieces else None
        if previous is not None and end_t - previous.start_t <= MAX_PIECE_S \
                and self._withdraw(previous):
            # Under load the piece before has not started yet: one job for both is one
            # window's padding instead of two, and no wait for the earlier one's text.
            turn.pieces.pop()
            previous.cancel()
            start_t = previous.start_t
            previous = turn.pieces[-1] if turn.pieces else None
        loop = asyncio.get_running_loop()
        piece = Piece(start_t, end_t, loop.create_future(), loop.create_future(), speculative)
        turn.pieces.append(piece)
        turn.commit_t = end_t
        self._events.append(PieceCut(turn, piece, self.audio_between(start_t, end_t), previous))


def _burst_after_a_pause(turn: Turn) -> float | None:
    """How long the speech before this pause lasted, when a pause came before it too."""
    if len(turn.segments) < 2:
        return None
    start, end = turn.segments[-1]
    return end - start
