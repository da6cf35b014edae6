"""The live session's rules on fake engines (tests/fakes.py): endpointing, reopening a
turn, barge-in, the reply worked out ahead of time, pieces under load. Each runs in
milliseconds; the same behaviours on real models are in test_turn_taking.py and
test_roundtrip.py."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import numpy as np
import pytest

from server import protocol as p
from server.audio.endpoint import EndpointSettings
from server.audio.rhythm import PauseRhythm, answer_pauses
from server.config import Settings
from server.engines.stt import Transcription
from server.session.events import (
    PieceCut,
    PreviewDue,
    SpeechStarted,
    SpeechStopped,
    TurnEnded,
)
from server.session.listener import MIN_PIECE_S, Listener, ListenerSettings
from tests.fakes import (
    RATE,
    FakeClock,
    Harness,
    InlineExecutor,
    LoudnessVad,
    SureTurnEnd,
    start_session,
)

Starter = Callable[..., Awaitable[Harness]]

FINISHED = "Bias is error from a model that is too simple, so it underfits."
LATER = "Variance is error from being too sensitive to the training set, so it overfits."


@pytest.fixture
async def session() -> AsyncIterator[Callable[..., Awaitable[Harness]]]:
    """Starts sessions on the fake engines; shuts each down after the test."""
    started: list[Harness] = []
    loop = asyncio.get_running_loop()
    loop.set_default_executor(InlineExecutor())

    async def make(**fields: Any) -> Harness:
        started.append(await start_session(**fields))
        return started[-1]

    yield make
    for harness in started:
        await harness.conversation.shutdown()
    loop.set_default_executor(concurrent.futures.ThreadPoolExecutor())


def _finals(h: Harness) -> list[p.Transcript]:
    return [m for m in h.of(p.Transcript) if m.final]


async def test_a_finished_sentence_ends_the_turn_after_a_short_silence(session: Starter) -> None:
    h = await session()
    await h.say(FINISHED)
    spoken_until = h.clock.now
    await h.pause(1.5)
    [final] = _finals(h)
    assert final.text == FINISHED
    # 0.5 s of silence after a sentence ends it (endpoint_silence_ms), measured from the
    # last voiced sample; the VAD needs 4 frames (0.13 s) to call silence.
    assert 0.45 <= h.when(final) - spoken_until <= 0.75
    [score] = h.of(p.Score)
    assert "bias-definition" in {k.id for k in score.key_points if k.covered}
    assert h.agent()[-1].kind == "followup"


async def test_a_thinking_pause_mid_clause_is_held_and_the_answer_kept_whole(session: Starter) -> None:
    h = await session()
    await h.say("The first reason is that the model is too simple, and")
    await h.pause(2.5)
    assert not _finals(h)  # an unfinished clause waits (a thinking pause)
    await h.say("the second is that the data is noisy.")
    await h.pause(1.5)
    [final] = _finals(h)
    assert final.text.startswith("The first reason") and final.text.endswith("noisy.")
    assert len(h.of(p.Score)) == 1


async def test_going_on_right_after_the_end_reopens_the_turn_and_withdraws_the_reply(
        session: Starter) -> None:
    h = await session()
    asked = len(h.agent())
    await h.say(FINISHED)
    await h.pause(0.9)  # ended at ~0.6 s, the reply sent
    assert len(_finals(h)) == 1 and len(h.agent()) > asked
    reply_ids = [m.utterance_id for m in h.agent()[asked:]]
    records_before_reply = len(h.conversation.journal.records) - len(reply_ids) - 1
    await h.say(LATER)
    [resumed] = h.of(p.TurnResumed)
    assert resumed.turn_id == "t1" and resumed.withdrawn == reply_ids
    assert len(h.conversation.journal.records) == records_before_reply
    await h.pause(1.5)
    final = _finals(h)[-1]
    assert final.turn_id == "t1" and final.text == f"{FINISHED} {LATER}"
    candidate = [r for r in h.conversation.journal.records if r.speaker == "candidate"]
    assert [r.text for r in candidate] == [final.text]
    # The policy was put back: the follow-up is asked once, on the whole answer.
    followups = [m for m in h.agent("followup") if m.utterance_id not in reply_ids]
    assert len(followups) == 1


async def test_going_on_while_the_reply_is_still_sounding_keeps_the_answer_whole(
        session: Starter) -> None:
    """Past the resume window, but the reply's first move is still being said: the
    candidate is going on with their answer, not answering a question not yet heard."""
    h = await session(tts=True)
    await h.pause(16.0)  # the greeting and the question, heard to the end
    await h.say(FINISHED)
    await h.pause(2.4)  # the turn ended at ~0.6 s; 1.8 s of the reply heard
    assert h.conversation.speaking and _finals(h)
    await h.say(LATER)
    [resumed] = h.of(p.TurnResumed)
    assert resumed.withdrawn
    assert h.of(p.AudioEnd)[-1].interrupted
    await h.pause(1.5)
    assert _finals(h)[-1].text == f"{FINISHED} {LATER}"


async def test_speech_after_the_reply_was_heard_is_a_new_turn(session: Starter) -> None:
    h = await session(tts=True)
    await h.pause(16.0)
    await h.say(FINISHED)
    await h.pause(8.0)  # the whole reply heard, before any silence prompt
    assert not h.conversation.speaking
    await h.say(LATER)
    await h.pause(1.5)
    assert not h.of(p.TurnResumed)
    assert [m.turn_id for m in _finals(h)] == ["t1", "t2"]


async def test_the_client_acting_on_the_reply_keeps_the_turn_over(session: Starter) -> None:
    h = await session()
    await h.say(FINISHED)
    await h.pause(0.9)
    await h.conversation.handle_message(p.Interrupt())
    await h.say(LATER)
    assert not h.of(p.TurnResumed)
    await h.pause(1.5)
    assert [m.turn_id for m in _finals(h)] == ["t1", "t2"]


async def test_barge_in_cuts_the_voice_and_keeps_the_words(session: Starter) -> None:
    h = await session(tts=True)
    assert h.conversation.speaking  # the greeting and question are going out
    await h.say(FINISHED)
    ends = h.of(p.AudioEnd)
    assert ends and ends[-1].interrupted
    assert not h.conversation.speaking
    await h.pause(1.5)
    assert _finals(h)[-1].text == FINISHED


async def test_a_question_cut_off_by_the_candidate_is_said_again(session: Starter) -> None:
    """A user's voice cut into the greeting; question 1 was shown but never spoken."""
    h = await session(tts=True)
    await h.say("Oh sorry, hello.")
    await h.pause(2.0)
    again = h.agent("question")[-1]
    assert again.text.startswith("Let me say that again.") and again.question_id == "bias-variance"
    assert not h.of(p.Score)  # three words over the question are no answer


