"""A session's beginning and end: a new plan or a stored session resumed, the summary,
and the clean-up when the connection goes (or another one takes the session over)."""

from __future__ import annotations

import secrets
import uuid
from typing import TYPE_CHECKING

from server import protocol as p
from server.bank import Question, QuestionBank
from server.interviewer.policy import Interviewer

if TYPE_CHECKING:
    from server.session.conversation import Conversation


def select_questions(bank: QuestionBank, start: p.Start) -> list[Question]:
    if start.question_ids:
        chosen = [bank.get(qid) for qid in start.question_ids]
        missing = [qid for qid, q in zip(start.question_ids, chosen, strict=True) if q is None]
        if missing:
            raise p.ProtocolError("bad_message", f"unknown question id {missing[0]!r}")
        return [q for q in chosen if q is not None]
    count = start.num_questions if start.mode == "interview" else 1
    return bank.choose(count, start.categories, start.difficulty)


def _begin(session: Conversation, start: p.Start, session_id: str, token: str,
           questions: list[Question]) -> None:
    session.options = start
    session.speaker.voiced = start.tts
    session.listener.client_ends_turn = start.turn_end == "client"
    session.listener.begin(start.sample_rate)
    session.journal.session_id, session.journal.token = session_id, token
    reserve = (session.bank.filter(start.categories, start.difficulty)
               if start.mode == "drill" else [])
    session.planner.policy = Interviewer(questions, start.mode, start.max_follow_ups,
                                         reserve=reserve)
    session.started = True
    if session.live is not None:
        session.live.hold(session_id, session)


async def start(session: Conversation, start: p.Start) -> None:
    if not p.MIN_SAMPLE_RATE <= start.sample_rate <= p.MAX_SAMPLE_RATE:
        raise p.ProtocolError("bad_audio", f"sample_rate {start.sample_rate} is outside "
                              f"{p.MIN_SAMPLE_RATE}-{p.MAX_SAMPLE_RATE}")
    if start.resume is not None:
        if session.live is None:
            await _resume(session, start, start.resume)
            return
        # Two resumes of one session at once would both take it over from each other.
        async with session.live.locked(start.resume.session_id):
            await _resume(session, start, start.resume)
        return
    questions = select_questions(session.bank, start)
    if not questions:
        raise p.ProtocolError("bad_message", "no question matches these filters")
    _begin(session, start, uuid.uuid4().hex[:12], secrets.token_urlsafe(18), questions)
    journal = session.journal
    if session.store is not None:
        store = session.store
        options = start.model_dump(exclude={"resume"}) | {"question_ids": [q.id for q in questions]}
        await journal.persist(lambda: store.create_session(journal.session_id, journal.token,
                                                           start.mode, options), "the session")
    await session.send(p.SessionInfo(
        session_id=journal.session_id, token=journal.token, mode=start.mode,
        num_questions=len(questions) if start.mode == "interview" else None))
    session.tasks.spawn(session.perform(session.planner.step(lambda policy: policy.start())),
                        "greeting")


async def _resume(session: Conversation, start: p.Start, request: p.ResumeRequest) -> None:
    """Continue a stored session where it stopped: same plan, same turn numbering."""
    store, live = session.store, session.live
    found = None
    if store is not None and await store.check_token(request.session_id, request.token):
        found = await store.read_session(request.session_id)
    if found is None:
        raise p.ProtocolError("bad_session", "unknown session or wrong token", fatal=True)
    if found.status == "completed":
        raise p.ProtocolError("bad_session", "that session is over: its summary was given "
                              "and it cannot be resumed", fatal=True)
    if live is not None and live.holder(request.session_id) is not None:
        # Still live on another connection (a reconnect before the old socket was seen to
        # die): close that one, let its writes land, then read it again so that the turn
        # numbers continue after everything it said.
        await live.take_over(request.session_id)
        found = await store.read_session(request.session_id) if store else None
        if found is None:
            raise p.ProtocolError("bad_session", "unknown session or wrong token", fatal=True)
    stored = found.settings
    fields = {k: v for k, v in stored.items() if k in p.Start.model_fields and k != "resume"}
    options = p.Start.model_validate(fields | {
        "sample_rate": start.sample_rate, "tts": start.tts, "question_ids": None})
    plan = [q for q in (session.bank.get(qid) for qid in stored.get("question_ids") or [])
            if q is not None]
    _begin(session, options, request.session_id, request.token, plan)
    policy = session.planner.policy
    assert policy is not None
    policy.restore(session.journal.restore(found, session.bank))
    if store is not None:
        await session.journal.persist(lambda: store.mark_status(request.session_id, "active"),
                                      "the session")
    await session.send(p.SessionInfo(
        session_id=request.session_id, token=request.token, mode=options.mode,
        num_questions=len(plan) if options.mode == "interview" else None, resumed=True))
    session.tasks.spawn(session.perform(session.planner.step(lambda policy: policy.resume())),
                        "resume")


async def stop(session: Conversation) -> None:
    if session.closed:
        return
    session.speaker.interrupt()
    journal = session.journal
    await journal.saved()
    summary = session.summary()
    if session.store is not None and session.started:
        store = session.store
        summary.review_url = f"/review/{journal.session_id}?token={journal.token}"
        stored = summary.model_dump(mode="json")
        await journal.persist(lambda: store.finish_session(journal.session_id, stored,
                                                           "completed"), "the summary")
    session.finished = True
    await session.send(summary)
    await shutdown(session)
    await session.close_socket(1000)


async def shutdown(session: Conversation) -> None:
    """Cancel everything this session started; safe to call twice."""
    journal = session.journal
    await journal.saved()
    # Only the connection that still holds the session may mark it: after a resume
    # elsewhere, this one's late clean-up must not call the live session interrupted.
    held = session.live is None or session.live.let_go(journal.session_id, session)
    if session.started and not session.finished and session.store is not None and held:
        # The client went away without `stop`: keep the session, resumable.
        session.finished = True
        store = session.store
        stored = session.summary().model_dump(mode="json")
        await journal.persist(lambda: store.finish_session(journal.session_id, stored,
                                                           "interrupted"), "the session's end")
    if not await journal.retry_unsaved():
        journal.drop_unsaved()
    session.closed = True
    session.transcriber.closed = True
    session.speaker.interrupt()
    await session.tasks.cancel_all()


async def hand_over(session: Conversation) -> None:
    """Another connection resumed this session: stop here, let every write under way land
    (the new connection reads the session after this returns), close this socket with
    4000, and never write the session's status."""
    session.moved = True
    session.finished = True
    session.speaker.interrupt()
    await session.send(p.Error(code="taken_over", fatal=True,
                               message="this session was resumed on another connection"))
    session.closed = True
    session.transcriber.closed = True
    await session.tasks.cancel_all(keep=session.journal.is_write)
    await session.journal.all_saved()
    await session.journal.retry_unsaved()
    if session.live is not None:
        session.live.let_go(session.journal.session_id, session)
    try:
        await session.close_socket(4000)
    except Exception:  # the old socket may already be gone; nothing to tell it
        pass
