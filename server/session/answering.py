"""One answer, from its final text to the reply to say: the reply worked out ahead of
time adopted, or the answer scored and the policy stepped; the LLM's wording started;
the `score` message; the candidate's row committed before the interviewer moves on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

import numpy as np

from server import protocol as p
from server.engines.llm import FieldStream
from server.engines.stt import Transcription
from server.interviewer.commands import detect_intent
from server.interviewer.policy import Move, Reply
from server.scoring.content import ContentResult
from server.scoring.delivery import DeliveryMetrics
from server.session.assessor import VERBATIM_WAIT_S
from server.session.journal import TurnRecord
from server.session.planner import Ready
from server.session.transcriber import protocol_words, verbatim_text
from server.speaking import Synthesis
from server.turn import Turn, filler_text

if TYPE_CHECKING:
    from server.session.conversation import Conversation

#: Fewer words than this after cutting into a question are an aside, not an answer.
ANSWER_MIN_WORDS = 6

Answered = tuple[Reply | None, Synthesis | None, AsyncIterator[Move] | None]


async def answer(session: Conversation, turn_id: str, text: str, turn: Turn | None,
                 words: list[p.Word], spoken: bool, audio: np.ndarray | None) -> Answered:
    """The reply to perform (None: nothing to say), its first move's synthesis if one
    was started, and the LLM-worded moves when the LLM words it. Called under the
    session's reply lock."""
    planner, assessor, journal = session.planner, session.assessor, session.journal
    ready = await planner.take_preview(turn, text) if turn is not None else None
    question = planner.question
    record = journal.add(TurnRecord(turn_id, "candidate", text, question.id if question else None))
    intent = detect_intent(text)
    unheard, session.unheard_prompt = session.unheard_prompt, None
    if intent is None and unheard is not None and len(text.split()) < ANSWER_MIN_WORDS:
        # They cut into the question ("oh, sorry", "okay") and cannot have heard it:
        # say it again rather than score a few words as the answer.
        await journal.save_candidate_turn(record, turn, words, audio, kind="aside")
        return planner.step(lambda policy: policy.interrupted(unheard)), None, None
    if intent is not None or question is None:  # a command is never scored
        await journal.save_candidate_turn(record, turn, words, audio,
                                          kind="command" if intent else "answer")
        if intent is None:
            return None, None, None
        return planner.step(lambda policy: policy.on_intent(intent)), None, None
    # Fillers come from a second, verbatim pass over each piece, mostly done by now.
    verbatim = (session.tasks.spawn(verbatim_text(turn), "fillers", quiet=True)
                if spoken and turn is not None else None)
    if ready is not None:  # worked out while the endpointer waited
        content, reply = ready.content, planner.adopt(ready)
    else:
        content = await assessor.content(question, text)
        reply = planner.answer(question, content)
    if content is not None:
        assessor.keep(question, content)
    wording, deadline = planner.word(question, content, text, reply)
    prepared = _prepared(ready, reply, wording is not None, session.speaker.prepare)
    late = False
    if content is not None:
        # One worked out ahead of time does not wait for the filler count.
        wait = VERBATIM_WAIT_S if ready is None or ready.synthesis is None else 0.0
        fillers, late = await assessor.fillers(turn, verbatim, wait)
        metrics = assessor.delivery(turn, words, text, fillers) if spoken else None
        # The rule feedback now; the LLM's, when it comes, replaces it on the card (a
        # second `score` for the turn): the spoken reply does not wait for it (it did,
        # 3.7 s median with SmolLM2, bench.llm_parts).
        record.score = assessor.score(turn_id, question, content, metrics)
        await session.send(record.score)
        if wording is not None:
            session.tasks.spawn(_worded_feedback(session, record, turn, words, wording,
                                                 deadline, content, metrics), "feedback")
    # Committed before the interviewer moves on: a crash now loses nothing said.
    # Shielded and among the journal's writes: a `stop` right after the score cancels
    # this reply, but the session's end waits for the row instead of losing it. The
    # recording follows in the background (writing it would hold up the reply).
    await asyncio.shield(journal.save_soon(journal.save_candidate_turn(record, turn, words, None)))
    if audio is not None:
        journal.save_soon(journal.save_candidate_turn(record, turn, words, audio))
        # Not under load: one pass over a whole answer holds the one CPU lane for up to a
        # second, and eight sessions' replies measured 1.25 s median instead of 0.78 s.
        if turn is not None and content is not None and session.transcriber.idle():
            session.tasks.spawn(_store_whole(session, record, turn, audio, words, content),
                                "whole")
    if content is not None and late and verbatim is not None:
        session.tasks.spawn(_complete_fillers(session, record, turn, words, verbatim, content),
                            "fillers")
    moves = planner.worded_moves(reply, wording, deadline) if wording is not None else None
    return reply, prepared, moves


async def _worded_feedback(session: Conversation, record: TurnRecord, turn: Turn | None,
                           words: list[p.Word], wording: FieldStream, deadline: float,
                           content: ContentResult, metrics: DeliveryMetrics | None) -> None:
    """The LLM's feedback for the score card, if it comes in valid and in time."""
    worded = session.planner.count(await wording.get("feedback", deadline))
    question = session.bank.get(record.question_id or "")
    if not worded or question is None or record.withdrawn:
        return
    record.score = session.assessor.score(record.turn_id, question, content, metrics, worded)
    await session.send(record.score)
    await session.journal.saved()
    await session.journal.save_candidate_turn(record, turn, words, None)


async def _store_whole(session: Conversation, record: TurnRecord, turn: Turn,
                       audio: np.ndarray, words: list[p.Word], live: ContentResult) -> None:
    """The stored answer, transcribed again in one pass and scored on that text: what
    the review page and the summary show. The live reply stays as it was."""
    whole = await session.transcriber.whole(turn, audio)
    question = session.bank.get(record.question_id or "")
    if whole is None or question is None or whole.text == record.text:
        return
    marked = protocol_words(whole, turn.segments)
    content = await session.assessor.content(question, whole.text, urgent=False) or live
    # Fillers as the live score counted them (the verbatim passes of the pieces).
    metrics = session.assessor.delivery(turn, marked, whole.text, filler_text(turn))
    record.text = whole.text
    record.score = session.assessor.score(record.turn_id, question, content, metrics)
    await session.journal.saved()
    await session.journal.save_candidate_turn(record, turn, marked, None)


async def _complete_fillers(session: Conversation, record: TurnRecord, turn: Turn | None,
                            words: list[p.Word], verbatim: asyncio.Task[Transcription],
                            content: ContentResult) -> None:
    """The verbatim pass came in after the live score: rescore delivery for the record
    (summary, review) with the fillers it found."""
    done = await verbatim
    question = session.bank.get(record.question_id or "")
    if question is None:
        return
    await session.journal.saved()
    metrics = session.assessor.delivery(turn, words, record.text, done.text)
    record.score = session.assessor.score(record.turn_id, question, content, metrics)
    await session.journal.save_candidate_turn(record, turn, words, None)


def _prepared(ready: Ready | None, reply: Reply, worded: bool,
              prepare: Callable[[Move], Synthesis | None]) -> Synthesis | None:
    """The first move's synthesis: the one worked out ahead of time, else started now;
    none when the LLM words it (its words are not known yet)."""
    prepared = ready.synthesis if ready is not None else None
    if worded:
        if prepared is not None:
            prepared.cancel()
        return None
    if prepared is None and reply.moves:
        return prepare(reply.moves[0])
    return prepared