async def test_an_answer_over_the_question_is_scored_as_one(session: Starter) -> None:
    h = await session(tts=True)
    await h.say(FINISHED)
    await h.pause(1.5)
    assert h.of(p.Score)
    assert not any(m.text.startswith("Let me say that again") for m in h.agent())


async def test_the_voice_is_paced_at_real_time(session: Starter) -> None:
    h = await session(tts=True)
    first = h.audio_bytes
    await h.pause(1.0)
    sent_s = (h.audio_bytes - first) / 2 / RATE
    assert 0.8 <= sent_s <= 1.2  # one second of speech per second, however fast synthesis is


async def test_the_reply_worked_out_during_the_pause_is_adopted(session: Starter) -> None:
    h = await session()
    planner = h.conversation.planner
    adopted: list[object] = []
    adopt = planner.adopt
    planner.adopt = lambda ready: adopted.append(ready) or adopt(ready)  # type: ignore[method-assign]
    await h.say(FINISHED)
    await h.pause(1.5)
    assert len(adopted) == 1 and h.agent()[-1].kind == "followup"


async def test_a_reply_worked_out_for_a_pause_is_dropped_when_the_candidate_goes_on(session: Starter) -> None:
    h = await session()
    planner = h.conversation.planner
    adopted: list[object] = []
    adopt = planner.adopt
    planner.adopt = lambda ready: adopted.append(ready) or adopt(ready)  # type: ignore[method-assign]
    await h.say(FINISHED)
    await h.pause(0.3)  # long enough for the preview (required 0.5 s, lead 1 s), not the end
    await h.say(LATER)
    await h.pause(1.5)
    # The reply worked out for the first sentence was dropped; the one adopted was worked
    # out on the whole answer.
    assert len(adopted) == 1
    [score] = h.of(p.Score)
    covered = {k.id for k in score.key_points if k.covered}
    assert {"bias-definition", "variance-definition"} <= covered


