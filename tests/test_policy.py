"""The interviewer policy, driven turn by turn with real bank questions and no models.

`Harness` plays the conversation's part: a final transcript goes through
`detect_intent` first (a command is never scored), an answer arrives with the
coverage and content the scorer would have given it, and a long silence is a
call to `on_silence`. Every test asserts the moves that come back.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterable
from itertools import pairwise

import pytest

from server.bank import CATEGORIES, KeyPoint, Question, QuestionBank, load_bank
from server.interviewer.commands import detect_intent
from server.interviewer.policy import (
    STRONG_CONTENT,
    AnswerResult,
    Interviewer,
    Move,
    Reply,
    question_parts,
)
from server.interviewer.replies import (
    ACK_MAX_WORDS,
    ACK_OPENERS,
    NEUTRAL_LEADS,
    Picker,
    acknowledged_point,
    acknowledgement,
)

EMPTY_PRAISE = re.compile(
    r"^(?:great|good|excellent|nice|awesome|perfect|well done|fantastic)(?: answer| job| work| point)?[.!]$",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def bank() -> QuestionBank:
    return load_bank()


class Harness:
    """Feeds turns to an `Interviewer` the way the conversation does and records the moves."""

    def __init__(self, questions: list[Question], **options) -> None:
        options.setdefault("seed", 7)
        self.policy = Interviewer(questions, **options)
        self.log: list[Move] = []
        self.scored: list[str] = []  # transcripts that were scored as answers

    def _record(self, reply: Reply) -> Reply:
        self.log.extend(reply.moves)
        return reply

    def start(self) -> Reply:
        return self._record(self.policy.start())

    @property
    def question(self) -> Question:
        assert self.policy.current is not None
        return self.policy.current.question

    def answer(self, covered: Iterable[str] = (), content: float | None = None) -> Reply:
        """An answer that covered these key points (accumulated, as the scorer reports them)."""
        state = self.policy.current
        assert state is not None
        before = state.best.covered if state.best else frozenset()
        total = frozenset(covered) | before
        if content is None:
            weights = {kp.id: kp.weight for kp in state.question.key_points}
            content = 100.0 * sum(weights[k] for k in total) / sum(weights.values())
        return self._record(self.policy.on_answer(
            AnswerResult(total, content, state.question.category)))

    def answer_fraction(self, fraction: float) -> Reply:
        """An answer covering the first `fraction` of the key points, weightiest first."""
        points = sorted(self.question.key_points, key=lambda kp: -kp.weight)
        return self.answer([kp.id for kp in points[: round(len(points) * fraction)]])

    def say(self, transcript: str, covered: Iterable[str] = (), content: float = 0.0) -> Reply:
        """A final transcript: a command goes to `on_intent`, anything else is scored."""
        intent = detect_intent(transcript)
        if intent is not None:
            return self._record(self.policy.on_intent(intent))
        self.scored.append(transcript)
        return self.answer(covered, content)

    def command(self, name: str) -> Reply:
        """A `command` message from the client."""
        return self._record(self.policy.on_intent(name))  # type: ignore[arg-type]

    def silence(self) -> Reply:
        return self._record(self.policy.on_silence())


def kinds(reply: Reply) -> list[str]:
    return [m.kind for m in reply.moves]


def ack_of(move: Move) -> str:
    """A move's acknowledgement: its `ack` part, one sentence, spoken first."""
    assert move.ack and move.text.startswith(move.ack + " "), move
    assert len(sentences(move.ack)) == 1, move.ack
    return move.ack


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


def pick(bank: QuestionBank, *ids: str) -> list[Question]:
    questions = [bank.get(i) for i in ids]
    assert all(questions), ids
    return questions  # type: ignore[return-value]


# ---------------------------------------------------------------------------- question choice


def test_choose_mixes_categories(bank: QuestionBank) -> None:
    rng = random.Random(0)
    for count in (3, 6):
        chosen = bank.choose(count, rng=rng)
        assert len(chosen) == count
        assert len({q.category for q in chosen}) == count  # no category twice before all once
    twelve = bank.choose(12, rng=random.Random(1))
    assert Counter(q.category for q in twelve) == Counter({c: 2 for c in CATEGORIES})
    assert len({q.id for q in twelve}) == 12


