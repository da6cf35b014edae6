"""The page in real Chromium, its microphone fed from a WAV of a spoken answer."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from server.audio.pcm import float_to_pcm16
from tests.conftest import fake_microphone, launch_chromium

pytestmark = pytest.mark.slow

ANSWER = ("L1 regularization adds the absolute value of the weights to the loss, which "
          "pushes some weights to exactly zero, so it selects features.")


def write_wav(path, audio: np.ndarray, rate: int = 16000) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(float_to_pcm16(audio))


def test_spoken_answer_appears_and_reply_plays(server, speak, tmp_path):
    silence = np.zeros(16000 * 2, dtype=np.float32)
    wav_path = tmp_path / "answer.wav"
    write_wav(wav_path, np.concatenate([silence, speak(ANSWER), np.zeros(16000 * 25, np.float32)]))
    with launch_chromium(*fake_microphone(wav_path)) as chromium:
        page = chromium.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{server.url}/?autostart=1&question_ids=regularization&max_follow_ups=0")
        page.wait_for_selector("#conversation .msg.agent", timeout=30_000)
        candidate = page.wait_for_selector("#conversation .msg.candidate", timeout=60_000)
        text = candidate.inner_text().lower()
        assert "regularization" in text or "weights" in text, text
        # The interviewer's reply to that answer arrives and its audio is scheduled.
        page.wait_for_function(
            """() => {
                const msgs = window.viva.messages;
                const final = msgs.findIndex(m => m.type === 'transcript' && m.final);
                return final >= 0 && msgs.slice(final).some(m => m.type === 'audio_end')
                    && window.viva.audioSecondsScheduled > 1;
            }""",
            timeout=60_000,
        )
        assert page.evaluate("window.viva.audioFramesReceived") > 10
        assert not errors, errors
        page.screenshot(path=str(tmp_path / "page.png"))
