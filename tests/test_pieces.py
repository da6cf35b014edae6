"""Piecewise transcription and fast replies: the pure parts, then the real engines.

Pure logic (joining pieces, splitting speech, the policy copy, the synthesis queue's
order) is tested with plain values; the short Whisper window and the phrase cache
are tested on Piper's real speech.
"""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from server.bank import load_bank
from server.engines.stt import WINDOW_MAX_S, TranscribeOptions, _cut_repetition
from server.engines.tts import PhraseCache, SpeechChunk, SynthesisQueue
from server.interviewer.policy import AnswerResult, Interviewer, opening_phrases
from server.interviewer.speakable import first_clause, speech_parts
from server.turn import Piece, Turn, join_texts
from tests.conftest import word_error_rate

# ---------------------------------------------------------------------------- joining


def test_a_cut_inside_a_sentence_is_not_a_full_stop() -> None:
    assert join_texts(["The model is too simple.", "And the second reason is bias."]) == \
        "The model is too simple, and the second reason is bias."
    assert join_texts(["It cannot capture the real pattern.", "so it underfits."]) == \
        "It cannot capture the real pattern, so it underfits."
    assert join_texts(["We pick the threshold.", "using the validation set."]) == \
        "We pick the threshold using the validation set."


def test_a_real_sentence_end_is_kept() -> None:
    assert join_texts(["Bias is systematic error.", "Variance is sensitivity."]) == \
        "Bias is systematic error. Variance is sensitivity."
    assert join_texts(["", "Only this.", ""]) == "Only this."
    assert join_texts(["Let me think...", "and then"]) == "Let me think... and then"


def _done(value: object) -> asyncio.Future[object]:
    future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    future.set_result(value)
    return future


async def test_a_speculative_last_piece_is_taken_back() -> None:
    turn = Turn("t1", start_t=10.0)
    turn.segments = [(0.3, 2.0), (2.4, 3.0)]
    first = Piece(10.0, 12.2, _done(None), _done(None))
    tail = Piece(12.3, 13.2, _done(None), _done(None), speculative=True)
    turn.pieces = [first, tail]
    turn.commit_t = 13.2
    turn.retract()
    assert turn.pieces == [first] and turn.commit_t == 12.3
    turn.retract()  # the first piece was not speculative: it stays
    assert turn.pieces == [first]
    assert turn.speech_in(10.0, 12.2) == pytest.approx(1.7)
    assert turn.first_speech_after(12.2) == pytest.approx(12.4)


# ---------------------------------------------------------------------------- speech text


def test_a_reply_opening_is_split_off() -> None:
    assert first_clause("Right, you explained that bias is error.") == \
        ("Right,", "you explained that bias is error.")
    assert first_clause("Okay. Let's move on. Question 2.") == ("Okay.", "Let's move on. Question 2.")
    assert first_clause("Let's move on. Question 2.") == ("Let's move on.", "Question 2.")
    assert first_clause("You explained that bias is error.") == \
        ("", "You explained that bias is error.")


def test_every_rule_opening_is_short_enough_to_cache() -> None:
    for phrase in opening_phrases():
        assert len(phrase.split()) <= PhraseCache.MAX_WORDS, phrase


def test_long_sentences_are_spoken_in_parts_cut_at_commas() -> None:
    long = ("Imagine you are building a fraud model for a bank, where only one in a thousand "
            "transactions is fraud, and the labels arrive weeks later, how would you evaluate it?")
    parts = speech_parts(f"Short one. {long}")
    assert parts[0] == "Short one."
    assert " ".join(parts[1:]) == long
    # Short enough to keep the vocoder's memory down, never clipped to a word or two.
    assert len(parts) == 4 and all(4 <= len(part.split()) <= 16 for part in parts[1:]), parts
    assert speech_parts("No commas in this one at all.") == ["No commas in this one at all."]
    assert speech_parts("One, two three four five six seven eight nine ten eleven twelve "
                        "thirteen fourteen fifteen sixteen.")[0].startswith("One, two")