def test_choose_respects_filters_and_runs_out_gracefully(bank: QuestionBank) -> None:
    chosen = bank.choose(4, categories=["coding", "communication"], rng=random.Random(2))
    assert [q.category for q in chosen].count("coding") == 2
    assert [q.category for q in chosen].count("communication") == 2
    easy = bank.choose(5, difficulty="easy", rng=random.Random(3))
    assert all(q.difficulty == "easy" for q in easy)
    everything = bank.choose(10_000, categories=["system-design"])
    assert len(everything) == len(bank.filter(["system-design"]))


# ---------------------------------------------------------------------------- interview mode


def test_greeting_explains_how_it_works_then_asks_the_first_question(bank: QuestionBank) -> None:
    questions = bank.choose(3, rng=random.Random(4))
    h = Harness(questions)
    reply = h.start()
    assert kinds(reply) == ["greeting", "question"]
    greeting = reply.moves[0].text
    assert "3 machine learning questions" in greeting
    assert "out loud" in greeting
    for word in ("repeat", "skip", "hint", "next"):
        assert word in greeting
    assert len(sentences(greeting)) <= 4  # short
    first = reply.moves[1]
    assert first.text == f"Question 1. {questions[0].prompt}"
    assert (first.question_id, first.index) == (questions[0].id, 1)


def test_interview_asks_every_question_in_order_then_closes(bank: QuestionBank) -> None:
    questions = bank.choose(4, rng=random.Random(5))
    h = Harness(questions, max_follow_ups=2)
    h.start()
    asked = [h.question.id]
    while not h.policy.finished:
        reply = h.answer_fraction(0.5)
        if reply.moves[-1].kind == "question":
            asked.append(reply.moves[-1].question_id)
    assert asked == [q.id for q in questions]
    assert h.policy.planned == 4
    closing = h.log[-1]
    assert closing.kind == "closing"
    assert "What went well:" in closing.text and "To work on:" in closing.text
    assert h.policy.current is None


def test_follow_up_probes_the_most_important_missed_point(bank: QuestionBank) -> None:
    (question,) = pick(bank, "bias-variance")
    h = Harness([question])
    h.start()
    # Both definitions but not the decomposition (the only weight-3 point left) nor the
    # three weight-2 levers.
    reply = h.answer(["bias-definition", "variance-definition"])
    (move,) = reply.moves
    assert move.kind == "followup" and move.target == "error-decomposition"
    assert move.text.endswith(question.follow_ups_for("error-decomposition")[0].text)
    # Answering that follow-up covers the point; the next probe is the next gap in weight
    # order, ties in bank order.
    reply = h.answer(["error-decomposition"])
    assert reply.moves[0].target == "complexity-lever"


def test_strong_answer_gets_a_deeper_probe(bank: QuestionBank) -> None:
    (question,) = pick(bank, "bias-variance")
    h = Harness([question])
    h.start()
    reply = h.answer([kp.id for kp in question.key_points], content=92.0)
    (move,) = reply.moves
    assert move.kind == "followup" and move.target == "deeper"
    assert move.text.endswith(question.deeper_probes[0].text)
    # Still strong: the second deeper probe, never the same one twice.
    reply = h.answer([], content=92.0)
    assert reply.moves[0].target == "deeper"
    assert reply.moves[0].text.endswith(question.deeper_probes[1].text)


def test_strong_answer_still_probes_an_important_gap(bank: QuestionBank) -> None:
    (question,) = pick(bank, "bias-variance")
    h = Harness([question])
    h.start()
    # data-lever (weight 2) is missed and has a follow-up: it comes before going deeper.
    reply = h.answer([kp.id for kp in question.key_points if kp.id != "data-lever"], content=85.0)
    assert reply.moves[0].target == "data-lever"


def test_strong_answer_is_not_grilled_on_nice_to_haves(bank: QuestionBank) -> None:
    (question,) = pick(bank, "attention-transformers")
    assert question.key_point("scaling-reason").weight == 1
    assert question.follow_ups_for("scaling-reason")
    strong = [kp.id for kp in question.key_points if kp.weight > 1]
    h = Harness([question])
    h.start()
    reply = h.answer(strong, content=STRONG_CONTENT + 5)
    assert reply.moves[0].target == "deeper"
    # The same gap in a weaker answer is probed.
    h = Harness([question])
    h.start()
    reply = h.answer(strong, content=STRONG_CONTENT - 20)
    assert reply.moves[0].target == "scaling-reason"


