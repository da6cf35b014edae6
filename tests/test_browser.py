"""The page in real Chromium, its microphone fed from a WAV of a spoken answer."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from tests.conftest import chromium_path, need

pytestmark = pytest.mark.slow

ANSWER = ("L1 regularization adds the absolute value of the weights to the loss, which "
          "pushes some weights to exactly zero, so it selects features.")


def write_wav(path, audio: np.ndarray, rate: int = 16000) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    need(executable is not None, "Chromium not installed (Debian package 'chromium')")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need(False, "playwright not installed")
    with sync_playwright() as pw:
        yield pw, executable


def launch(pw, executable: str, wav_path):
    return pw.chromium.launch(
        executable_path=executable,
        headless=True,
        args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav_path}",
            "--autoplay-policy=no-user-gesture-required",
        ],
    )


def test_spoken_answer_appears_and_reply_plays(browser, server, speak, tmp_path):
    pw, executable = browser
    silence = np.zeros(16000 * 2, dtype=np.float32)
    wav_path = tmp_path / "answer.wav"
    write_wav(wav_path, np.concatenate([silence, speak(ANSWER), np.zeros(16000 * 25, np.float32)]))
    chromium = launch(pw, executable, wav_path)
    try:
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
    finally:
        chromium.close()