async def test_a_short_pause_takes_the_speculative_piece_back(session: Starter) -> None:
    h = await session()
    await h.say("Bias is error from a model that is too simple,", 1.0)
    await h.pause(0.35)  # a speculative cut at 0.15 s of silence
    await h.say("so it underfits.", 1.0)
    await h.pause(1.5)
    last = h.scheduler.finals()[-1]
    assert h.scheduler._read(last.audio).text.startswith("Bias is error")


async def test_under_load_a_piece_not_started_is_merged_into_the_next(session: Starter) -> None:
    h = await session()
    h.scheduler.hold()
    await h.say("The first reason is that the model is too simple,", MIN_PIECE_S + 0.3)
    await h.pause(0.7)  # enough speech for a full piece: cut at once
    await h.say("and the second is that the data is noisy.", 1.5)
    await h.pause(0.3)
    queued = [job for job in h.scheduler.jobs if job.kind == "final"]
    assert len(queued) == 1  # the first piece's job was withdrawn into the second
    h.scheduler.release()
    await h.pause(1.5)
    assert _finals(h)[-1].text == ("The first reason is that the model is too simple, "
                                   "and the second is that the data is noisy.")


async def test_push_to_talk_turns_end_on_the_release_only(session: Starter) -> None:
    h = await session(turn_end="client")
    await h.say(FINISHED)
    await h.pause(3.0)  # six times the usual wait: still the candidate's turn
    assert not _finals(h)
    await h.conversation.handle_message(p.EndTurn())
    await h.pause(0.3)
    assert _finals(h)[-1].text == FINISHED


async def test_a_long_silence_after_a_question_gets_a_hint_not_an_end(session: Starter) -> None:
    h = await session()
    await h.pause(16.0)
    assert h.agent()[-1].kind == "hint"
    assert h.closed_with is None


async def test_a_typed_answer_is_scored_and_answered(session: Starter) -> None:
    h = await session()
    await h.conversation.handle_message(p.Text(text=FINISHED))
    await h.settle(10)
    [final] = _finals(h)
    assert final.turn_id == "t1" and h.of(p.Score) and h.agent()[-1].kind == "followup"


async def test_the_stored_answer_is_transcribed_again_in_one_pass(session: Starter) -> None:
    """Pieces cut at pauses lose context ("ask not" came back "S not."): the stored turn
    is the one-pass transcription of the whole answer, scored again; the live reply is
    not held up by it."""
    h = await session()
    h.scheduler.whole_texts[FINISHED] = f"{FINISHED} (whole)"
    await h.say(FINISHED)
    await h.pause(1.5)
    assert _finals(h)[-1].text == FINISHED  # live: the pieces
    [record] = [r for r in h.conversation.journal.records if r.speaker == "candidate"]
    assert record.text == f"{FINISHED} (whole)"
    assert record.score is not None
    assert [j.kind for j in h.scheduler.done].count("whole") == 1


async def test_stop_sends_the_summary_and_closes(session: Starter) -> None:
    h = await session()
    await h.say(FINISHED)
    await h.pause(1.5)
    await h.conversation.handle_message(p.Stop())
    [summary] = h.of(p.Summary)
    assert summary.questions[0].question_id == "bias-variance"
    assert summary.questions[0].transcripts == [FINISHED]
    assert h.closed_with == 1000