def test_weak_answer_without_probes_for_its_gaps_moves_on(bank: QuestionBank) -> None:
    questions = pick(bank, "regularization", "precision-recall")
    h = Harness(questions)
    h.start()
    # Everything with a follow-up is covered; the remaining gap (the weight-1 strength
    # tuning) has none, and it is not strong.
    reply = h.answer([kp.id for kp in questions[0].key_points if kp.id != "strength-tuning"],
                     content=40.0)
    assert kinds(reply) == ["question"]
    assert reply.moves[0].question_id == "precision-recall"
    assert "Question 2." in reply.moves[0].text


@pytest.mark.parametrize("max_follow_ups", [0, 1, 2, 3])
def test_moves_on_after_max_follow_ups(bank: QuestionBank, max_follow_ups: int) -> None:
    questions = pick(bank, "kmeans-scratch", "bias-variance")
    assert len([f for f in questions[0].follow_ups if f.key_point]) >= 3
    h = Harness(questions, max_follow_ups=max_follow_ups)
    h.start()
    follow_ups = 0
    while h.question.id == "kmeans-scratch":
        reply = h.answer([])  # nothing covered: a probe is always available until the cap
        if reply.moves[0].kind == "followup":
            follow_ups += 1
        else:
            break
    assert follow_ups == max_follow_ups
    assert h.question.id == "bias-variance"


def test_zero_follow_ups_moves_on_after_the_first_answer(bank: QuestionBank) -> None:
    questions = pick(bank, "precision-recall", "bias-variance")
    h = Harness(questions, max_follow_ups=0)
    h.start()
    reply = h.answer(["precision-def"])
    assert kinds(reply) == ["question"]
    assert reply.moves[0].question_id == "bias-variance"


def test_last_answer_closes_without_saying_move_on(bank: QuestionBank) -> None:
    (question,) = pick(bank, "precision-recall")
    h = Harness([question], max_follow_ups=0)
    h.start()
    reply = h.answer(["precision-def", "recall-def"])
    assert reply.done and kinds(reply) == ["closing"]
    for phrase_ in ("move on", "Moving on", "next one", "go on"):
        assert phrase_ not in reply.moves[0].text


# ---------------------------------------------------------------------------- acknowledgements


def test_acknowledgement_names_what_was_covered(bank: QuestionBank) -> None:
    (question,) = pick(bank, "precision-recall")
    h = Harness([question])
    h.start()
    reply = h.answer(["recall-def", "precision-def"])
    ack = ack_of(reply.moves[0])
    named = [kp for kp in question.key_points
             if kp.id in ("recall-def", "precision-def") and f"you {kp.covered}" in ack]
    assert len(named) == 1
    assert not EMPTY_PRAISE.match(ack)


def test_a_lone_credited_point_gets_no_acknowledgement(bank: QuestionBank) -> None:
    """A neighbouring question's answer or a wrong-claim answer often shares one point's
    words: half the acknowledgements after one-point answers on hold-out 3 were false."""
    (question,) = pick(bank, "precision-recall")
    h = Harness([question])
    h.start()
    reply = h.answer(["recall-def"])
    assert reply.moves[0].kind == "followup" and reply.moves[0].ack == ""
    lead = reply.moves[0].lead  # a backchannel that credits nothing, cached audio
    assert lead in NEUTRAL_LEADS
    # A follow-up answer that adds a point to one already covered is acknowledged, with
    # another opener than the backchannel's.
    reply = h.answer(["precision-def"])
    assert reply.moves[0].ack and not reply.moves[0].ack.startswith(lead.rstrip("."))


def test_acknowledgement_after_a_follow_up_names_the_new_point(bank: QuestionBank) -> None:
    (question,) = pick(bank, "precision-recall")
    h = Harness([question])
    h.start()
    h.answer(["precision-def", "recall-def"])
    reply = h.answer(["threshold-tradeoff"])
    ack = ack_of(reply.moves[0])
    assert "threshold" in ack
    assert "precision is true positives" not in ack


def test_an_answer_stating_a_misconception_gets_no_acknowledgement(bank: QuestionBank) -> None:
    """'Good, you covered X' after a wrong claim would sound like approval of the answer."""
    (question,) = pick(bank, "precision-recall")
    h = Harness([question])
    h.start()
    reply = h.policy.on_answer(AnswerResult(frozenset({"recall-def"}), 30.0, question.category,
                                            states_misconception=True))
    assert reply.moves[0].ack == ""
    assert reply.moves[0].kind == "followup"