def test_a_repeated_opening_is_cut() -> None:
    assert _cut_repetition([1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4, 5, 6]) == [1, 2, 3, 4, 5, 6, 7]
    assert _cut_repetition([1, 2, 3, 4, 5, 1, 2, 9, 9, 9, 9]) == [1, 2, 3, 4, 5, 1, 2, 9, 9, 9, 9]


# ---------------------------------------------------------------------------- policy copy


def test_a_copy_of_the_policy_decides_alike_and_leaves_the_original_alone() -> None:
    bank = load_bank()
    questions = bank.choose(2, None, None)
    original = Interviewer(questions, "interview", 2, seed=3)
    original.start()
    copy = original.clone()
    result = AnswerResult(frozenset(), 10.0, questions[0].category)
    on_copy = copy.on_answer(result)
    assert original.current is not None and original.current.best is None
    assert original.current.follow_ups_asked == []
    on_original = original.on_answer(result)
    assert [m.text for m in on_copy.moves] == [m.text for m in on_original.moves]


# ---------------------------------------------------------------------------- voice


class CountingVoice:
    name = "counting"
    sample_rate = 16000

    def __init__(self) -> None:
        self.calls: list[str] = []

    def synthesize(self, text: str, length_scale: float = 1.0, variation: bool = True):
        self.calls.append(text)
        yield SpeechChunk(pcm=b"\x01\x00" * len(text))


def test_short_phrases_are_synthesized_once() -> None:
    voice = CountingVoice()
    cache = PhraseCache(voice)
    assert cache.cached("Right,") is None
    first = b"".join(c.pcm for c in cache.synthesize("Right,"))
    again = b"".join(c.pcm for c in cache.synthesize("Right,"))
    assert first == again and voice.calls == ["Right,"]
    assert cache.cached("Right,") == first
    long = "This sentence is far too long to keep."
    list(cache.synthesize(long))
    list(cache.synthesize(long))
    assert voice.calls.count(long) == 2


def test_first_sentences_go_before_the_rest() -> None:
    queue = SynthesisQueue(workers=1)
    order: list[str] = []
    gate = threading.Event()
    queue.submit(SynthesisQueue.LATER, gate.wait)  # occupies the one thread
    time.sleep(0.05)
    queue.submit(SynthesisQueue.LATER, lambda: order.append("later"))
    queue.submit(SynthesisQueue.FIRST, lambda: order.append("first"))
    gate.set()
    deadline = time.monotonic() + 5
    while len(order) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    queue.close()
    assert order == ["first", "later"]


def test_the_phrase_cache_speaks_with_piper(engines) -> None:
    cache = engines.tts
    assert isinstance(cache, PhraseCache)
    pcm = b"".join(c.pcm for c in cache.synthesize("Right,"))
    assert len(pcm) > engines.tts.sample_rate * 0.1  # at least 50 ms of 16-bit audio
    assert cache.cached("Right,") == pcm


# ---------------------------------------------------------------------------- short window


def test_the_short_window_transcribes_a_short_and_a_long_answer(engines, speak) -> None:
    short = "Regularization adds a penalty to the loss."
    audio = speak(short)
    assert len(audio) / 16000 < WINDOW_MAX_S
    result = engines.stt.transcribe(audio, TranscribeOptions())
    assert word_error_rate(short, result.text) <= 0.15, result.text
    assert result.words and result.words[-1].end <= len(audio) / 16000 + 0.2
    # Past the window's limit, faster-whisper's own 30 s road takes over.
    long = np.concatenate([audio] * 8)
    assert len(long) / 16000 > WINDOW_MAX_S
    again = engines.stt.transcribe(long, TranscribeOptions(word_timestamps=False))
    assert again.text.lower().count("penalty") >= 6, again.text


def test_the_short_window_hears_nothing_in_silence(engines) -> None:
    silence = np.zeros(16000 * 3, dtype=np.float32)
    assert engines.stt.transcribe(silence, TranscribeOptions()).text in ("", "you", "You")