# ---------------------------------------------------------------------- the listener alone


def _tone(seconds: float, level: float = 0.3) -> np.ndarray:
    n = int(RATE * seconds)
    return np.where((np.arange(n) // 20) % 2 == 0, level, -level).astype(np.float32)


async def test_the_listener_turns_samples_into_events() -> None:
    clock = FakeClock()
    ids = iter(f"t{i}" for i in range(1, 10))
    listener = Listener(LoudnessVad(), ListenerSettings(EndpointSettings(finished_silence_s=0.5),
                                                        resume_window_s=1.0),
                        clock, next_turn_id=lambda: next(ids), withdraw=lambda piece: False)
    listener.begin(RATE)
    events = []
    for samples in (_tone(1.0), np.zeros(int(RATE * 0.3), dtype=np.float32)):
        for start in range(0, len(samples), 512):
            events += listener.feed(samples[start:start + 512], speaking=False)
            clock.advance(0.032)
    kinds = [type(e) for e in events]
    assert kinds[0] is SpeechStarted and SpeechStopped in kinds
    [cut] = [e for e in events if isinstance(e, PieceCut)]
    assert cut.piece.speculative and cut.previous is None
    assert not any(isinstance(e, TurnEnded) for e in events)  # no words yet: no end
    cut.piece.plain.set_result(Transcription(text="Regularization penalizes large weights."))
    reweighed = listener.reweigh(cut.turn)
    assert [type(e) for e in reweighed] == [PreviewDue]
    ended = []
    for _ in range(40):  # a short sentence may be an opener: 1.2 s (unknown_silence_s)
        ended += listener.feed(np.zeros(512, dtype=np.float32), speaking=False)
        clock.advance(0.032)
    [end] = [e for e in ended if isinstance(e, TurnEnded)]
    assert end.reopenable and len(end.audio) >= RATE * 1.0
    assert listener.turn is None


@pytest.mark.parametrize("speaking", [False, True])
async def test_the_listener_marks_barge_in(speaking: bool) -> None:
    listener = Listener(LoudnessVad(), ListenerSettings(EndpointSettings()), FakeClock(),
                        next_turn_id=lambda: "t1", withdraw=lambda piece: False)
    listener.begin(RATE)
    events = listener.feed(_tone(0.2), speaking=speaking)
    [start] = [e for e in events if isinstance(e, SpeechStarted)]
    assert start.barge_in is speaking
    await asyncio.sleep(0)


THREE = ("Bias is the error of a model that is too simple.",
         "Variance is the error of a model that is too sensitive.",
         "More data lowers the variance and leaves the bias alone.",
         "Regularization trades a little bias for a lot less variance.")


async def test_the_quick_end_is_earned_by_the_candidates_pauses(session: Starter) -> None:
    """A finished sentence that sounds finished waits the ordinary 0.5 s until the
    candidate has been heard to pause inside answers; then 0.1 s past their longest
    pause, here 0.25 + 0.1 s, down to the quick end (350 ms)."""
    h = await session(settings=Settings(endpoint_sure_ms=350), turn_end_model=SureTurnEnd())
    listener = h.conversation.listener
    assert listener.endpoint.sure_silence_s == pytest.approx(0.5)
    for sentence in THREE:
        await h.say(sentence)
        await h.pause(0.25)  # a breath between two sentences of one answer: not an end
    await h.pause(2.0)  # past the resume window: the next speech is a new answer
    [final] = _finals(h)
    assert final.text == " ".join(THREE)
    assert 0.33 <= listener.endpoint.sure_silence_s <= 0.4
    assert len(listener.rhythm.pauses) == 3
    await h.say(THREE[0] + " " + THREE[1])
    spoken_until = h.clock.now
    await h.pause(1.0)
    second = _finals(h)[-1]
    assert second.turn_id != final.turn_id
    assert h.when(second) - spoken_until <= 0.48  # quicker than the 0.5 s it waited before


def test_the_pause_rhythm_waits_for_evidence_and_never_shrinks_below_a_pause() -> None:
    rhythm = PauseRhythm(quick_s=0.35, ceiling_s=0.5)
    assert rhythm.quick_silence_s == 0.5
    rhythm.heard([0.2, 0.22])
    assert rhythm.quick_silence_s == 0.5  # two pauses heard: not yet
    rhythm.heard([0.15])
    assert rhythm.quick_silence_s == 0.35  # 0.22 + 0.1 is quicker than the quickest
    rhythm.heard([0.32])
    assert rhythm.quick_silence_s == pytest.approx(0.42)
    rhythm.heard([0.1])
    assert rhythm.quick_silence_s == pytest.approx(0.42)
    rhythm.heard([2.0])
    assert rhythm.quick_silence_s == 0.5
    assert PauseRhythm(quick_s=0.5, ceiling_s=0.5).quick_silence_s == 0.5


def test_a_pause_that_nearly_ended_the_turn_makes_the_ordinary_wait_longer() -> None:
    rhythm = PauseRhythm(quick_s=0.35, ceiling_s=0.5, longest_s=0.8)
    assert rhythm.finished_silence_s == 0.5
    assert not rhythm.nearly_ended(0.3, wait_s=0.5)  # well inside the wait: nothing learned
    assert rhythm.finished_silence_s == 0.5
    assert rhythm.nearly_ended(0.45, wait_s=0.5)
    assert rhythm.finished_silence_s == pytest.approx(0.55)
    assert rhythm.quick_silence_s == pytest.approx(0.55)  # the quick end is never longer
    assert rhythm.nearly_ended(0.62, wait_s=0.55)  # a pause the turn ended on, taken back
    assert rhythm.finished_silence_s == pytest.approx(0.72)
    assert not rhythm.nearly_ended(1.0, wait_s=0.72)  # a place to end a turn, not a breath
    assert rhythm.finished_silence_s == pytest.approx(0.72)
    rhythm.nearly_ended(0.78, wait_s=0.72)
    assert rhythm.finished_silence_s == 0.8  # never longer than `longest_s`


@pytest.mark.parametrize(("first", "breath_s", "learned_s", "longer_s"), [
    # A 0.45 s breath after a finished sentence came within 0.1 s of the 0.5 s wait: the
    # wait grows past it, so the next, longer breath (0.52 s, which the 0.5 s wait ended)
    # is held too.
    (THREE[0], 0.45, 0.55, 0.52),
    # "I would first look at..." is held for what it announces; the 0.5 s breath after it
    # is one between sentences all the same.
    ("Okay, I would first look at the class balance of the data.", 0.5, 0.6, 0.55),
])
async def test_a_candidate_who_pauses_long_between_sentences_is_not_cut_off(
        session: Starter, first: str, breath_s: float, learned_s: float,
        longer_s: float) -> None:
    """The answer is one turn, never taken back."""
    h = await session()
    listener = h.conversation.listener
    await h.say(first)
    await h.pause(breath_s)
    await h.say(THREE[1])
    assert listener.endpoint.finished_silence_s == pytest.approx(learned_s, abs=0.04)
    await h.pause(longer_s)
    await h.say(THREE[2])
    await h.pause(1.5)
    [final] = _finals(h)
    assert final.text == f"{first} {THREE[1]} {THREE[2]}"
    assert not h.of(p.TurnResumed)


def test_answer_pauses_leave_out_dangling_words_and_the_opening() -> None:
    words = "Good question. So bias is the error, and um variance is the other half.".split()
    starts = [0.0, 0.3, 1.4, 1.6, 1.8, 2.0, 2.2, 3.5, 3.7, 4.8, 5.0, 5.2, 5.4, 5.6]
    segments = [(0.0, 0.7), (1.4, 2.7), (3.5, 3.9), (4.8, 5.9)]
    # The pause after "question." is in the opening; the one after "um" is thinking.
    assert answer_pauses(words, starts, segments) == [0.8]