def test_nothing_new_gets_no_acknowledgement(bank: QuestionBank) -> None:
    (question,) = pick(bank, "precision-recall")
    h = Harness([question])
    h.start()
    h.answer(["precision-def"])
    reply = h.answer(["precision-def"])
    assert reply.moves[0].ack == ""  # credits nothing; a bare backchannel at most
    assert reply.moves[0].lead in (*NEUTRAL_LEADS, "")


def test_acknowledgements_vary_and_no_opener_repeats_in_a_session(bank: QuestionBank) -> None:
    questions = bank.choose(12, rng=random.Random(6))
    h = Harness(questions, max_follow_ups=2, seed=11)
    h.start()
    acks: list[str] = []
    while not h.policy.finished:
        reply = h.answer_fraction(0.4)
        if reply.moves[0].kind in ("followup", "question") and reply.moves[0].ack:
            acks.append(ack_of(reply.moves[0]))
    assert len(acks) >= 12
    # The opener each begins with ("Okay, good" before "Okay").
    openers = [max((o for o in ACK_OPENERS if a.startswith(o + ",")), key=len) for a in acks]
    assert len(set(openers[:len(ACK_OPENERS)])) == min(len(openers), len(ACK_OPENERS))
    for ack in acks:
        assert not EMPTY_PRAISE.match(ack)
        assert len(ack.split()) <= ACK_MAX_WORDS
    transitions = [m.text.split(" Question ")[0].split(". ", 1)[-1] for m in h.log
                   if m.kind == "question" and m.index and m.index > 1]
    assert len(transitions) == 11
    for previous, current in pairwise(transitions):
        assert previous != current


def test_the_acknowledgement_uses_the_authored_wording_never_the_key_point_text(
        bank: QuestionBank) -> None:
    """A user heard "I noted that you pointed out that expected total error equals bias
    squared plus variance plus irreducible error" after an answer that said nothing of the
    kind: the bank's text put in the candidate's mouth."""
    (question,) = pick(bank, "accuracy-latency-tradeoff-pm")
    h = Harness([question])
    h.start()
    reply = h.answer(["translate-to-business", "options"])
    ack = ack_of(reply.moves[0])
    point = next(kp for kp in question.key_points if kp.id == "translate-to-business")
    assert point.covered in ack and point.text not in ack


def test_every_key_point_can_be_acknowledged_in_a_dozen_words(bank: QuestionBank) -> None:
    words = Picker(random.Random(1))
    for question in bank.questions:
        for kp in question.key_points:
            ack = acknowledgement(words, [kp])
            assert ack and len(ack.split()) <= ACK_MAX_WORDS, (kp.id, ack)
            assert kp.text.rstrip(".") not in ack


def test_i_am_not_sure_said_honestly_is_dont_know() -> None:
    assert detect_intent("Honestly, I'm not sure.") == "dont_know"


# ---------------------------------------------------------------------------- stalls


def test_i_dont_know_gets_the_hint_then_moves_on(bank: QuestionBank) -> None:
    questions = pick(bank, "bias-variance", "precision-recall")
    h = Harness(questions)
    h.start()
    reply = h.say("Um, I don't know.")
    assert kinds(reply) == ["hint"]
    assert questions[0].hint in reply.moves[0].text
    reply = h.say("I really don't know")
    assert kinds(reply) == ["question"] and reply.moves[0].question_id == "precision-recall"
    assert h.policy.asked[0].skipped
    assert h.scored == []  # neither was scored


def test_long_silence_gets_the_hint_then_an_offer_never_the_end_of_the_question(
        bank: QuestionBank) -> None:
    """After 15 s of silence a user heard "Let's leave that there." where a person would
    offer a hint: silence never closes a question; "skip" or "next" does."""
    questions = pick(bank, "bias-variance", "precision-recall")
    h = Harness(questions)
    h.start()
    reply = h.silence()
    assert kinds(reply) == ["hint"] and questions[0].hint in reply.moves[0].text
    for _ in range(3):
        reply = h.silence()
        assert kinds(reply) == ["hint"] and "skip" in reply.moves[0].text
        assert h.question.id == "bias-variance"
    assert kinds(h.say("skip")) == ["question"]


