"""Shared fixtures: real engines loaded once, a real server on a free port, spoken audio."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REQUIRE_ALL = os.environ.get("VIVA_REQUIRE_ALL") == "1"
# Servers started by tests (in process or as `viva serve`) do not speak the bank in the
# background: minutes of CPU that would slow every other test. tests/test_load_paths.py
# tests the warm-up itself.
os.environ.setdefault("VIVA_TTS_PREWARM", "0")
ROOT = Path(__file__).resolve().parent.parent


def need(condition: bool, reason: str) -> None:
    """Skip on a user's machine when a part is missing; fail in CI (VIVA_REQUIRE_ALL=1)."""
    if condition:
        return
    if REQUIRE_ALL:
        pytest.fail(f"required part missing: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def engines(tmp_path_factory):
    from server.config import Settings
    from server.engines.registry import load_engines

    # Its own data folder: the spoken-sentence cache must start empty in every run.
    return load_engines(Settings(data_dir=tmp_path_factory.mktemp("engines")))


class LiveServer:
    def __init__(self, app, port: int) -> None:
        import uvicorn

        from server.serving import uvicorn_options

        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}/ws"
        self.app = app
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                **uvicorn_options())
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def make_server(engines, tmp_path_factory) -> Iterator[Callable[..., LiveServer]]:
    """Start servers over the shared engines with per-test settings."""
    from server.app import create_app
    from server.config import Settings

    started: list[LiveServer] = []

    def factory(**overrides) -> LiveServer:
        data_dir = tmp_path_factory.mktemp("data")
        settings = Settings(data_dir=data_dir, **overrides)
        server = LiveServer(create_app(settings, engines=engines), free_port()).start()
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def server(make_server) -> LiveServer:
    return make_server()


@pytest.fixture(scope="session")
def speak(engines) -> Callable[[str], np.ndarray]:
    """Piper speaks `text`; returns 16 kHz float audio, as a microphone would deliver it."""
    from server.audio.pcm import StreamingResampler, pcm16_to_float

    cache: dict[tuple[str, float], np.ndarray] = {}

    def say(text: str, length_scale: float = 1.0) -> np.ndarray:
        key = (text, length_scale)
        if key not in cache:
            # Without Piper's noise, so every run hears the same audio.
            pcm = b"".join(chunk.pcm for chunk in
                           engines.tts.synthesize(text, length_scale, variation=False))
            audio = pcm16_to_float(pcm)
            cache[key] = StreamingResampler(engines.tts.sample_rate).process(audio)
        return cache[key]

    return say


def word_error_rate(reference: str, hypothesis: str) -> float:
    def norm(text: str) -> list[str]:
        return re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()

    ref, hyp = norm(reference), norm(hypothesis)
    d = np.zeros((len(ref) + 1, len(hyp) + 1), dtype=int)
    d[:, 0] = np.arange(len(ref) + 1)
    d[0, :] = np.arange(len(hyp) + 1)
    for i in range(1, len(ref) + 1):
        for j in range(1, len(hyp) + 1):
            cost = 0 if ref[i - 1] == hyp[j - 1] else 1
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + cost)
    return float(d[len(ref), len(hyp)]) / max(1, len(ref))


CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic",
    # Without these Chromium keeps calling home, and this machine's closed network refuses.
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


def fake_microphone(wav_path: Path) -> tuple[str, ...]:
    """Chromium flags that grant the microphone and feed it from a WAV file."""
    return ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav_path}")


@contextmanager
def launch_chromium(*extra_flags: str) -> Iterator[Any]:
    """Debian's Chromium through Playwright; skips (or fails in CI) when either is missing."""
    executable = chromium_path()
    need(executable is not None, "Chromium not installed (Debian package 'chromium')")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need(False, "playwright not installed")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True,
                                     args=[*CHROMIUM_FLAGS, *extra_flags])
        try:
            yield browser
        finally:
            browser.close()


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


async def recv_until(ws, kind: str, within: float = 20.0, seen: list | None = None) -> dict:
    """The next text message of type `kind` (binary frames skipped; all kept in `seen`)."""
    async def loop() -> dict:
        while True:
            frame = await ws.recv()
            if isinstance(frame, bytes):
                continue
            message = json.loads(frame)
            if seen is not None:
                seen.append(message)
            if message["type"] == kind:
                return message
    return await asyncio.wait_for(loop(), within)
