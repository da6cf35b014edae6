"""Moves as named parts: the one renderer, part replacement, and the LLM's fields put
into a rule move (`interviewer/worded.py`), on real bank questions and no models."""

from __future__ import annotations

import dataclasses
import json
import random

import pytest

from server.bank import QuestionBank, load_bank
from server.interviewer.moves import PARTS, Move, render
from server.interviewer.policy import AnswerResult, Interviewer
from server.interviewer.worded import WordingStep, worded_moves, wording_steps
from server.scoring.content import PointCoverage
from server.wording import turn_messages


@pytest.fixture(scope="module")
def bank() -> QuestionBank:
    return load_bank()


FOLLOW_UP = Move("followup", "What does variance measure?", "bias-variance", 1, "variance",
                 ack="Right, you explained that bias is error from wrong assumptions.")
QUESTION = Move("question", "What is regularization?", "regularization", 2,
                ack="Okay.", transition="Let's move on.", label="Question 2.")


# ---------------------------------------------------------------------------- renderer


def test_render_joins_the_parts_in_speaking_order() -> None:
    move = Move("question", "Core.", ack="Ack.", lead="Lead:", transition="Bridge.",
                label="Question 3.")
    assert render(move) == move.text == "Ack. Lead: Bridge. Question 3. Core."
    assert PARTS == ("ack", "lead", "transition", "label", "core")
    assert Move("hint", "The hint.", lead="Here's a hint:").text == "Here's a hint: The hint."
    assert Move("ack", "Okay, I'll speak faster.").text == "Okay, I'll speak faster."
    assert Move("ack", ack="Okay.").text == "Okay."
    assert Move("closing").text == ""


def test_a_part_is_replaced_by_name_and_the_move_joined_again() -> None:
    worded = FOLLOW_UP.with_parts(ack="You named the bias side.")
    assert worded.text == "You named the bias side. What does variance measure?"
    assert (worded.kind, worded.question_id, worded.index, worded.target, worded.source) == \
        ("followup", "bias-variance", 1, "variance", None)
    assert FOLLOW_UP.with_parts(source="llm", core="And variance?").source == "llm"
    assert dataclasses.replace(QUESTION, ack="").text == \
        "Let's move on. Question 2. What is regularization?"
    with pytest.raises(TypeError):
        FOLLOW_UP.with_parts(text="Not a part.")
    assert QUESTION == Move("question", "What is regularization?", "regularization", 2,
                            ack="Okay.", transition="Let's move on.", label="Question 2.")
    assert hash(QUESTION) == hash(dataclasses.replace(QUESTION))


# ---------------------------------------------------------------------------- LLM fields


def test_a_follow_up_is_spoken_as_acknowledgement_then_question() -> None:
    steps = wording_steps(FOLLOW_UP)
    assert [(s.field, s.part, s.move.kind) for s in steps] == \
        [("acknowledgement", "ack", "ack"), ("follow_up", "core", "followup")]
    ack, asked = worded_moves(FOLLOW_UP, acknowledgement="You named bias.",
                              follow_up="How would you measure variance?")
    assert (ack.kind, ack.text, ack.source, ack.question_id, ack.index) == \
        ("ack", "You named bias.", "llm", "bias-variance", 1)
    assert (asked.text, asked.source, asked.target) == \
        ("How would you measure variance?", "llm", "variance")


def test_a_missing_field_keeps_that_part_of_the_rule_wording() -> None:
    ack, asked = worded_moves(FOLLOW_UP, acknowledgement=None, follow_up="And variance?")
    assert (ack.text, ack.source) == (FOLLOW_UP.ack, "rules")
    assert (asked.text, asked.source) == ("And variance?", "llm")
    ack, asked = worded_moves(FOLLOW_UP, acknowledgement="You named bias.", follow_up="")
    assert (ack.source, asked.text, asked.source) == ("llm", FOLLOW_UP.core, "rules")
    ack, asked = worded_moves(FOLLOW_UP)
    assert f"{ack.text} {asked.text}" == FOLLOW_UP.text
    assert {ack.source, asked.source} == {"rules"}


def test_a_question_takes_only_the_acknowledgement() -> None:
    ack, rest = worded_moves(QUESTION, acknowledgement="You gave the definition.",
                             follow_up="Ignored: the rules move on.")
    assert (ack.kind, ack.text, ack.source) == ("ack", "You gave the definition.", "llm")
    assert rest == dataclasses.replace(QUESTION, ack="")
    assert rest.text == "Let's move on. Question 2. What is regularization?"
    assert rest.source is None  # the rules' own words, never put to the LLM
    unacknowledged = dataclasses.replace(QUESTION, ack="")
    assert worded_moves(unacknowledged, acknowledgement="Fine.") == [unacknowledged]


def test_drill_feedback_is_worded_whole() -> None:
    feedback = Move("feedback", "But you didn't mention that variance is sensitivity.",
                    "bias-variance", 1, ack="Right, you explained bias.")
    (worded,) = worded_moves(feedback, feedback="You left out variance.", acknowledgement="x")
    assert (worded.kind, worded.text, worded.ack, worded.source, worded.index) == \
        ("feedback", "You left out variance.", "", "llm", 1)
    (kept,) = worded_moves(feedback, feedback=None)
    assert (kept.text, kept.source) == (feedback.text, "rules")


def test_other_moves_are_spoken_as_the_rules_worded_them() -> None:
    closing = Move("closing", "That's the end of our session.", ack="Okay.")
    assert wording_steps(closing) == [WordingStep(closing)]
    assert worded_moves(closing, acknowledgement="Thanks.", feedback="Good.") == [closing]


# The split `Conversation._worded_moves` did by regex before moves had parts.
def test_the_rule_fallback_speaks_each_part_once(bank: QuestionBank) -> None:
    """Over whole sessions of real questions, a reply to an answer with no LLM field in
    is spoken as the rules worded it: the acknowledgement (when there is one) on its own,
    then the rest, nothing dropped or said twice."""
    checked = 0
    for seed in range(12):
        mode = "drill" if seed % 3 == 0 else "interview"
        policy = Interviewer(bank.choose(4, rng=random.Random(seed)), mode=mode,
                             reserve=bank.choose(6, rng=random.Random(seed + 50)), seed=seed)
        policy.start()
        rng = random.Random(seed)
        for _ in range(14):
            state = policy.current
            if state is None:
                break
            covered = frozenset(kp.id for kp in state.question.key_points if rng.random() < 0.4)
            reply = policy.on_answer(AnswerResult(covered, rng.random() * 100))
            first = reply.moves[0]
            spoken = worded_moves(first)
            assert all(m.text for m in spoken)
            assert " ".join(m.text for m in spoken) == first.text
            if first.kind in ("followup", "question") and first.ack:
                assert spoken[0].text == first.ack
                checked += 1
    assert checked > 20


def test_the_prompt_asks_to_reword_the_follow_up_core(bank: QuestionBank) -> None:
    question = bank.get("bias-variance")
    assert question is not None
    follow_up = question.follow_ups[0]
    move = Move("followup", follow_up.text, question.id, 1, follow_up.key_point or "deeper",
                ack="Okay.")
    points = [PointCoverage(kp.id, kp.text, kp.weight, False, None, None)
              for kp in question.key_points]
    user = turn_messages(question, points, "an answer", move)[1]["content"]
    assert json.dumps(follow_up.text) in user
    assert f"for reference: {json.dumps(move.text)}" in user
