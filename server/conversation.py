"""One live session: turn state, engines, policy and scoring joined for one connection.

The websocket handler feeds it frames; it sends protocol messages back through
two callables. Everything slow (transcription, synthesis, scoring) runs off the
event loop, and replies run in their own task so that audio keeps flowing in
while the interviewer thinks and speaks, which is what makes barge-in work.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel

from server import memory
from server import protocol as p
from server.audio.endpoint import EndpointSettings, required_silence
from server.audio.pcm import (
    TARGET_RATE,
    SampleBuffer,
    StreamingResampler,
    float_to_pcm16,
    pcm16_to_float,
)
from server.audio.vad import FRAME_S, StreamingVad, VadFrame
from server.bank import Question, QuestionBank
from server.config import Settings
from server.engines.llm import ChatLLM, FieldStream
from server.engines.registry import Engines
from server.engines.scheduler import TranscriptionScheduler
from server.engines.stt import TranscribeOptions, Transcription, is_probable_hallucination
from server.interviewer.commands import detect_intent
from server.interviewer.policy import AnswerResult, Interviewer, Move, Reply
from server.interviewer.speakable import speakable
from server.live import FairLane, LiveSessions
from server.scoring.content import ContentResult, ContentScorer, PointCoverage
from server.scoring.delivery import TimedWord, measure
from server.scoring.overall import Assessment, assess, session_averages
from server.speaking import Synthesis, send_paced
from server.store import SessionStore
from server.turn import (
    Piece,
    Preview,
    Turn,
    done_text,
    filler_text,
    join_pieces,
    join_texts,
    outcome,
    trails_off,
)
from server.wording import turn_messages

log = logging.getLogger("viva.conversation")

SendJson = Callable[[BaseModel], Awaitable[None]]
SendBytes = Callable[[bytes], Awaitable[None]]
Close = Callable[[int], Awaitable[None]]

PREROLL_S = 0.3  # audio kept before the VAD fired, so the first syllable is not clipped
IDLE_KEEP_S = 2.0  # audio kept while nobody speaks
TAIL_KEEP_S = 0.25  # silence kept after the last speech frame for the final transcription
#: While the interviewer speaks, its own voice may leak back through the microphone;
#: demand a clearer speech signal before treating it as barge-in.
ECHO_GUARD_THRESHOLD = 0.65
#: Content scoring's CPU cost, roughly (1.3 s for 9,000 characters on one core): how
#: the fair lane tells a long text from an ordinary answer before it runs.
SCORING_S_PER_CHAR = 1.5e-4
#: What compiling a question's rubric is charged in the fair lane: a few ms for a bank
#: question (claims, no model), up to 0.9 s for one whose points the learned matcher
#: judges (their texts are embedded), nothing once cached; charged as an ordinary job
#: (below the lane's long-job mark), so that a new question's warm-up never waits out
#: the grace other sessions' answers keep open.
WARM_COST_S = 0.3
#: At most one storage-failure `error` to the client in this many seconds.
STORAGE_REPORT_EVERY_S = 10.0
PARTIAL_WINDOW_S = 20.0  # the short-window transcription road (engines/stt.py)
MIN_PARTIAL_S = 0.5
#: Whisper drops "um" and "uh"; a disfluent prompt brings them back (at some cost in
#: accuracy, so this pass only counts fillers and never replaces the transcript).
VERBATIM_PROMPT = "Umm, let me think like, hmm... Okay, here's what I'm, like, thinking. Uh, so, um, yeah."
SILENCE_HINT_S = 15.0
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
#: Words of the turn so far given to Whisper as context for the next piece.
CONTEXT_WORDS = 40
#: The reply is worked out (scored, decided, first sentence synthesized) this long
#: before the endpointer would end the turn, so that it is ready when it does.
PREVIEW_LEAD_S = 1.0
#: Transcription jobs already waiting beyond which a piece gets no filler pass.
VERBATIM_MAX_BACKLOG = 1
#: How long the live score waits for the filler-counting pass once the reply is ready.
VERBATIM_WAIT_S = 0.3
LENGTH_SCALE_STEP = 0.15


@dataclass
class TurnRecord:
    turn_id: str
    speaker: str
    text: str
    question_id: str | None = None
    kind: str | None = None
    score: p.Score | None = None
    audio_path: str | None = None
    #: The candidate went on after this turn seemed over: its writes are stale.
    withdrawn: bool = False


@dataclass
class _Ended:
    """What a turn's end changed, kept for a moment in case the candidate goes on: a
    pause after a finished sentence that ends the turn is sometimes only a breath."""

    turn: Turn
    end_t: float  # input time the endpointer ended the turn
    taken: np.ndarray  # the input held when the turn ended, the turn's audio among it
    taken_from: int  # its first sample's absolute index
    policy: Interviewer | None  # as it was before the reply
    records: int
    question_done_at: float | None
    finishing: asyncio.Task[None] | None = None


@dataclass
class _Ready:
    """A reply worked out ahead of the end of the turn (see `Conversation._start_preview`)."""

    question_id: str
    content: ContentResult | None
    policy: Interviewer
    reply: Reply
    synthesis: Synthesis | None
    epoch: tuple[int, int]  # the policy and the number of records it was worked out on


def _forward(source: asyncio.Future[Transcription | None],
             target: asyncio.Future[Transcription | None]) -> None:
    if not target.done():
        target.set_result(outcome(source))


async def _settled(future: asyncio.Future[Transcription | None]) -> Transcription | None:
    """The result, or None when the work was cancelled or failed (already logged)."""
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        if future.cancelled():
            return None
        raise
    except Exception:
        return None


_FIRST_SENTENCE = re.compile(r"^(.*?[.!?])\s+(.+)$", re.DOTALL)


async def _iterate(items: Iterable[Move]) -> AsyncIterator[Move]:
    for item in items:
        yield item


class Conversation:
    def __init__(
        self,
        *,
        engines: Engines,
        scheduler: TranscriptionScheduler,
        bank: QuestionBank,
        settings: Settings,
        send_json: SendJson,
        send_bytes: SendBytes,
        close: Close,
        scorer: ContentScorer | None = None,
        store: SessionStore | None = None,
        llm: ChatLLM | None = None,
        live: LiveSessions | None = None,
        lane: FairLane | None = None,
    ) -> None:
        self.engines = engines
        self.scheduler = scheduler
        self.bank = bank
        self.settings = settings
        self._send_json = send_json
        self._send_bytes = send_bytes
        self._close = close
        self.scorer = scorer
        self.store = store
        self.llm = llm
        #: Which connection holds which session; None in tests that run one alone.
        self.live = live
        #: Where content scoring runs, shared fairly with the other sessions.
        self.lane = lane
        #: Another connection resumed this session: it is theirs now, hands off.
        self.moved = False
        #: Storage writes that failed, kept in order and tried again before the next one.
        self._unsaved: list[Callable[[], Awaitable[Any]]] = []
        self._unsaved_lock = asyncio.Lock()
        self._storage_reported_at = -STORAGE_REPORT_EVERY_S
        self._llm_warned = False
        self.llm_stats = {"turns": 0, "fields_used": 0, "fields_fallback": 0}
        self.finished = False
        self._coverage: dict[str, list[PointCoverage]] = {}
        self._question_done_at: float | None = None
        self.started = False
        self.closed = False
        self.session_id = ""
        self.token = ""
        self.options = p.Start()
        self.policy: Interviewer | None = None
        self.records: list[TurnRecord] = []
        self.length_scale = settings.tts_length_scale
        self.endpoint = EndpointSettings(
            finished_silence_s=settings.endpoint_silence_ms / 1000,
            unknown_silence_s=max(settings.endpoint_silence_ms / 1000, 1.2),
            unfinished_silence_s=settings.endpoint_thinking_ms / 1000,
            opening_silence_s=settings.endpoint_first_words_ms / 1000,
        )
        self._resampler: StreamingResampler | None = None
        self._vad = StreamingVad(engines.vad, threshold=settings.vad_threshold)
        self._input = SampleBuffer(TARGET_RATE)
        self._turn: Turn | None = None
        self._ended: _Ended | None = None
        #: Speech this soon after the endpointer ended a turn carries the turn on.
        self._resume_window_s = settings.endpoint_resume_ms / 1000
        self._speech_task: asyncio.Task[None] | None = None
        self._speaking_until = 0.0
        self._reply_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._saves: set[asyncio.Task[Any]] = set()  # storage writes: awaited, never cancelled
        self._agent_saves: set[asyncio.Task[Any]] = set()  # the interviewer's rows being written
        self._send_lock = asyncio.Lock()
        self._awaiting_since: float | None = None
        self._turn_counter = 0
        self._utterance_counter = 0

    # ------------------------------------------------------------------ sending

    async def send(self, message: BaseModel) -> None:
        if self.closed:
            return
        async with self._send_lock:
            await self._send_json(message)

    async def _send_audio(self, data: bytes) -> None:
        if self.closed:
            return
        async with self._send_lock:
            await self._send_bytes(data)

    def _spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("session %s: %s failed", self.session_id, task.get_name(), exc_info=exc)
            self._spawn(self.send(p.Error(code="internal", message=f"{task.get_name()} failed: "
                                          f"{type(exc).__name__}", fatal=False)), "report")

    # ------------------------------------------------------------------ client frames

    async def handle_text(self, raw: str) -> None:
        await self.handle_message(p.parse_client_message(raw))

    @property
    def replies_pending(self) -> int:
        """Typed answers whose reply is still being worked out (scoring is CPU work)."""
        return sum(1 for task in self._tasks if task.get_name() == "reply")

    async def handle_message(self, message: p.ClientMessage) -> None:
        if isinstance(message, p.Start):
            if self.started:
                raise p.ProtocolError("bad_message", "session already started")
            await self._start(message)
            return
        if not self.started:
            raise p.ProtocolError("not_started", "send 'start' first")
        self._ended = None  # the client acted on the reply: the turn stays over
        if isinstance(message, p.Text):
            turn_id = self._new_turn_id()
            await self.send(p.Transcript(turn_id=turn_id, text=message.text, final=True, words=[]))
            self._spawn(self._respond(turn_id, message.text, None, [], spoken=False), "reply")
        elif isinstance(message, p.EndTurn):
            if self._turn is not None:
                self._end_turn()
        elif isinstance(message, p.Command):
            self.interrupt()
            self._spawn(self._respond_intent(message.name), "command")
        elif isinstance(message, p.Interrupt):
            self.interrupt()
        elif isinstance(message, p.Stop):
            await self.stop()

    async def handle_audio(self, data: bytes) -> None:
        if not self.started:
            raise p.ProtocolError("not_started", "send 'start' before audio")
        if len(data) % 2:
            raise p.ProtocolError("bad_audio", f"audio frame of {len(data)} bytes is not whole "
                                  "16-bit samples")
        assert self._resampler is not None
        samples = self._resampler.process(pcm16_to_float(data))
        self._input.append(samples)
        threshold = ECHO_GUARD_THRESHOLD if self.speaking else None
        frames = self._vad.process(samples, threshold)
        for frame in frames:
            self._on_frame(frame)
        if self._ended is not None and self._t_in - self._ended.end_t > self._resume_window_s:
            self._ended = None  # too late to carry the turn on; let its audio go
        if self._turn is None:
            self._input.drop_before(self._input.end - int(IDLE_KEEP_S * TARGET_RATE))
            self._check_long_silence()

    # ------------------------------------------------------------------ session lifecycle

    async def _start(self, start: p.Start) -> None:
        if not p.MIN_SAMPLE_RATE <= start.sample_rate <= p.MAX_SAMPLE_RATE:
            raise p.ProtocolError("bad_audio", f"sample_rate {start.sample_rate} is outside "
                                  f"{p.MIN_SAMPLE_RATE}-{p.MAX_SAMPLE_RATE}")
        if start.resume is not None:
            await self._resume(start)
            return
        questions = self._select_questions(start)
        if not questions:
            raise p.ProtocolError("bad_message", "no question matches these filters")
        self._begin(start, uuid.uuid4().hex[:12], secrets.token_urlsafe(18), questions)
        if self.live is not None:
            self.live.hold(self.session_id, self)
        if self.store is not None:
            store = self.store
            options = start.model_dump(exclude={"resume"}) | {
                "question_ids": [q.id for q in questions]}
            await self._persist(lambda: store.create_session(self.session_id, self.token,
                                                             start.mode, options), "the session")
        await self.send(p.SessionInfo(
            session_id=self.session_id, token=self.token, mode=start.mode,
            num_questions=len(questions) if start.mode == "interview" else None,
        ))
        assert self.policy is not None
        self._spawn(self._perform(self.policy.start()), "greeting")

    def _begin(self, start: p.Start, session_id: str, token: str,
               questions: list[Question]) -> None:
        self.options = start
        self._resampler = StreamingResampler(start.sample_rate)
        self.session_id = session_id
        self.token = token
        reserve = (self.bank.filter(start.categories, start.difficulty)
                   if start.mode == "drill" else [])
        self.policy = Interviewer(questions, start.mode, start.max_follow_ups, reserve=reserve)
        self.started = True

    async def _resume(self, start: p.Start) -> None:
        request = start.resume
        assert request is not None
        if self.live is None:
            await self._resume_stored(start, request)
            return
        # Two resumes of one session at once would both take it over from each other.
        async with self.live.locked(request.session_id):
            await self._resume_stored(start, request)

    async def _resume_stored(self, start: p.Start, request: p.ResumeRequest) -> None:
        """Continue a stored session where it stopped: same plan, same turn numbering."""
        found = None
        if self.store is not None and await self.store.check_token(request.session_id,
                                                                   request.token):
            found = await self.store.get_session(request.session_id)
        if found is None:
            raise p.ProtocolError("bad_session", "unknown session or wrong token", fatal=True)
        if found.get("status") == "completed":
            raise p.ProtocolError("bad_session", "that session is over: its summary was given "
                                  "and it cannot be resumed", fatal=True)
        if self.live is not None and self.live.holder(request.session_id) is not None:
            # Still live on another connection (a reconnect before the old socket was
            # seen to die): close that one, let its writes land, then read it again so
            # that the turn numbers continue after everything it said.
            await self.live.take_over(request.session_id)
            found = await self.store.get_session(request.session_id) if self.store else None
            if found is None:
                raise p.ProtocolError("bad_session", "unknown session or wrong token", fatal=True)
        stored = found.get("settings") or {}
        plan_ids = stored.get("question_ids") or []
        fields = {k: v for k, v in stored.items() if k in p.Start.model_fields and k != "resume"}
        options = p.Start.model_validate(fields | {
            "sample_rate": start.sample_rate, "tts": start.tts, "question_ids": None})
        plan = [q for q in (self.bank.get(qid) for qid in plan_ids) if q is not None]
        self._begin(options, request.session_id, request.token, plan)
        if self.live is not None:
            self.live.hold(self.session_id, self)
        assert self.policy is not None
        best: dict[str, AnswerResult] = {}
        for turn in found.get("turns", []):
            self.records.append(TurnRecord(turn["turn_id"], turn["speaker"], turn["text"],
                                           turn.get("question_id"), turn.get("kind")))
            score = turn.get("score")
            if turn["speaker"] == "candidate" and score and turn.get("question_id"):
                self.records[-1].score = p.Score.model_validate(score)
                covered = frozenset(k["id"] for k in score["key_points"] if k["covered"])
                before = best.get(turn["question_id"])
                content = max(float(score["content"]), before.content if before else 0.0)
                best[turn["question_id"]] = AnswerResult(
                    covered | (before.covered if before else frozenset()), content)
            counter = turn["turn_id"][1:]
            if counter.isdigit():
                if turn["turn_id"].startswith("t"):
                    self._turn_counter = max(self._turn_counter, int(counter))
                elif turn["turn_id"].startswith("u"):
                    self._utterance_counter = max(self._utterance_counter, int(counter))
        discussed = []
        for asked in found.get("questions", []):
            question = self.bank.get(asked["question_id"])
            if question is not None:
                discussed.append((question, best.get(question.id)))
        self.policy.restore(discussed)
        if self.store is not None:
            store = self.store
            await self._persist(lambda: store.mark_status(self.session_id, "active"), "the session")
        await self.send(p.SessionInfo(
            session_id=self.session_id, token=self.token, mode=options.mode,
            num_questions=len(plan) if options.mode == "interview" else None, resumed=True,
        ))
        self._spawn(self._perform(self.policy.resume()), "resume")

    async def _persist(self, make: Callable[[], Awaitable[Any]], what: str,
                       keep: bool = True) -> Any:
        """Run one storage write. A failure never ends the live session: the candidate is
        told (a non-fatal `storage` error) and the write is kept, in order, and tried
        again before the next one and when the session ends (`keep=False`: a recording,
        whose row goes on without it)."""
        await self._retry_unsaved()
        try:
            return await make()
        except Exception as exc:
            log.error("session %s: storage write failed (%s): %s", self.session_id, what,
                      f"{type(exc).__name__}: {exc}"[:300])
            if keep:
                self._unsaved.append(make)
            await self._report_storage(what, keep)
            return None

    async def _retry_unsaved(self) -> bool:
        """True when nothing is left unsaved."""
        async with self._unsaved_lock:
            while self._unsaved:
                try:
                    await self._unsaved[0]()
                except Exception:
                    return False
                self._unsaved.pop(0)
                if not self._unsaved:
                    log.info("session %s: the kept storage writes landed", self.session_id)
        return True

    async def _report_storage(self, what: str, kept: bool) -> None:
        now = time.monotonic()
        if now - self._storage_reported_at < STORAGE_REPORT_EVERY_S:
            return
        self._storage_reported_at = now
        then = ("it is kept and written again with the next turn" if kept
                else "the rest of the turn is saved without it")
        await self.send(p.Error(code="storage", fatal=False,
                                message=f"the server could not save {what}; {then}"))

    def _select_questions(self, start: p.Start) -> list[Question]:
        if start.question_ids:
            chosen = [self.bank.get(qid) for qid in start.question_ids]
            missing = [qid for qid, q in zip(start.question_ids, chosen, strict=True) if q is None]
            if missing:
                raise p.ProtocolError("bad_message", f"unknown question id {missing[0]!r}")
            return [q for q in chosen if q is not None]
        count = start.num_questions if start.mode == "interview" else 1
        return self.bank.choose(count, start.categories, start.difficulty)

    async def stop(self) -> None:
        if self.closed:
            return
        self.interrupt()
        await self._saved()
        summary = self.summary()
        if self.store is not None and self.started:
            store = self.store
            summary.review_url = f"/review/{self.session_id}?token={self.token}"
            stored = summary.model_dump(mode="json")
            await self._persist(lambda: store.finish_session(self.session_id, stored, "completed"),
                                "the summary")
        self.finished = True
        await self.send(summary)
        await self.shutdown()
        await self._close(1000)

    async def shutdown(self) -> None:
        """Cancel everything this session started; safe to call twice."""
        await self._saved()
        # Only the connection that still holds the session may mark it: after a resume
        # elsewhere, this one's late clean-up must not call the live session interrupted.
        held = self.live is None or self.live.let_go(self.session_id, self)
        if self.started and not self.finished and self.store is not None and held:
            # The client went away without `stop`: keep the session, resumable.
            self.finished = True
            store = self.store
            stored = self.summary().model_dump(mode="json")
            await self._persist(lambda: store.finish_session(self.session_id, stored,
                                                             "interrupted"), "the session's end")
        if self._unsaved and not await self._retry_unsaved():
            log.error("session %s: %d storage write(s) could not be made and are lost",
                      self.session_id, len(self._unsaved))
            self._unsaved.clear()
        self.closed = True
        self.interrupt()
        current = asyncio.current_task()
        others = [task for task in self._tasks if task is not current]
        for task in others:
            task.cancel()
        if others:
            await asyncio.gather(*others, return_exceptions=True)

    async def hand_over(self) -> None:
        """Another connection resumed this session: stop here, let every write under
        way land (the new connection reads the session after this returns), close this
        socket with 4000, and never write the session's status."""
        self.moved = True
        self.finished = True
        self.interrupt()
        await self.send(p.Error(code="taken_over", fatal=True,
                                message="this session was resumed on another connection"))
        self.closed = True
        current = asyncio.current_task()
        writes = self._saves | self._agent_saves
        others = [task for task in self._tasks if task is not current and task not in writes]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        await asyncio.gather(*self._saves, *self._agent_saves, return_exceptions=True)
        await self._retry_unsaved()
        if self.live is not None:
            self.live.let_go(self.session_id, self)
        try:
            await self._close(4000)
        except Exception:  # the old socket may already be gone; nothing to tell it
            pass

    # ------------------------------------------------------------------ listening

    @property
    def _t_in(self) -> float:
        """Seconds of input so far: the time of the newest sample."""
        return self._input.seconds(self._input.end)

    @property
    def speaking(self) -> bool:
        running = self._speech_task is not None and not self._speech_task.done()
        return running or time.monotonic() < self._speaking_until

    def _new_turn_id(self) -> str:
        self._turn_counter += 1
        return f"t{self._turn_counter}"

    def _on_frame(self, frame: VadFrame) -> None:
        turn = self._turn
        if frame.changed and frame.speech:
            self._awaiting_since = None
            onset = frame.t - self._vad.start_frames * FRAME_S
            if turn is None:
                turn = self._reopen(onset)
            if self.speaking:
                self.interrupt()  # barge-in: the candidate's words win
            if turn is None:
                self._input.drop_before(self._input.index(onset - PREROLL_S))
                start_t = self._input.seconds(self._input.start)
                turn = self._turn = Turn(self._new_turn_id(), start_t)
                turn.last_partial_at = time.monotonic()
                turn.onset_wall = time.monotonic() - self._vad.start_frames * FRAME_S
            else:
                turn.drop_preview()  # they went on: the reply worked out for the pause is stale
                if turn.silence_since is not None and onset - turn.silence_since < RETRACT_PAUSE_S:
                    turn.retract()
                elif turn.pieces:
                    turn.pieces[-1].speculative = False  # a long pause is a fine place to cut
            turn.silence_since = None
            turn.speech_started_at = onset
            self._spawn(self.send(p.Vad(state="speech", t=round(onset, 3))), "vad")
        elif frame.changed and turn is not None:
            silence_start = frame.t - self._vad.end_frames * FRAME_S
            turn.silence_since = silence_start
            turn.speech_end_t = silence_start
            turn.segments.append((round(turn.speech_started_at - turn.start_t, 3),
                                  round(silence_start - turn.start_t, 3)))
            self._spawn(self.send(p.Vad(state="silence", t=round(silence_start, 3))), "vad")

        if turn is None:
            return
        if turn.silence_since is None:
            if frame.t - turn.commit_t >= MAX_PIECE_S:
                self._cut(turn, frame.t)  # no pause for a long while: cut anyway
            now = time.monotonic()
            partial_due = now - turn.last_partial_at >= self.settings.stt_partial_interval_s
            # Captions wait while other transcription work is queued: under load a
            # session gets fewer partials, never a later reply.
            if partial_due and (turn.partial_task is None or turn.partial_task.done()) \
                    and self.scheduler.backlog() == 0:
                turn.last_partial_at = now
                turn.partial_task = self._spawn(self._partial(turn), "partial")
            return
        self._weigh_ending(turn, frame.t)

    def _weigh_ending(self, turn: Turn, now_t: float) -> None:
        """In a pause: cut the speech not yet cut, work the reply out ahead of time, and
        end the turn once the silence is as long as the words so far call for."""
        assert turn.silence_since is not None
        silent_for = now_t - turn.silence_since
        if turn.uncommitted_speech:
            if turn.speech_in(turn.commit_t, now_t) >= MIN_PIECE_S:
                self._cut(turn, now_t)
            elif silent_for >= SPECULATE_AFTER_S:
                self._cut(turn, now_t, speculative=True)
        if turn.transcribed:
            hint = done_text(turn)  # the freshest words: they end at this very silence
        elif silent_for < self.endpoint.unfinished_silence_s:
            # The last partial may predate the clause just spoken ("and the second
            # reason is"): judge the ending on the transcript of this silence.
            return
        else:
            hint = turn.text_hint
        required = required_silence(hint, self.endpoint)
        if turn.transcribed and trails_off(turn):
            # Words that end a sentence, then speech Whisper could not read (seen: a
            # false cut-in during "...the errors it makes, and, um," under load).
            required = max(required, self.endpoint.unfinished_silence_s)
        if turn.preview is None and turn.transcribed and hint \
                and silent_for >= required - PREVIEW_LEAD_S:
            self._start_preview(turn, hint)
        # Not while the VAD is weighing an onset: the frames of this chunk already
        # processed may be the next sentence starting (seen: turns ended 0.09 s after
        # the candidate went on, then taken back).
        if silent_for >= required and not self._vad.onset_pending:
            log.info("session %s: turn %s ends after %.2f s of silence on %r", self.session_id,
                     turn.turn_id, silent_for, hint[-60:])
            self._end_turn(reopenable=True)

    def _audio_between(self, start_t: float, end_t: float) -> np.ndarray:
        return self._input.between(self._input.index(start_t), self._input.index(end_t))

    def _cut(self, turn: Turn, end_t: float, speculative: bool = False) -> None:
        """Close a piece of the turn at `end_t` and have it transcribed (after the piece
        before it, whose words become its context)."""
        end_t = min(end_t, self._t_in)
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
        audio = self._audio_between(start_t, end_t)
        loop = asyncio.get_running_loop()
        piece = Piece(start_t, end_t, loop.create_future(), loop.create_future(), speculative)
        turn.pieces.append(piece)
        turn.commit_t = end_t
        self.scheduler.drop_partial(self.session_id)  # its audio is in this piece now

        def fillers(_: object = None) -> None:
            if self.scheduler.backlog() > VERBATIM_MAX_BACKLOG:
                # Under load the filler pass is the first thing to go: this piece's
                # fillers are counted from its plain words.
                piece.verbatim.set_result(None)
                return
            job = self.scheduler.verbatim(audio, self._verbatim_options())
            job.add_done_callback(lambda done: _forward(done, piece.verbatim))

        def landed(job: asyncio.Future[Transcription | None]) -> None:
            if piece not in turn.pieces:
                return  # taken back: the candidate went on
            result = outcome(job)
            if not job.cancelled() and job.exception() is not None:
                log.error("session %s: transcription failed", self.session_id,
                          exc_info=job.exception())
            if not piece.plain.done():
                piece.plain.set_result(result)
            if result is None or not result.text:
                piece.verbatim.set_result(None)
                return
            if self._turn is turn:
                self._caption(turn, done_text(turn))
            if turn.silence_since is None:  # still speaking: score the words so far
                self._spawn(self._score_so_far(turn), "pre-score")
            elif self._turn is turn:  # perhaps the end of the answer: weigh it right away
                self._weigh_ending(turn, self._t_in)
            # Fillers next, ahead of any partial, but after the reply being worked out.
            if turn.preview is not None and not turn.preview.task.done():
                turn.preview.task.add_done_callback(fillers)
            else:
                fillers()

        def submit(_: object = None) -> None:
            if self.closed:
                piece.plain.cancel()
                return
            context = done_text(turn) if previous is not None else ""
            if piece not in turn.pieces:
                return
            job = piece.job = self.scheduler.final(
                audio, self._stt_options(context=context),
                # Urgent once the candidate is quiet (or the turn is over): the reply
                # may be waiting on this very piece.
                urgent=lambda: self._turn is not turn or turn.silence_since is not None)
            job.add_done_callback(landed)

        if previous is None or previous.plain.done():
            submit()
        else:
            previous.plain.add_done_callback(submit)

    def _withdraw(self, piece: Piece) -> bool:
        """Whether the piece's transcription has not begun and is now called off."""
        if piece.transcribed:
            return False
        if piece.job is None:
            return True  # still waiting for the piece before it
        return self.scheduler.withdraw(piece.job)

    def _stt_options(self, final: bool = True, context: str = "") -> TranscribeOptions:
        question = self.policy.current.question if self.policy and self.policy.current else None
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
        return TranscribeOptions(
            language=self.options.language, beam_size=self.settings.stt_beam_size,
            initial_prompt=prompt, word_timestamps=final,
        )

    async def _partial(self, turn: Turn) -> None:
        """Live caption: the transcribed pieces, then the audio not transcribed yet."""
        pending = next((piece for piece in turn.pieces if not piece.transcribed), None)
        start_t = pending.start_t if pending is not None else turn.commit_t
        start_t = max(start_t, self._t_in - PARTIAL_WINDOW_S)
        if self._t_in - start_t < MIN_PARTIAL_S:
            return
        audio = self._audio_between(start_t, self._t_in)
        # The words before this audio, as they are now: a piece that lands while the
        # partial is transcribed covers part of this audio, and joining its text too
        # said that stretch twice.
        before = done_text(turn)
        result = await self.scheduler.partial(self.session_id, audio, self._stt_options(final=False))
        if result is None or self._turn is not turn or not result.text:
            return
        if is_probable_hallucination(result.text, len(audio) / TARGET_RATE):
            return
        text = join_texts([before, result.text])
        turn.text_hint = text
        self._caption(turn, text)

    def _caption(self, turn: Turn, text: str) -> None:
        """A partial transcript, unless it says less than the last one. Pieces landing
        caption too: under load the partials (last in the scheduler's line) can starve
        for a whole answer (measured, eight sessions: first caption 11-12 s in)."""
        if len(text) <= len(turn.caption):
            return
        turn.caption = text
        self._spawn(self.send(p.Transcript(turn_id=turn.turn_id, text=text, final=False)),
                    "caption")

    def _end_turn(self, reopenable: bool = False) -> None:
        turn = self._turn
        if turn is None:
            return
        if turn.silence_since is None:  # end_turn while still speaking: close the segment
            turn.speech_end_t = self._t_in
            turn.segments.append((round(turn.speech_started_at - turn.start_t, 3),
                                  round(self._t_in - turn.start_t, 3)))
            turn.silence_since = self._t_in
        end_t = max(turn.commit_t, min(self._t_in, turn.speech_end_t + TAIL_KEEP_S))
        if turn.uncommitted_speech:
            self._cut(turn, end_t)
        # Everything held up to the end is taken out; the turn's audio is the part of it
        # from the turn's start (one copy, shared with `_Ended` while it may resume).
        taken_from = self._input.start
        taken = self._input.between(taken_from, self._input.index(end_t))
        self._input.drop_before(taken_from + len(taken))
        audio = taken[max(0, self._input.index(turn.start_t) - taken_from):]
        self._turn = None
        if turn.partial_task is not None:
            turn.partial_task.cancel()
        self.scheduler.drop_partial(self.session_id)
        finishing = self._spawn(self._finish_turn(turn, audio), "final")
        self._ended = None
        if reopenable and self._resume_window_s > 0:
            self._ended = _Ended(turn, self._t_in, taken, taken_from,
                                 self.policy.clone() if self.policy is not None else None,
                                 len(self.records), self._question_done_at, finishing)

    def _reopen(self, onset: float) -> Turn | None:
        """The turn just ended, if this speech carries it on: its reply is withdrawn
        (the client is told which utterances to remove) and listening resumes as if the
        endpointer had never ended it."""
        ended, self._ended = self._ended, None
        if ended is None or self.finished or onset - ended.end_t > self._resume_window_s \
                or self._input.start != ended.taken_from + len(ended.taken):
            return None
        if ended.finishing is not None:
            ended.finishing.cancel()
        if ended.policy is not None:
            self.policy = ended.policy
        later, self.records[ended.records:] = self.records[ended.records:], []
        withdrawn = [record.turn_id for record in later if record.speaker == "interviewer"]
        for record in later:
            record.withdrawn = True
        self._question_done_at = ended.question_done_at
        self._input.prepend(ended.taken)
        turn = self._turn = ended.turn
        turn.last_partial_at = time.monotonic()
        log.info("session %s: turn %s goes on %.2f s after it was ended; withdrawn: %s",
                 self.session_id, turn.turn_id, onset - ended.end_t, withdrawn or "nothing")
        self._spawn(self.send(p.TurnResumed(turn_id=turn.turn_id, withdrawn=withdrawn)),
                    "resume")
        if self.store is not None and withdrawn:
            kept = len(self.policy.asked) if self.policy is not None else None
            self._spawn(self._withdraw_saved(withdrawn, kept), "withdraw")
        return turn

    async def _withdraw_saved(self, turn_ids: list[str], questions_kept: int | None) -> None:
        assert self.store is not None
        # After the writes already under way, or one would put a withdrawn row back.
        await asyncio.gather(*self._saves, *self._agent_saves, return_exceptions=True)
        store = self.store
        await self._persist(lambda: store.withdraw_turns(self.session_id, turn_ids, questions_kept),
                            "a withdrawn reply")

    async def _finish_turn(self, turn: Turn, audio: np.ndarray) -> None:
        results = [await _settled(piece.plain) for piece in turn.pieces]
        result = join_pieces(turn, results)
        speech_s = sum(end - start for start, end in turn.segments)
        if not result.text or is_probable_hallucination(result.text, speech_s):
            log.info("session %s: dropped empty or invented transcript %r", self.session_id,
                     result.text)
            turn.drop_preview()
            return
        words = [p.Word(word=w.word, start=float(w.start), end=float(w.end),
                        probability=float(w.probability)) for w in result.words]
        await self.send(p.Transcript(turn_id=turn.turn_id, text=result.text, final=True,
                                     words=words))
        await self._respond(turn.turn_id, result.text, turn, words, spoken=True, audio=audio)
        await asyncio.to_thread(memory.trim)  # the turn's buffers, back to the system

    def _check_long_silence(self) -> None:
        since = self._awaiting_since
        if since is None or self.speaking or self._reply_lock.locked():
            return
        if time.monotonic() - since >= SILENCE_HINT_S and self.policy is not None:
            self._awaiting_since = None
            self._spawn(self._perform_locked(self.policy.on_silence()), "silence")

    # ------------------------------------------------------------------ replying

    async def _respond(self, turn_id: str, text: str, turn: Turn | None, words: list[p.Word],
                       spoken: bool, audio: np.ndarray | None = None) -> None:
        assert self.policy is not None
        async with self._reply_lock:
            ready = await self._take_preview(turn, text) if spoken and turn is not None else None
            intent = detect_intent(text)
            question = self.policy.current.question if self.policy.current else None
            record = TurnRecord(turn_id, "candidate", text, question.id if question else None)
            self.records.append(record)
            if intent is not None:  # a command is never scored
                await self._save_candidate_turn(record, turn, words, audio, kind="command")
                await self._perform(self.policy.on_intent(intent))
                return
            if question is None:
                await self._save_candidate_turn(record, turn, words, audio)
                return
            # Fillers come from a second, verbatim pass over each piece, mostly done by now.
            verbatim = (self._spawn(self._verbatim_text(turn), "fillers")
                        if spoken and turn is not None else None)
            content = None
            if ready is not None:  # worked out while the endpointer waited
                content, reply = ready.content, ready.reply
                self.policy = ready.policy
            else:
                if self.scorer is not None:
                    content = await self._content(question, text)
                result = AnswerResult(content.covered_ids if content else frozenset(),
                                      content.content if content else 0.0, question.category)
                reply = self.policy.on_answer(result)
            if content is not None:
                self._coverage[question.id] = content.points
            wording: FieldStream | None = None
            deadline = 0.0
            if self.llm is not None and content is not None and reply.moves \
                    and reply.moves[0].kind in ("followup", "question", "feedback"):
                first = reply.moves[0]
                messages = turn_messages(question, content.points, text, first, first.text)
                wording = self.llm.stream_turn(messages, on_done=self._llm_done)
                deadline = time.monotonic() + self.llm.timeout_s
                self.llm_stats["turns"] += 1
            prepared = ready.synthesis if ready is not None else None
            if prepared is None and reply.moves and wording is None:
                prepared = self._prepare(reply.moves[0])
            elif prepared is not None and wording is not None:
                prepared.cancel()
                prepared = None
            if content is not None:
                verbatim_text = None
                late = False
                if verbatim is not None:
                    # The filler count waits only while the reply's first sentence is
                    # synthesized anyway; one worked out ahead of time does not wait. Past
                    # that, the live card takes the verbatim pieces that are in (the plain
                    # words elsewhere) and the stored turn is completed when all land.
                    budget = VERBATIM_WAIT_S if ready is None or ready.synthesis is None else 0.0
                    if budget and not verbatim.done():
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(asyncio.shield(verbatim), budget)
                    if verbatim.done():
                        done = await _settled(verbatim)
                        verbatim_text = done.text if done else None
                    else:
                        late = True
                        verbatim_text = filler_text(turn) if turn else None
                metrics = None
                if spoken:
                    metrics = measure(
                        [TimedWord(w.word, w.start, w.end) for w in words],
                        turn.segments if turn else [], text, verbatim_text,
                        self._time_to_first_word(turn),
                    )
                assessment = assess(question, content, metrics)
                if wording is not None:  # the LLM may word the feedback; numbers stay ours
                    worded = self._count(await wording.get("feedback", deadline))
                    if worded:
                        assessment = dataclasses.replace(assessment, feedback=worded)
                record.score = self._score_message(turn_id, assessment)
                await self.send(record.score)
            # Committed before the interviewer moves on: a crash now loses nothing said.
            # The recording follows in the background (awaited, never cancelled, when
            # the session ends): writing it would hold up the reply.
            # Shielded and among `_saves`: a `stop` right after the score cancels this
            # reply, but the session's end waits for the row instead of losing it.
            await asyncio.shield(self._save_soon(self._save_candidate_turn(record, turn, words,
                                                                           None)))
            if audio is not None:
                self._save_soon(self._save_candidate_turn(record, turn, words, audio))
            if content is not None and spoken and late and verbatim is not None:
                self._spawn(self._complete_fillers(record, question, content, turn, words,
                                                   audio, verbatim), "fillers")
            moves = self._worded_moves(reply, wording, deadline) if wording is not None else None
            await self._perform(reply, prepared, moves)

    def _count(self, value: str | None) -> str | None:
        self.llm_stats["fields_used" if value else "fields_fallback"] += 1
        return value

    def _llm_done(self, fields: FieldStream) -> None:
        if fields.errors and not self._llm_warned:
            # Once per session: a small or misconfigured model would flood the log.
            self._llm_warned = True
            log.warning("session %s: LLM wording fell back to rules (%s); further "
                        "fallbacks in this session are not logged", self.session_id,
                        "; ".join(fields.errors[:3]))

    async def _worded_moves(self, reply: Reply, wording: FieldStream,
                            deadline: float) -> AsyncIterator[Move]:
        """The reply's first move in the LLM's words, sentence by sentence as they
        stream in; any field that is missing, invalid or late keeps the rule wording."""
        first = reply.moves[0]
        if first.kind == "feedback":
            text = self._count(await wording.get("feedback", deadline))
            yield dataclasses.replace(first, text=text, source="llm") if text else first
        else:
            match = _FIRST_SENTENCE.match(first.text)
            rule_ack, rest = (match.group(1), match.group(2)) if match else ("", first.text)
            ack = self._count(await wording.get("acknowledgement", deadline))
            if ack or rule_ack:
                yield Move("ack", ack or rule_ack, first.question_id, first.index,
                           source="llm" if ack else "rules")
            if first.kind == "followup":
                asked = self._count(await wording.get("follow_up", deadline))
                yield dataclasses.replace(first, text=asked or rest,
                                          source="llm" if asked else "rules")
            else:
                yield dataclasses.replace(first, text=rest)
        for move in reply.moves[1:]:
            yield move

    async def _complete_fillers(self, record: TurnRecord, question: Question,
                                content: ContentResult, turn: Turn | None,
                                words: list[p.Word], audio: np.ndarray | None,
                                verbatim: asyncio.Future[Transcription | None]) -> None:
        """The verbatim pass came in after the live score: rescore delivery for the
        record (summary, review) with the fillers it found."""
        done = await verbatim
        if done is None:
            return
        await self._saved()
        metrics = measure([TimedWord(w.word, w.start, w.end) for w in words],
                          turn.segments if turn else [], record.text, done.text,
                          self._time_to_first_word(turn))
        record.score = self._score_message(record.turn_id, assess(question, content, metrics))
        await self._save_candidate_turn(record, turn, words, None)

    async def _save_candidate_turn(self, record: TurnRecord, turn: Turn | None,
                                   words: list[p.Word], audio: np.ndarray | None,
                                   kind: str | None = "answer") -> None:
        if self.store is None or record.withdrawn:
            return
        if audio is not None and len(audio):
            pcm = float_to_pcm16(audio)
            store = self.store
            record.audio_path = await self._persist(
                lambda: store.save_audio(self.session_id, record.turn_id, pcm, TARGET_RATE),
                "the recording of your answer", keep=False)
            if record.withdrawn:
                return  # the turn went on: its longer audio and text are saved later
        audio_path = record.audio_path
        score = record.score
        row = {
            "turn_id": record.turn_id, "speaker": "candidate", "kind": kind,
            "text": record.text, "question_id": record.question_id, "words": words,
            "segments": turn.segments if turn else None, "score": score,
            "metrics": score.metrics if score else None,
            "feedback": score.feedback if score else None, "audio_path": audio_path,
        }
        store = self.store
        await self._persist(lambda: store.add_turn(self.session_id, row), "your answer")

    def _start_preview(self, turn: Turn, text: str) -> None:
        """Work out the reply to `text` now, while the endpointer still listens: the
        score, the policy's next move (on a copy of the policy) and the synthesis of
        its first sentence. Adopted if the turn ends with exactly this text."""
        question = self.policy.current.question if self.policy and self.policy.current else None
        if question is None or detect_intent(text):
            return
        epoch = (id(self.policy), len(self.records))
        task = asyncio.ensure_future(self._preview_reply(question, text, epoch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        turn.preview = Preview(text, task)

    async def _preview_reply(self, question: Question, text: str,
                             epoch: tuple[int, int]) -> _Ready:
        assert self.policy is not None
        content = await self._content(question, text) if self.scorer is not None else None
        policy = self.policy.clone()
        reply = policy.on_answer(AnswerResult(content.covered_ids if content else frozenset(),
                                              content.content if content else 0.0,
                                              question.category))
        synthesis = None
        if reply.moves and self.llm is None and (id(self.policy), len(self.records)) == epoch:
            synthesis = self._prepare(reply.moves[0])
        return _Ready(question.id, content, policy, reply, synthesis, epoch)

    async def _take_preview(self, turn: Turn, text: str) -> _Ready | None:
        preview, turn.preview = turn.preview, None
        if preview is None:
            return None
        if preview.text != text:
            preview.cancel()
            return None
        try:
            ready = await preview.task
        except asyncio.CancelledError:
            if preview.task.cancelled():
                return None
            raise
        except Exception:
            log.exception("session %s: reply preview failed", self.session_id)
            return None
        current = self.policy.current.question.id if self.policy and self.policy.current else None
        if ready.epoch != (id(self.policy), len(self.records)) or ready.question_id != current:
            if ready.synthesis is not None:
                ready.synthesis.cancel()
            return None  # something was said in between: the preview is stale
        return ready

    def _save_soon(self, write: Awaitable[Any]) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(write)
        self._saves.add(task)
        task.add_done_callback(self._saves.discard)
        return task

    async def _saved(self) -> None:
        """Wait for the candidate's rows being written, so that rows keep their order."""
        if self._saves:
            await asyncio.gather(*self._saves, return_exceptions=True)

    async def _verbatim_text(self, turn: Turn) -> Transcription | None:
        """The verbatim passes of all pieces joined, once all have landed (a piece
        without one, skipped under load or failed, gives its plain words)."""
        for piece in turn.pieces:
            await _settled(piece.plain)
            await _settled(piece.verbatim)
        return Transcription(text=filler_text(turn))

    async def _score_so_far(self, turn: Turn) -> None:
        """Score the words so far and forget the result: for a question the learned matcher
        judges, the scorer keeps their span embeddings, so the score at the end of the turn
        only embeds the last words. A question judged by claims alone has nothing to keep,
        so it is not pre-scored (that was a fair-lane job per piece for nothing)."""
        question = self.policy.current.question if self.policy and self.policy.current else None
        text = done_text(turn)
        if self.scorer is not None and question is not None and text \
                and self.scorer.embeds(question) \
                and turn.silence_since is None:  # in a pause, the preview scores instead
            await self._content(question, text, urgent=False)

    async def _content(self, question: Question, text: str, urgent: bool = True) -> ContentResult:
        assert self.scorer is not None
        coverage = self._coverage.get(question.id)
        if self.lane is None:
            return await asyncio.to_thread(self.scorer.score, question, text, coverage)
        return await self.lane.run(self._lane_owner, self.scorer.score, question, text, coverage,
                                   cost_s=len(text) * SCORING_S_PER_CHAR, urgent=urgent)

    async def _warm(self, question: Question) -> None:
        assert self.scorer is not None
        if self.lane is None:
            await asyncio.to_thread(self.scorer.warm, question)
            return
        # Through the lane: it holds the scorer's one embedding at a time, so outside
        # the lane four new sessions' rubrics would hold up another's answer.
        await self.lane.run(self._lane_owner, self.scorer.warm, question, cost_s=WARM_COST_S)

    @property
    def _lane_owner(self) -> str:
        # The session once there is one: reconnecting does not wipe a flooder's record.
        return self.session_id or f"c{id(self)}"

    def _verbatim_options(self) -> TranscribeOptions:
        return TranscribeOptions(language=self.options.language, beam_size=1,
                                 initial_prompt=VERBATIM_PROMPT, word_timestamps=False)

    def _time_to_first_word(self, turn: Turn | None) -> float | None:
        if turn is None or self._question_done_at is None:
            return None
        return round(max(0.0, turn.onset_wall - self._question_done_at), 2)

    @staticmethod
    def _score_message(turn_id: str, assessment: Assessment) -> p.Score:
        return p.Score(
            turn_id=turn_id, question_id=assessment.question_id, overall=assessment.overall,
            content=assessment.content, delivery=assessment.delivery,
            key_points=[p.KeyPointResult(id=kp.id, text=kp.text, covered=kp.covered,
                                         evidence=kp.evidence, similarity=kp.similarity)
                        for kp in assessment.points],
            metrics=assessment.metrics.as_dict() if assessment.metrics else None,
            feedback=assessment.feedback,
        )

    async def _respond_intent(self, name: str) -> None:
        assert self.policy is not None
        async with self._reply_lock:
            await self._perform(self.policy.on_intent(name))  # type: ignore[arg-type]

    async def _perform_locked(self, reply: Reply) -> None:
        async with self._reply_lock:
            await self._perform(reply)

    async def _perform(self, reply: Reply, prepared: Synthesis | None = None,
                       moves: AsyncIterator[Move] | None = None) -> None:
        if reply.rate_change == "slower":
            self.length_scale = min(2.0, self.length_scale + LENGTH_SCALE_STEP)
        elif reply.rate_change == "faster":
            self.length_scale = max(0.6, self.length_scale - LENGTH_SCALE_STEP)
        interrupted = False
        position = -1
        async for move in moves or _iterate(reply.moves):
            position += 1
            synthesis = prepared if position == 0 else None
            if interrupted:  # the candidate cut in: show the rest, do not talk over them
                await self.send(self._agent_message(move))
                continue
            self._speech_task = asyncio.ensure_future(self._speak(move, synthesis))
            try:
                await asyncio.shield(self._speech_task)
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if not self._speech_task.cancelled() or (current and current.cancelling()):
                    raise  # this reply itself was cancelled (withdrawn, or the session ends)
                interrupted = True
        if prepared is not None and not reply.moves:
            prepared.cancel()
        if reply.moves and reply.moves[-1].kind in ("question", "followup", "hint"):
            self._awaiting_since = time.monotonic()
            self._question_done_at = max(time.monotonic(), self._speaking_until)
        if reply.done:
            self._ended = None  # the session is over: nothing to reopen
            self._spawn(self.stop(), "stop")

    def _prepare(self, move: Move) -> Synthesis | None:
        """Start synthesizing a move now, to be spoken later by `_speak`."""
        if not self.options.tts:
            return None
        return Synthesis.start(self.engines.tts, speakable(move.text), self.length_scale,
                                self.engines.tts_queue, keep=move.source != "llm")

    def _agent_message(self, move: Move) -> p.Agent:
        if move.kind == "question" and move.question_id and self.scorer is not None:
            question = self.bank.get(move.question_id)
            if question is not None:
                # Compile the question's rubric while it is asked (claims: ms; embedded
                # points of a question without claims: ~0.9 s cold).
                self._spawn(self._warm(question), "warm")
        self._utterance_counter += 1
        uid = f"u{self._utterance_counter}"
        self.records.append(TurnRecord(uid, "interviewer", move.text, move.question_id, move.kind))
        if self.store is not None:
            # Not among `_saves`: it waits for those itself (rows keep their order).
            write = self._spawn(self._save_agent_turn(uid, move), "store")
            self._agent_saves.add(write)
            write.add_done_callback(self._agent_saves.discard)
        return p.Agent(utterance_id=uid, kind=move.kind, text=move.text,
                       question_id=move.question_id, index=move.index,
                       source=getattr(move, "source", None))

    async def _save_agent_turn(self, uid: str, move: Move) -> None:
        assert self.store is not None
        await self._saved()
        if move.kind == "question" and move.question_id and move.index is not None:
            question = self.bank.get(move.question_id)
            if question is not None:
                store, index = self.store, move.index
                await self._persist(lambda: store.add_question(
                    self.session_id, index, question.id, question.category, question.prompt),
                    "the question asked")
        store = self.store
        row = {"turn_id": uid, "speaker": "interviewer", "kind": move.kind, "text": move.text,
               "question_id": move.question_id}
        await self._persist(lambda: store.add_turn(self.session_id, row), "the interviewer's turn")

    async def _speak(self, move: Move, synthesis: Synthesis | None = None) -> None:
        agent = self._agent_message(move)
        await self.send(agent)
        if not self.options.tts:
            return
        tts = self.engines.tts
        synthesis = synthesis or self._prepare(move)
        assert synthesis is not None  # speech is on
        await self.send(p.AudioStart(utterance_id=agent.utterance_id, sample_rate=tts.sample_rate))
        interrupted = False

        def heard_until(t: float) -> None:
            self._speaking_until = t

        try:
            await send_paced(synthesis, tts.sample_rate, self._send_audio, heard_until)
        except asyncio.CancelledError:
            interrupted = True
            self._speaking_until = 0.0
            raise
        finally:
            synthesis.cancel()
            with contextlib.suppress(Exception):
                await asyncio.shield(self.send(p.AudioEnd(utterance_id=agent.utterance_id,
                                                          interrupted=interrupted)))

    def interrupt(self) -> None:
        task = self._speech_task
        if task is not None and not task.done():
            task.cancel()
        self._speaking_until = 0.0

    # ------------------------------------------------------------------ summary

    def summary(self) -> p.Summary:
        questions: list[p.QuestionSummary] = []
        by_id: dict[str, p.QuestionSummary] = {}
        state_by_id = {s.question.id: s for s in (self.policy.asked if self.policy else [])}
        for qid, state in state_by_id.items():
            entry = p.QuestionSummary(question_id=qid, prompt=state.question.prompt,
                                      category=state.question.category)
            by_id[qid] = entry
            questions.append(entry)
        for record in self.records:
            if record.speaker != "candidate" or record.question_id not in by_id:
                continue
            entry = by_id[record.question_id]
            entry.transcripts.append(record.text)
            if record.score is not None and (entry.overall is None
                                             or record.score.overall > entry.overall):
                entry.overall = record.score.overall
                entry.content = record.score.content
                entry.delivery = record.score.delivery
        scored = {q.question_id: q.overall for q in questions if q.overall is not None}
        strengths, improvements = self.policy.session_highlights() if self.policy else ([], [])
        if not scored:
            strengths, improvements = [], []
        overall, categories = session_averages(
            scored, {q.question_id: q.category for q in questions})
        return p.Summary(
            session_id=self.session_id,
            overall=overall,
            questions=questions,
            strengths=strengths,
            improvements=improvements,
            categories=categories or None,
        )
