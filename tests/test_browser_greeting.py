"""Issue 18 in real Chromium: the candidate says a few words over the greeting ("Oh,
sorry, hello.", a WAV as the microphone). The greeting stops, the question it cut off
is said again ("Let me say that again." and the question, spoken), and the aside is not
scored as an answer."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from server.session.answering import ANSWER_MIN_WORDS
from tests.conftest import LiveServer, fake_microphone, launch_chromium
from tests.test_browser import write_wav

pytestmark = pytest.mark.slow

ASIDE = "Oh, sorry, hello."
#: Silence in the WAV before the aside: the greeting (about 10 s of speech) has begun by
#: then, so the aside lands on the interviewer's voice.
LEAD_S = 1.5
#: Silence after it: longer than the test, since Chromium loops the file.
TAIL_S = 45.0
#: The lead of the question said again (`Interviewer.interrupted`).
AGAIN = "Let me say that again."


def test_an_aside_over_the_greeting_gets_the_question_again(
        server: LiveServer, speak: Callable[[str], np.ndarray], tmp_path: Path) -> None:
    aside = speak(ASIDE)
    assert len(ASIDE.split()) < ANSWER_MIN_WORDS  # an aside by the server's own rule
    wav_path = tmp_path / "aside.wav"
    write_wav(wav_path, np.concatenate([np.zeros(int(16000 * LEAD_S), np.float32), aside,
                                        np.zeros(int(16000 * TAIL_S), np.float32)]))
    microphone = fake_microphone(wav_path)
    # Every frame the page receives, in order, with when it came: the audio bytes of each
    # utterance are the binary frames between its audio_start and audio_end.
    frames: list[tuple[float, dict[str, Any] | int]] = []

    def on_socket(ws: Any) -> None:
        def received(payload: str | bytes) -> None:
            frames.append((time.monotonic(), json.loads(payload) if isinstance(payload, str)
                           else len(payload)))
        ws.on("framereceived", received)

    with launch_chromium(*microphone) as chromium:
        page = chromium.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("websocket", on_socket)
        opened = time.monotonic()
        page.goto(f"{server.url}/?autostart=1&question_ids=regularization&max_follow_ups=0")
        page.wait_for_function(
            f"""() => window.viva.messages.some(m => m.type === 'agent'
                                                 && m.text.startsWith({json.dumps(AGAIN)}))""",
            timeout=60_000)
        again = page.evaluate(
            f"window.viva.messages.find(m => m.type === 'agent' && m.text.startsWith({json.dumps(AGAIN)}))")
        again_id = json.dumps(again["utterance_id"])
        # It is spoken to its end (the WAV is silent by now): its audio_end, not interrupted.
        page.wait_for_function(
            f"""() => window.viva.messages.some(m => m.type === 'audio_end'
                                                 && m.utterance_id === {again_id})""",
            timeout=60_000)
        page.wait_for_function("window.viva.state === 'listening'", timeout=30_000)
        viva = page.evaluate("""() => ({messages: window.viva.messages, state: window.viva.state,
            played: window.viva.utterancesPlayed, interrupted: window.viva.utterancesInterrupted,
            scheduled: window.viva.audioSecondsScheduled, lastScore: window.viva.lastScore,
            scored: document.querySelectorAll('#conversation .msg.candidate[data-scored]').length,
            candidates: [...document.querySelectorAll('#conversation .msg.candidate')]
                .map(n => n.innerText)})""")
        page.screenshot(path=str(tmp_path / "greeting-interrupted.png"), full_page=True)
        assert not errors, errors

    messages: list[dict[str, Any]] = viva["messages"]
    timeline = _timeline(frames, opened)
    print("\n" + "\n".join(timeline))

    greeting = next(m for m in messages if m["type"] == "agent" and m["kind"] == "greeting")
    greeting_end = next(m for m in messages
                        if m["type"] == "audio_end" and m["utterance_id"] == greeting["utterance_id"])
    assert greeting_end["interrupted"], ("the greeting played to its end under the aside",
                                         timeline)
    assert viva["interrupted"] >= 1, viva["interrupted"]

    finals = [m for m in messages if m["type"] == "transcript" and m["final"]]
    assert len(finals) == 1, (finals, timeline)
    heard = finals[0]["text"].lower()
    assert "sorry" in heard or "hello" in heard, heard

    # The question said again comes after the aside, and is spoken: its audio_start, audio
    # bytes, an audio_end that is not interrupted, played to the end by the page.
    assert messages.index(again) > messages.index(finals[0]), timeline
    assert again["kind"] == "question" and again["question_id"] == "regularization", again
    uid = again["utterance_id"]
    again_bytes = _audio_bytes(frames, uid)
    assert again_bytes is not None, ("no audio_start for the question said again", timeline)
    sample_rate = next(m["sample_rate"] for m in messages
                       if m["type"] == "audio_start" and m["utterance_id"] == uid)
    again_s = again_bytes / 2 / sample_rate
    assert again_s > 3.0, (again_bytes, timeline)  # the lead and the whole question
    again_end = next(m for m in messages if m["type"] == "audio_end" and m["utterance_id"] == uid)
    assert not again_end["interrupted"], timeline
    assert viva["played"] >= 1, viva["played"]
    # The same question as the one shown unspoken after the greeting's cut-off (which
    # began "Question 1."; said again, the lead takes that place).
    first = next(m for m in messages if m["type"] == "agent" and m["kind"] == "question")
    assert first != again and first["text"].endswith(again["text"].removeprefix(AGAIN)), \
        (first, again)
    assert not _audio_bytes(frames, first["utterance_id"]), timeline

    # The aside is not an answer: no score, nothing on the page scored.
    assert not [m for m in messages if m["type"] == "score"], timeline
    assert viva["lastScore"] is None and viva["scored"] == 0, viva
    assert viva["candidates"], "the aside is not shown"
    print(f"aside heard as {finals[0]['text']!r}; question said again: {again_s:.1f} s of audio")


def _timeline(frames: list[tuple[float, dict[str, Any] | int]], opened: float) -> list[str]:
    """The messages, one a line, seconds since the page was opened; audio as byte counts."""
    lines: list[str] = []
    run = 0
    for at, frame in frames:
        if isinstance(frame, int):
            run += frame
            continue
        if run:
            lines.append(f"           ({run} audio bytes)")
            run = 0
        shown = {k: v for k, v in frame.items() if k not in ("type", "words")}
        lines.append(f"{at - opened:8.2f} s {frame['type']} {json.dumps(shown)[:160]}")
    if run:
        lines.append(f"           ({run} audio bytes)")
    return lines


def _audio_bytes(frames: list[tuple[float, dict[str, Any] | int]], uid: str) -> int | None:
    """Bytes of audio between the utterance's audio_start and its audio_end."""
    total: int | None = None
    for _, frame in frames:
        if isinstance(frame, int):
            if total is not None:
                total += frame
        elif frame.get("utterance_id") == uid and frame["type"] == "audio_start":
            total = 0
        elif frame.get("utterance_id") == uid and frame["type"] == "audio_end":
            return total
    return total

