"""The session's record: what each side said, in order, and its storage.

One ordered writer: a candidate's row is written before the interviewer's reply to it,
a failed write is kept and tried again before the next one, and a withdrawn turn's rows
are removed once the writes under way have landed. Also the turn numbering, the summary,
and the restore of a stored session on resume.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel

from server import protocol as p
from server.audio.pcm import TARGET_RATE, float_to_pcm16
from server.bank import Question, QuestionBank
from server.interviewer.policy import AnswerResult, Interviewer
from server.scoring.overall import session_averages
from server.store import SessionStore
from server.store.records import StoredSession
from server.turn import Turn

log = logging.getLogger("viva.journal")

#: At most one storage-failure `error` to the client in this many seconds.
STORAGE_REPORT_EVERY_S = 10.0


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


class Journal:
    def __init__(self, store: SessionStore | None,
                 send: Callable[[BaseModel], Awaitable[None]]) -> None:
        self.store = store
        self._send = send
        self.session_id = ""
        self.token = ""
        self.records: list[TurnRecord] = []
        #: Storage writes that failed, kept in order and tried again before the next one.
        self._unsaved: list[Callable[[], Awaitable[Any]]] = []
        self._unsaved_lock = asyncio.Lock()
        self._reported_at = -STORAGE_REPORT_EVERY_S
        self._saves: set[asyncio.Future[Any]] = set()  # candidate rows: awaited, never cancelled
        self._agent_saves: set[asyncio.Future[Any]] = set()  # the interviewer's rows
        self._turns = 0
        self._utterances = 0
        #: Records added or withdrawn so far: a reply worked out before a change is stale.
        self.changes = 0

    # ------------------------------------------------------------------ numbering

    def new_turn_id(self) -> str:
        self._turns += 1
        return f"t{self._turns}"

    def new_utterance_id(self) -> str:
        self._utterances += 1
        return f"u{self._utterances}"

    def add(self, record: TurnRecord) -> TurnRecord:
        self.records.append(record)
        self.changes += 1
        return record

    def checkpoint(self) -> int:
        return len(self.records)

    def roll_back(self, checkpoint: int) -> list[str]:
        """Withdraw every record after the checkpoint; the interviewer's utterance ids."""
        later, self.records[checkpoint:] = self.records[checkpoint:], []
        self.changes += 1
        for record in later:
            record.withdrawn = True
        return [record.turn_id for record in later if record.speaker == "interviewer"]

    # ------------------------------------------------------------------ storage

    async def persist(self, make: Callable[[], Awaitable[Any]], what: str,
                      keep: bool = True) -> Any:
        """Run one storage write. A failure never ends the live session: the candidate is
        told (a non-fatal `storage` error) and the write is kept, in order, and tried
        again before the next one and when the session ends (`keep=False`: a recording,
        whose row goes on without it)."""
        await self.retry_unsaved()
        try:
            return await make()
        except Exception as exc:
            log.error("session %s: storage write failed (%s): %s", self.session_id, what,
                      f"{type(exc).__name__}: {exc}"[:300])
            if keep:
                self._unsaved.append(make)
            await self._report(what, keep)
            return None

    async def retry_unsaved(self) -> bool:
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

    def drop_unsaved(self) -> None:
        if self._unsaved:
            log.error("session %s: %d storage write(s) could not be made and are lost",
                      self.session_id, len(self._unsaved))
            self._unsaved.clear()

    async def _report(self, what: str, kept: bool) -> None:
        now = time.monotonic()
        if now - self._reported_at < STORAGE_REPORT_EVERY_S:
            return
        self._reported_at = now
        then = ("it is kept and written again with the next turn" if kept
                else "the rest of the turn is saved without it")
        await self._send(p.Error(code="storage", fatal=False,
                                 message=f"the server could not save {what}; {then}"))

    def save_soon(self, write: Awaitable[Any]) -> asyncio.Future[Any]:
        """A candidate's row: awaited (never cancelled) before the session ends."""
        task = asyncio.ensure_future(write)
        self._saves.add(task)
        task.add_done_callback(self._saves.discard)
        return task

    async def saved(self) -> None:
        """Wait for the candidate's rows being written, so that rows keep their order."""
        if self._saves:
            await asyncio.gather(*self._saves, return_exceptions=True)

    async def all_saved(self) -> None:
        await asyncio.gather(*self._saves, *self._agent_saves, return_exceptions=True)

    def is_write(self, task: asyncio.Future[Any]) -> bool:
        return task in self._saves or task in self._agent_saves

    async def save_candidate_turn(self, record: TurnRecord, turn: Turn | None,
                                  words: list[p.Word], audio: np.ndarray | None,
                                  kind: str | None = "answer") -> None:
        if self.store is None or record.withdrawn:
            return
        store = self.store
        if audio is not None and len(audio):
            pcm = float_to_pcm16(audio)
            record.audio_path = await self.persist(
                lambda: store.save_audio(self.session_id, record.turn_id, pcm, TARGET_RATE),
                "the recording of your answer", keep=False)
            if record.withdrawn:
                return  # the turn went on: its longer audio and text are saved later
        score = record.score
        row = {
            "turn_id": record.turn_id, "speaker": "candidate", "kind": kind,
            "text": record.text, "question_id": record.question_id, "words": words,
            "segments": turn.segments if turn else None, "score": score,
            "metrics": score.metrics if score else None,
            "feedback": score.feedback if score else None, "audio_path": record.audio_path,
        }
        await self.persist(lambda: store.add_turn(self.session_id, row), "your answer")

    def save_agent_turn(self, uid: str, kind: str, text: str, question_id: str | None,
                        question: tuple[int, Question] | None) -> None:
        """The interviewer's row, after the candidate rows under way (rows keep their
        order); `question`: a new question asked, with its place in the plan."""
        if self.store is None:
            return
        store = self.store

        async def write() -> None:
            await self.saved()
            if question is not None:
                index, asked = question
                await self.persist(lambda: store.add_question(
                    self.session_id, index, asked.id, asked.category, asked.prompt),
                    "the question asked")
            row = {"turn_id": uid, "speaker": "interviewer", "kind": kind, "text": text,
                   "question_id": question_id}
            await self.persist(lambda: store.add_turn(self.session_id, row),
                               "the interviewer's turn")

        task = asyncio.ensure_future(write())
        self._agent_saves.add(task)
        task.add_done_callback(self._agent_saves.discard)

    async def withdraw_saved(self, turn_ids: list[str], questions_kept: int | None) -> None:
        if self.store is None or not turn_ids:
            return
        store = self.store
        # After the writes already under way, or one would put a withdrawn row back.
        await self.all_saved()
        await self.persist(lambda: store.withdraw_turns(self.session_id, turn_ids, questions_kept),
                           "a withdrawn reply")

    # ------------------------------------------------------------------ resume and summary

    def restore(self, found: StoredSession, bank: QuestionBank
                ) -> list[tuple[Question, AnswerResult | None]]:
        """The stored turns as records, the numbering continued after them; the questions
        discussed with the best result for each (for `Interviewer.restore`)."""
        best: dict[str, AnswerResult] = {}
        for turn in found.turns:
            record = self.add(TurnRecord(turn.turn_id, turn.speaker, turn.text,
                                         turn.question_id, turn.kind))
            score = turn.score
            if turn.speaker == "candidate" and score is not None and turn.question_id:
                record.score = score
                covered = frozenset(k.id for k in score.key_points if k.covered)
                before = best.get(turn.question_id)
                best[turn.question_id] = AnswerResult(
                    covered | (before.covered if before else frozenset()),
                    max(score.content, before.content if before else 0.0))
            kind, counter = turn.turn_id[:1], turn.turn_id[1:]
            if counter.isdigit() and kind == "t":
                self._turns = max(self._turns, int(counter))
            elif counter.isdigit() and kind == "u":
                self._utterances = max(self._utterances, int(counter))
        discussed = []
        for asked in found.questions:
            question = bank.get(asked.question_id)
            if question is not None:
                discussed.append((question, best.get(question.id)))
        return discussed

    def summary(self, policy: Interviewer | None) -> p.Summary:
        questions: list[p.QuestionSummary] = []
        by_id: dict[str, p.QuestionSummary] = {}
        for state in (policy.asked if policy else []):
            qid = state.question.id
            if qid in by_id:
                continue
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
        strengths, improvements = policy.session_highlights() if policy and scored else ([], [])
        overall, categories = session_averages(
            scored, {q.question_id: q.category for q in questions})
        return p.Summary(session_id=self.session_id, overall=overall, questions=questions,
                         strengths=strengths, improvements=improvements,
                         categories=categories or None)