def test_stalling_on_a_follow_up_moves_on_without_the_question_hint(bank: QuestionBank) -> None:
    questions = pick(bank, "bias-variance", "precision-recall")
    h = Harness(questions)
    h.start()
    assert h.answer(["bias-definition"]).moves[0].kind == "followup"
    reply = h.say("I'm not sure")
    assert kinds(reply) == ["question"] and reply.moves[0].question_id == "precision-recall"
    h2 = Harness(questions)
    h2.start()
    h2.answer(["bias-definition"])
    assert kinds(h2.silence()) == ["hint"]  # an offer; the follow-up stays open
    assert h2.question.id == "bias-variance"


def test_repeat_the_last_part_says_the_last_sentence(bank: QuestionBank) -> None:
    (question,) = pick(bank, "bias-variance")
    h = Harness([question])
    h.start()
    assert detect_intent("could you repeat the last part?") == "repeat_last"
    (move,) = h.say("Can you repeat the last part?").moves
    assert move.lead == "The last part was:"
    assert question.prompt.endswith(move.core) and move.core != question.prompt


def test_silence_after_the_session_ends_says_nothing(bank: QuestionBank) -> None:
    h = Harness(pick(bank, "bias-variance"))
    h.start()
    h.command("stop")
    assert h.silence().moves == []


# ---------------------------------------------------------------------------- commands


def test_commands_are_never_scored(bank: QuestionBank) -> None:
    h = Harness(pick(bank, "bias-variance", "precision-recall"))
    h.start()
    for text in ("could you say that again", "give me a hint", "slow down", "can you rephrase?"):
        h.say(text)
    assert h.scored == [] and h.policy.asked[0].best is None
    reply = h.say("I'd stop training when validation loss rises", covered=["complexity-lever"],
                  content=20.0)
    assert h.scored == ["I'd stop training when validation loss rises"]
    assert not reply.done and h.policy.asked[0].best is not None


def test_repeat_says_the_question_or_follow_up_again(bank: QuestionBank) -> None:
    (question,) = pick(bank, "bias-variance")
    h = Harness([question])
    h.start()
    reply = h.say("Sorry, can you repeat the question?")
    assert reply.moves == [Move("question", question.prompt, question.id, 1)]
    follow_up = h.answer(["bias-definition"]).moves[0]
    reply = h.command("repeat")
    (move,) = reply.moves
    assert move.kind == "followup" and move.target == follow_up.target
    assert follow_up.text.endswith(move.text)  # the follow-up, without the acknowledgement
    assert move.text == question.follow_ups_for("variance-definition")[0].text


def test_rephrase_says_the_question_another_way(bank: QuestionBank) -> None:
    multi, single = pick(bank, "precision-recall", "backpropagation")
    h = Harness([multi, single])
    h.start()
    (move,) = h.say("Can you rephrase that?").moves
    assert move.kind == "question" and move.text != multi.prompt
    assert move.text.endswith("what are precision and recall?")
    assert "how do they trade off" not in move.text  # one piece at a time
    h.command("skip")
    (move,) = h.say("Could you put it another way?").moves
    assert move.text != single.prompt and single.hint in move.text
    assert move.text.endswith("explain backpropagation mathematically.")


def test_question_parts() -> None:
    context, asks = question_parts(
        "Self-attention on its own doesn't know the order of the tokens. Why is that, and how do "
        "positional encodings solve it? Compare sinusoidal, learned and rotary encodings.")
    assert context == "Self-attention on its own doesn't know the order of the tokens."
    assert asks == ["Why is that?", "How do positional encodings solve it?",
                    "Compare sinusoidal, learned and rotary encodings."]


def test_hint_then_another_angle_then_no_more(bank: QuestionBank) -> None:
    (question,) = pick(bank, "bias-variance")
    h = Harness([question])
    h.start()
    first = h.command("hint").moves[0]
    assert first.kind == "hint" and question.hint in first.text
    # Then the guiding question of each point, weightiest first (ties in bank order), not
    # its answer.
    for kp in sorted(question.key_points, key=lambda kp: -kp.weight):
        angle = h.command("hint").moves[0]
        assert angle.text.endswith(question.follow_ups_for(kp.id)[0].text)
    assert "best try" in h.command("hint").moves[0].text
    # A follow-up already heard as a hint is not asked again as a probe.
    reply = h.answer(["bias-definition"], content=30.0)
    assert kinds(reply) == ["closing"]


