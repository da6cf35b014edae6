"""Voice commands: recognised in many phrasings, never read into a real answer."""

from __future__ import annotations

import pytest

from server.interviewer.commands import MAX_COMMAND_WORDS, detect_intent, normalize

COMMANDS = [
    # repeat
    ("repeat", "repeat"),
    ("Repeat.", "repeat"),
    ("could you say that again", "repeat"),
    ("Could you say that again?", "repeat"),
    ("Sorry, can you repeat the question?", "repeat"),
    ("Could you repeat that one more time?", "repeat"),
    ("Say it again", "repeat"),
    ("say that again please", "repeat"),
    ("Please repeat", "repeat"),
    ("Come again?", "repeat"),
    ("Pardon?", "repeat"),
    ("What was the question?", "repeat"),
    ("One more time please", "repeat"),
    ("what did you say", "repeat"),
    ("Sorry, I missed that", "repeat"),
    ("I didn't catch that", "repeat"),
    ("Can I hear the question again?", "repeat"),
    # rephrase
    ("Can you rephrase?", "rephrase"),
    ("Could you rephrase the question please", "rephrase"),
    ("Can you say that differently?", "rephrase"),
    ("Could you put it another way?", "rephrase"),
    ("What do you mean?", "rephrase"),
    ("I don't understand the question", "rephrase"),
    # skip
    ("skip", "skip"),
    ("let's skip this one", "skip"),
    ("Skip it", "skip"),
    ("skip this question", "skip"),
    ("Can we skip this?", "skip"),
    ("I'd like to skip this one", "skip"),
    ("Pass", "skip"),
    ("I'll pass", "skip"),
    ("I give up", "skip"),
    # hint
    ("hint", "hint"),
    ("give me a hint", "hint"),
    ("Can I get a hint?", "hint"),
    ("Could you give me a hint please?", "hint"),
    ("Any hints?", "hint"),
    ("I need a hint", "hint"),
    ("Can you give me a clue", "hint"),
    ("Hint please", "hint"),
    ("Can you help me out a bit?", "hint"),
    # next
    ("next", "next"),
    ("Next!", "next"),
    ("Okay, next.", "next"),
    ("next question", "next"),
    ("Next question please", "next"),
    ("Next one please", "next"),
    ("Let's move on", "next"),
    ("Can we move on?", "next"),
    ("Move on to the next question", "next"),
    ("Let's go to the next question", "next"),
    ("Go on to the next one", "next"),
    ("Ask me another question", "next"),
    # stop
    ("stop", "stop"),
    ("Stop.", "stop"),
    ("that's all for today", "stop"),
    ("That's it for today", "stop"),
    ("I think that's all for today", "stop"),
    ("That's enough for now", "stop"),
    ("I'm done for today", "stop"),
    ("Let's stop here", "stop"),
    ("Can we stop?", "stop"),
    ("I want to stop", "stop"),
    ("Stop the interview", "stop"),
    ("End the session", "stop"),
    ("Let's call it a day", "stop"),
    ("Let's wrap up", "stop"),
    ("Quit", "stop"),
    # slower / faster
    ("slower", "slower"),
    ("slow down", "slower"),
    ("Slow down a bit, please", "slower"),
    ("Can you speak slower?", "slower"),
    ("Speak more slowly please", "slower"),
    ("a bit slower please", "slower"),
    ("You're speaking too fast", "slower"),
    ("faster", "faster"),
    ("Speed up", "faster"),
    ("Could you speak a bit faster?", "faster"),
    ("Can you talk faster", "faster"),
    ("You're talking too slowly", "faster"),
    # the model answer
    ("tell me the answer", "answer"),
    ("Can you tell me the answer?", "answer"),
    ("What's the answer?", "answer"),
    ("What is the correct answer", "answer"),
    ("Show me the model answer", "answer"),
    # not knowing
    ("I don't know", "dont_know"),
    ("Um, I don't know.", "dont_know"),
    ("I really don't know", "dont_know"),
    ("No idea", "dont_know"),
    ("I have no idea", "dont_know"),
    ("I'm not sure", "dont_know"),
    ("I'm stuck", "dont_know"),
    ("I can't remember", "dont_know"),
    ("I don't know this one", "dont_know"),
]

ANSWERS = [
    # Real answers that contain a command word.
    "I'd stop training when validation loss rises",
    "Stop training early when the validation loss stops improving",
    "Early stopping.",
    "The model should stop when accuracy plateaus",
    "I would end the training early",
    "The next token is predicted from the previous ones",
    "Next token prediction",
    "next, you compute the gradient",
    "We repeat the process for each fold",
    "Repeat until convergence.",
    "Repeat the experiment with a different seed",
    "The hint is in the gradient",
    "I would skip connections in a ResNet",
    "Skip gram",
    "Skip connections help gradients flow",
    "Pass the gradient backward",
    "Slow down the learning rate",
    "Slower convergence",
    "Speed up training with mixed precision",
    "Faster inference",
    "Help the model generalize",
    "Move on to a bigger model",
    "Quit overfitting by adding more data",
    "Finish with a softmax layer",
    "The answer is regularization",
    "What is the answer? It's bias.",
    "I don't know the exact formula but it uses the chain rule",
    "I'm not sure, but I think it's the variance",
    "No idea is perfect, but dropout helps",
    "it is like a student who memorizes",
    # Endings of an answer, which must not end the session.
    "That's it.",
    "That's all.",
    "I'm done.",
    "That's all it takes",
    # Thinking aloud.
    "Give me a second",
    "Let me think",
    "Hmm, let me think about that",
    "One more time, the bias",
    "Batch norm",
    "end of sequence token",
    "Tell me about your data first",
]


@pytest.mark.parametrize(("text", "intent"), COMMANDS)
def test_commands_are_recognised(text: str, intent: str) -> None:
    assert detect_intent(text) == intent


@pytest.mark.parametrize("text", ANSWERS)
def test_answers_are_not_commands(text: str) -> None:
    assert detect_intent(text) is None


@pytest.mark.parametrize("name", ["repeat", "skip", "hint", "next", "stop", "slower", "faster"])
def test_protocol_command_names_are_intents(name: str) -> None:
    """The names a `command` message carries are recognised as said, too."""
    assert detect_intent(name) == name
    assert detect_intent(name.upper() + "!") == name


def test_long_utterances_are_answers() -> None:
    words = ["next"] * (MAX_COMMAND_WORDS + 1)
    assert detect_intent(" ".join(words)) is None
    long_polite = "could you please please please please please repeat the question for me"
    assert len(long_polite.split()) > MAX_COMMAND_WORDS
    assert detect_intent(long_polite) is None


def test_empty_and_filler_only_utterances_are_not_commands() -> None:
    for text in ("", "   ", "um", "Okay.", "Yeah, right.", "Hmm..."):
        assert detect_intent(text) is None


def test_normalize_strips_fillers_punctuation_and_curly_quotes() -> None:
    assert normalize("Um, okay… I don’t know!") == "i don't know"
    assert normalize("Next question, please.") == "next question"
