"""One live session: the parts of server/session/ wired for one connection.

The websocket handler feeds it frames; it sends protocol messages back through two
callables. Everything slow (transcription, synthesis, scoring) runs off the event loop,
and replies run in their own task so that audio keeps flowing in while the interviewer
thinks and speaks, which is what makes barge-in work.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel

from server import memory
from server import protocol as p
from server.audio.endpoint import EndpointSettings
from server.audio.pcm import pcm16_to_float
from server.audio.rhythm import answer_pauses
from server.bank import QuestionBank
from server.config import Settings
from server.engines.llm import ChatLLM
from server.engines.registry import Engines
from server.engines.stt import is_probable_hallucination
from server.interviewer.policy import Move, Reply
from server.live import FairLane, LiveSessions
from server.scoring.content import ContentScorer
from server.session import answering, opening
from server.session.assessor import Assessor, AssessorState
from server.session.clock import SYSTEM_CLOCK, Clock
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
from server.session.journal import Journal, TurnRecord
from server.session.listener import Listener, ListenerSettings
from server.session.planner import PlannerState, ReplyPlanner
from server.session.speaker import Speaker
from server.session.tasks import SessionTasks
from server.session.transcriber import PieceTranscriber, Scheduler, protocol_words, settled
from server.speaking import Synthesis
from server.store import SessionStore
from server.turn import Piece, Turn, done_text, join_pieces

log = logging.getLogger("viva.conversation")

SendJson = Callable[[BaseModel], Awaitable[None]]
SendBytes = Callable[[bytes], Awaitable[None]]
Close = Callable[[int], Awaitable[None]]

SILENCE_HINT_S = 15.0
#: Moves the candidate answers: one cut short by a barge-in is offered again.
PROMPT_KINDS = frozenset({"question", "followup", "hint"})
#: Silence inside an answer after which the candidate hears "take your time" (the turn
#: stays theirs: a thinking pause is held, server/audio/endpoint.py).
THINKING_NUDGE_S = 8.0


@dataclass
class Checkpoint:
    """What a turn's end changed, taken when it ends and restored if the candidate goes
    on at once (`TurnReopened`)."""

    turn: Turn
    planner: PlannerState
    records: int
    assessor: AssessorState
    finishing: asyncio.Task[None]


class Conversation:
    def __init__(self, *, engines: Engines, scheduler: Scheduler, bank: QuestionBank,
                 settings: Settings, send_json: SendJson, send_bytes: SendBytes, close: Close,
                 scorer: ContentScorer | None = None, store: SessionStore | None = None,
                 llm: ChatLLM | None = None, live: LiveSessions | None = None,
                 lane: FairLane | None = None, clock: Clock = SYSTEM_CLOCK) -> None:
        self.engines, self.bank, self.settings = engines, bank, settings
        self.store, self.live, self._clock = store, live, clock
        self._send_json, self._send_bytes, self._close = send_json, send_bytes, close
        self._send_lock = asyncio.Lock()
        self._reply_lock = asyncio.Lock()
        self.started = self.finished = self.closed = False
        #: Another connection resumed this session: it is theirs now, hands off.
        self.moved = False
        self.options = p.Start()
        self.tasks = SessionTasks(self._failed)
        self.journal = Journal(store, self.send)
        self.assessor = Assessor(scorer, lane, lambda: self.session_id or f"c{id(self)}")
        self.speaker = Speaker(engines.tts, engines.tts_queue, clock, send=self.send,
                               send_audio=self._send_audio,
                               length_scale=settings.tts_length_scale)
        self.planner = ReplyPlanner(content=self.assessor.content, prepare=self.speaker.prepare,
                                    llm=llm, said=lambda: self.journal.changes,
                                    name=lambda: self.session_id)
        self.transcriber = PieceTranscriber(
            scheduler, key=lambda: self.session_id, language=lambda: self.options.language,
            question=lambda: self.planner.question, beam_size=settings.stt_beam_size,
            on_landed=self._piece_landed, caption=self._send_caption)
        ms = 1000
        self.listener = Listener(engines.vad, ListenerSettings(
            endpoint=EndpointSettings(
                finished_silence_s=settings.endpoint_silence_ms / ms,
                sure_silence_s=settings.endpoint_sure_ms / ms,
                unknown_silence_s=max(settings.endpoint_silence_ms / ms, 1.2),
                unfinished_silence_s=settings.endpoint_thinking_ms / ms,
                doubt_finished_silence_s=settings.endpoint_doubtful_ms / ms,
                opening_silence_s=settings.endpoint_first_words_ms / ms),
            vad_threshold=settings.vad_threshold, resume_window_s=settings.endpoint_resume_ms / ms,
            partial_interval_s=settings.stt_partial_interval_s,
            end_check=engines.turn_end is not None),
            clock, next_turn_id=self.journal.new_turn_id, withdraw=self.transcriber.withdraw,
            name=lambda: self.session_id)
        self._checkpoint: Checkpoint | None = None
        self.unheard_prompt: Move | None = None
        self._awaiting_since: float | None = None

    @property
    def session_id(self) -> str:
        return self.journal.session_id

    @property
    def speaking(self) -> bool:
        return self.speaker.speaking

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

    def _failed(self, name: str, exc: BaseException) -> None:
        log.error("session %s: %s failed", self.session_id, name, exc_info=exc)
        self.tasks.spawn(self.send(p.Error(code="internal", fatal=False,
                                           message=f"{name} failed: {type(exc).__name__}")),
                         "report")

    def _spawn_send(self, message: BaseModel, name: str) -> None:
        self.tasks.spawn(self.send(message), name)

    # ------------------------------------------------------------------ client frames

    async def handle_text(self, raw: str) -> None:
        await self.handle_message(p.parse_client_message(raw))

    @property
    def replies_pending(self) -> int:
        """Typed answers whose reply is still being worked out (scoring is CPU work)."""
        return self.tasks.count("reply")

    async def handle_message(self, message: p.ClientMessage) -> None:
        if isinstance(message, p.Start):
            if self.started:
                raise p.ProtocolError("bad_message", "session already started")
            await opening.start(self, message)
            return
        if not self.started:
            raise p.ProtocolError("not_started", "send 'start' first")
        self._forget_checkpoint()  # the client acted on the reply: the turn stays over
        if isinstance(message, p.Text):
            turn_id = self.journal.new_turn_id()
            await self.send(p.Transcript(turn_id=turn_id, text=message.text, final=True, words=[]))
            self.tasks.spawn(self._respond(turn_id, message.text, None, [], spoken=False),
                             "reply")
        elif isinstance(message, p.EndTurn):
            self._dispatch(self.listener.end_turn())
        elif isinstance(message, p.Command):
            self.speaker.interrupt()
            self.tasks.spawn(self._perform_locked(lambda policy: policy.on_intent(message.name)),
                             "command")
        elif isinstance(message, p.Interrupt):
            self.speaker.interrupt()
        elif isinstance(message, p.Stop):
            await opening.stop(self)

    async def handle_audio(self, data: bytes) -> None:
        if not self.started:
            raise p.ProtocolError("not_started", "send 'start' before audio")
        if len(data) % 2:
            raise p.ProtocolError("bad_audio", f"audio frame of {len(data)} bytes is not whole "
                                  "16-bit samples")
        # Speech while the reply's first move still sounds goes on with the answer.
        self.listener.keep_ended = self._checkpoint is not None \
            and self.speaker.first_move_sounding
        self._dispatch(self.listener.feed(pcm16_to_float(data), speaking=self.speaking))
        if self.listener.turn is None:
            self._check_long_silence()
        else:
            self._check_thinking_pause(self.listener.turn)

    # ------------------------------------------------------------------ listening

    def _dispatch(self, events: list[ListenerEvent]) -> None:
        for event in events:
            if isinstance(event, TurnReopened):
                self._reopened(event)
            elif isinstance(event, SpeechStarted):
                self._awaiting_since = None
                if event.barge_in:
                    self.speaker.interrupt()  # barge-in: the candidate's words win
                self._spawn_send(p.Vad(state="speech", t=event.t), "vad")
            elif isinstance(event, SpeechStopped):
                self._spawn_send(p.Vad(state="silence", t=event.t), "vad")
            elif isinstance(event, PieceCut):
                self.transcriber.submit(event.turn, event.piece, event.audio, event.previous,
                                        urgent=functools.partial(self.listener.quiet, event.turn))
            elif isinstance(event, EndCheckDue):
                self.tasks.spawn(self._check_end(event), "end-check")
            elif isinstance(event, PartialDue):
                self.transcriber.partial_due(event.turn, self.listener.audio_between,
                                             self.listener.t_in, self._clock.monotonic(),
                                             self.tasks.spawn)
            elif isinstance(event, PreviewDue):
                self.planner.start_preview(event.turn, event.text,
                                           lambda work: self.tasks.spawn(work, "preview",
                                                                         quiet=True))
            elif isinstance(event, TurnEnded):
                self._ended(event)

    async def _check_end(self, event: EndCheckDue) -> None:
        """Whether the speech sounded finished, for the endpointer (a few ms of CPU)."""
        model = self.engines.turn_end
        assert model is not None
        probability = await asyncio.to_thread(model.complete_probability, event.audio)
        event.turn.end_check = (event.silence_since, probability)
        log.debug("session %s: turn %s sounds finished with p %.2f at its pause %.2f s in",
                  self.session_id, event.turn.turn_id, probability,
                  event.silence_since - event.turn.start_t)
        self._dispatch(self.listener.reweigh(event.turn))

    def _piece_landed(self, turn: Turn, piece: Piece) -> None:
        if self.listener.turn is turn:
            self.transcriber.caption(turn, done_text(turn))
        if turn.silence_since is None:  # still speaking: score the words so far
            self.tasks.spawn(self.assessor.score_so_far(self.planner.question, turn),
                             "pre-score")
        else:
            self._dispatch(self.listener.reweigh(turn))

    def _send_caption(self, turn: Turn, text: str) -> None:
        self._spawn_send(p.Transcript(turn_id=turn.turn_id, text=text, final=False), "caption")

    def _ended(self, event: TurnEnded) -> None:
        self.transcriber.turn_ended(event.turn)
        finishing = self.tasks.spawn(self._finish_turn(event.turn, event.audio), "final")
        self._checkpoint = None
        if event.reopenable and not self.finished:
            self._checkpoint = Checkpoint(event.turn, self.planner.checkpoint(),
                                          self.journal.checkpoint(), self.assessor.checkpoint(),
                                          finishing)

    def _forget_checkpoint(self) -> None:
        self._checkpoint = None
        self.listener.forget_ended()

    def _reopened(self, event: TurnReopened) -> None:
        """The turn goes on: its reply is withdrawn (the client is told which utterances
        to remove) and the session is put back as it was when the turn ended."""
        checkpoint, self._checkpoint = self._checkpoint, None
        assert checkpoint is not None and checkpoint.turn is event.turn
        checkpoint.finishing.cancel()
        self.planner.restore(checkpoint.planner)
        withdrawn = self.journal.roll_back(checkpoint.records)
        self.assessor.restore(checkpoint.assessor)
        log.info("session %s: turn %s goes on %.2f s after it was ended; withdrawn: %s",
                 self.session_id, event.turn.turn_id, event.after_s, withdrawn or "nothing")
        self._spawn_send(p.TurnResumed(turn_id=event.turn.turn_id, withdrawn=withdrawn), "resume")
        if withdrawn:
            policy = self.planner.policy
            self.tasks.spawn(self.journal.withdraw_saved(
                withdrawn, len(policy.asked) if policy is not None else None), "withdraw")

    async def _finish_turn(self, turn: Turn, audio: np.ndarray) -> None:
        results = [await settled(piece.plain) for piece in turn.pieces]
        result = join_pieces(turn, results)
        speech_s = sum(end - start for start, end in turn.segments)
        if not result.text or is_probable_hallucination(result.text, speech_s):
            log.info("session %s: dropped empty or invented transcript %r", self.session_id,
                     result.text)
            turn.drop_preview()
            unheard, self.unheard_prompt = self.unheard_prompt, None
            if unheard is not None:  # a noise cut the question off: say it again
                await self._perform_locked(lambda policy: policy.interrupted(unheard))
            return
        words = protocol_words(result, turn.segments)
        # Pauses not heard before: a turn carried on is finished again, segments and all.
        self.listener.learn_rhythm(answer_pauses(
            [w.word for w in words], [w.start for w in words],
            turn.segments[max(0, turn.segments_learned - 1):]))
        turn.segments_learned = len(turn.segments)
        await self.send(p.Transcript(turn_id=turn.turn_id, text=result.text, final=True,
                                     words=words))
        await self._respond(turn.turn_id, result.text, turn, words, spoken=True, audio=audio)
        await asyncio.to_thread(memory.trim)  # the turn's buffers, back to the system

    def _check_thinking_pause(self, turn: Turn) -> None:
        """A long silence inside an answer gets a gentle word, once per pause."""
        since = turn.silence_since
        if since is None or turn.nudged_at == since or self.speaking \
                or self._reply_lock.locked() or self.planner.policy is None:
            return
        if self.listener.t_in - since >= THINKING_NUDGE_S:
            turn.nudged_at = since
            self.tasks.spawn(self._perform_locked(lambda policy: policy.on_thinking_pause()),
                             "nudge")

    def _check_long_silence(self) -> None:
        since = self._awaiting_since
        if since is None or self.speaking or self._reply_lock.locked():
            return
        if self._clock.monotonic() - since >= SILENCE_HINT_S and self.planner.policy is not None:
            self._awaiting_since = None
            self.tasks.spawn(self._perform_locked(lambda policy: policy.on_silence()), "silence")

    # ------------------------------------------------------------------ replying

    async def _respond(self, turn_id: str, text: str, turn: Turn | None, words: list[p.Word],
                       spoken: bool, audio: np.ndarray | None = None) -> None:
        async with self._reply_lock:
            reply, prepared, moves = await answering.answer(self, turn_id, text, turn, words,
                                                            spoken, audio)
            if reply is not None:
                await self._perform(reply, prepared, moves)

    async def _perform_locked(self, decide: Callable[[Any], Reply]) -> None:
        async with self._reply_lock:
            await self._perform(self.planner.step(decide))

    async def perform(self, reply: Reply) -> None:
        await self._perform(reply)

    async def close_socket(self, code: int) -> None:
        await self._close(code)

    async def _perform(self, reply: Reply, prepared: Synthesis | None = None,
                       moves: AsyncIterator[Move] | None = None) -> None:
        self.speaker.change_rate(reply.rate_change)
        unheard = await self.speaker.perform(moves or reply.moves, self._announce, prepared)
        #: A question the candidate spoke over: offered again unless they answer it.
        self.unheard_prompt = next((m for m in unheard if m.kind in PROMPT_KINDS), None)
        if reply.moves and reply.moves[-1].kind in ("question", "followup", "hint"):
            now = self._clock.monotonic()
            self._awaiting_since = now
            self.assessor.question_done_at = max(now, self.speaker.heard_until)
        if reply.done:
            self._forget_checkpoint()  # the session is over: nothing to reopen
            self.tasks.spawn(opening.stop(self), "stop")

    def _announce(self, move: Move) -> p.Agent:
        """A move's `agent` message, recorded and saved."""
        question = self.bank.get(move.question_id) if move.question_id else None
        if move.kind == "question" and question is not None:
            # Compile the question's rubric while it is asked (claims: ms; embedded
            # points of a question without claims: ~0.9 s cold).
            self.tasks.spawn(self.assessor.warm(question), "warm")
        uid = self.journal.new_utterance_id()
        self.journal.add(TurnRecord(uid, "interviewer", move.text, move.question_id, move.kind))
        asked = (move.index, question) if move.kind == "question" and question is not None \
            and move.index is not None else None
        self.journal.save_agent_turn(uid, move.kind, move.text, move.question_id, asked)
        return p.Agent(utterance_id=uid, kind=move.kind, text=move.text,
                       question_id=move.question_id, index=move.index, source=move.source)

    def summary(self) -> p.Summary:
        return self.journal.summary(self.planner.policy)

    async def shutdown(self) -> None:
        await opening.shutdown(self)

    async def hand_over(self) -> None:
        await opening.hand_over(self)