def test_skip_and_next_move_on(bank: QuestionBank) -> None:
    questions = pick(bank, "bias-variance", "precision-recall", "backpropagation")
    h = Harness(questions)
    h.start()
    reply = h.say("let's skip this one")
    assert reply.moves[0].question_id == "precision-recall" and h.policy.asked[0].skipped
    reply = h.say("next question")
    assert reply.moves[0].question_id == "backpropagation"
    assert "Question 3." in reply.moves[0].text


def test_stop_closes_the_session(bank: QuestionBank) -> None:
    h = Harness(pick(bank, "bias-variance", "precision-recall"))
    h.start()
    h.answer(["bias-definition", "variance-definition"])
    reply = h.say("that's all for today")
    assert reply.done and kinds(reply) == ["closing"]
    assert reply.moves[0].text.startswith("Okay, let's stop here.")
    assert h.policy.finished


def test_speech_rate_commands(bank: QuestionBank) -> None:
    (question,) = pick(bank, "bias-variance")
    h = Harness([question])
    h.start()
    reply = h.say("Can you speak slower?")
    assert reply.rate_change == "slower"
    assert kinds(reply) == ["ack", "question"]  # and the question again, at the new pace
    assert reply.moves[1].text == question.prompt
    reply = h.command("faster")
    assert reply.rate_change == "faster" and kinds(reply) == ["ack"]


def test_interview_keeps_the_model_answer_for_the_review(bank: QuestionBank) -> None:
    (question,) = pick(bank, "bias-variance")
    h = Harness([question])
    h.start()
    reply = h.say("tell me the answer")
    assert kinds(reply) == ["hint"]
    assert question.answer not in reply.moves[0].text and question.hint in reply.moves[0].text


# ---------------------------------------------------------------------------- closing summary


def test_closing_names_two_strengths_and_two_things_to_work_on(bank: QuestionBank) -> None:
    questions = pick(bank, "precision-recall", "accuracy-latency-tradeoff-pm")
    h = Harness(questions, max_follow_ups=0)
    h.start()
    h.answer(["precision-def", "recall-def"], content=50.0)
    reply = h.answer(["translate-to-business", "options"], content=40.0)
    text = reply.moves[-1].text
    assert reply.done
    strengths, improvements = h.policy.session_highlights()
    assert len(strengths) == 2 and len(improvements) == 2
    went_well = text.split("What went well: ")[1].split(". To work on:")[0]
    assert went_well.startswith("you ") and ", and you " in went_well
    to_work_on = text.split("To work on: ")[1].split(".")[0]
    assert to_work_on.count(", and ") == 1
    for item in strengths + improvements:
        assert item[:1].isupper() and item.endswith(".")
        assert len(item.split()) <= 12


def test_no_highlights_without_answers(bank: QuestionBank) -> None:
    h = Harness(pick(bank, "bias-variance"))
    h.start()
    reply = h.command("stop")
    assert "What went well" not in reply.moves[0].text
    assert h.policy.session_highlights() == ([], [])


# ---------------------------------------------------------------------------- drill mode


def test_drill_gives_feedback_then_the_next_question_until_stop(bank: QuestionBank) -> None:
    first = bank.get("bias-variance")
    assert first is not None
    h = Harness([first], mode="drill", reserve=list(bank.questions))
    reply = h.start()
    assert kinds(reply) == ["greeting", "question"]
    assert "stop" in reply.moves[0].text and "tell me the answer" in reply.moves[0].text
    assert "Question 1" not in reply.moves[1].text  # an open-ended loop, no numbering
    for _ in range(8):
        reply = h.answer_fraction(0.3)
        assert kinds(reply) == ["feedback", "question"]
        feedback = reply.moves[0].text
        assert "Next time, " in feedback  # what was missed
        assert 1 <= len(sentences(feedback)) <= 2
        assert not reply.done
    reply = h.say("stop")
    assert reply.done and kinds(reply) == ["closing"]


def test_drill_feedback_when_everything_was_covered(bank: QuestionBank) -> None:
    first = bank.get("precision-recall")
    h = Harness([first], mode="drill", reserve=list(bank.questions))
    h.start()
    reply = h.answer([kp.id for kp in first.key_points])
    assert "every key point" in reply.moves[0].text


def test_drill_asks_the_weakest_category_first(bank: QuestionBank) -> None:
    first = bank.get("bias-variance")
    h = Harness([first], mode="drill", reserve=list(bank.questions), seed=3)
    h.start()
    h.answer([], content=10.0)  # fundamentals: weak
    assert h.question.category == "fundamentals"
    h.answer([kp.id for kp in h.question.key_points], content=100.0)  # fundamentals avg 55
    weak_categories = [h.question.category]
    h.answer([], content=20.0)  # this new category is now the weakest (20)
    weak_categories.append(h.question.category)
    assert weak_categories[0] != "fundamentals"  # untried categories (50) beat fundamentals (55)
    assert weak_categories[1] == weak_categories[0]
    scores = h.policy.category_scores()
    assert min(scores, key=scores.get) == weak_categories[0]


def test_drill_model_answer_on_request(bank: QuestionBank) -> None:
    first = bank.get("bias-variance")
    h = Harness([first], mode="drill", reserve=list(bank.questions))
    h.start()
    h.answer(["bias-definition"])  # feedback, then the next question at once
    current = h.question
    reply = h.say("Can you tell me the answer?")
    assert kinds(reply) == ["feedback", "question"]
    assert first.answer in reply.moves[0].text and reply.moves[0].question_id == first.id
    assert reply.moves[1].text.endswith(current.prompt)
    # Asked again before answering the new one: still the one just discussed; after an
    # answer attempt on the new one, the new one's.
    h.answer([], content=0.0)
    assert first.answer not in h.say("what's the answer").moves[0].text


def test_drill_dont_know_hint_then_next(bank: QuestionBank) -> None:
    first = bank.get("bias-variance")
    h = Harness([first], mode="drill", reserve=list(bank.questions))
    h.start()
    assert kinds(h.say("no idea")) == ["hint"]
    reply = h.say("I don't know")
    assert kinds(reply) == ["question"] and h.question.id != first.id


# ---------------------------------------------------------------------------- resume, wording


def test_restore_and_resume_continue_the_plan(bank: QuestionBank) -> None:
    questions = pick(bank, "bias-variance", "precision-recall", "backpropagation")
    h = Harness(questions)
    h.policy.restore([(questions[0], AnswerResult(frozenset({"bias-definition"}), 30.0)),
                      (questions[1], None)])  # asked, never answered: asked again
    reply = h._record(h.policy.resume())
    (move,) = reply.moves
    assert move.text.startswith("Welcome back") and move.question_id == "precision-recall"
    assert "Question 2." in move.text and h.policy.planned == 3


def test_moves_keep_the_shape_the_conversation_relies_on(bank: QuestionBank) -> None:
    """A move that answers an answer has one acknowledgement sentence as its `ack`; a
    follow-up's `core` is the bank's follow-up text and a question's its prompt (the LLM
    rewording replaces these parts by name)."""
    questions = bank.choose(6, rng=random.Random(8))
    h = Harness(questions)
    h.start()
    while not h.policy.finished:
        reply = h.answer_fraction(0.5)
        move = reply.moves[0]
        if move.ack:  # none when the answer added nothing
            ack_of(move)
        state = h.policy.asked[move.index - 1] if move.index else None
        if move.kind == "followup":
            assert state is not None and move.core == state.follow_ups_asked[-1].text
            assert move.text == " ".join(part for part in (move.ack, move.lead, move.core) if part)
            assert bool(move.ack) != bool(move.lead)  # "Okay." only where nothing is acknowledged
        elif move.kind == "question":
            assert move.core == h.question.prompt and move.text.endswith(h.question.prompt)


def test_acknowledgement_prefers_a_two_concept_claim_among_equals() -> None:
    def point(pid: str, weight: int, requires: list[list[str]]) -> KeyPoint:
        return KeyPoint(id=pid, text=f"{pid} text", weight=weight, terms=[pid],
                        requires=requires, covered=f"covered {pid}", missed=f"say {pid}")

    signpost = point("structure", 3, [["in stages", "funnel"]])
    claim = point("ranking", 3, [["ranker"], ["scores", "sorts"]])
    light = point("extra", 2, [["cache"], ["nightly"]])
    assert acknowledged_point([signpost, claim, light]) is claim
    assert acknowledged_point([signpost, light]) is signpost  # weight still comes first
    assert acknowledged_point([]) is None
