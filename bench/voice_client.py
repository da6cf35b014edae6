"""A scripted candidate over /ws: speaks WAV/PCM answers at real time and records timings.

Used by the benchmarks (and handy by hand): `python -m bench.voice_client URL`.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import websockets

FRAME_S = 0.02


@dataclass
class Exchange:
    speech_end_wall: float = 0.0
    final_wall: float | None = None
    first_audio_wall: float | None = None
    partials: list[float] = field(default_factory=list)
    final_text: str = ""


@dataclass
class CandidateLog:
    messages: list[dict[str, Any]] = field(default_factory=list)
    audio_bytes: int = 0
    exchanges: list[Exchange] = field(default_factory=list)


async def _reader(ws: Any, log: CandidateLog, events: asyncio.Queue[dict[str, Any]]) -> None:
    async for frame in ws:
        now = time.monotonic()
        if isinstance(frame, bytes):
            log.audio_bytes += len(frame)
            if log.exchanges and log.exchanges[-1].first_audio_wall is None \
                    and log.exchanges[-1].final_wall is not None:
                log.exchanges[-1].first_audio_wall = now
            continue
        message = json.loads(frame)
        message["_t"] = now
        log.messages.append(message)
        if message["type"] == "transcript" and log.exchanges:
            ex = log.exchanges[-1]
            if message["final"]:
                ex.final_wall, ex.final_text = now, message["text"]
            else:
                ex.partials.append(now)
        await events.put(message)


async def stream_pcm(ws: Any, pcm16k: np.ndarray, realtime: bool = True) -> None:
    """Send float samples at 16 kHz as PCM16 frames of 20 ms, paced at real time."""
    step = int(16000 * FRAME_S)
    start = time.monotonic()
    for i, offset in enumerate(range(0, len(pcm16k), step)):
        chunk = np.clip(pcm16k[offset: offset + step], -1, 1)
        await ws.send((chunk * 32767).astype("<i2").tobytes())
        if realtime:
            delay = start + (i + 1) * FRAME_S - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)


async def wait_for(events: asyncio.Queue[dict[str, Any]], predicate: Any,
                   timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no matching message")
        message = await asyncio.wait_for(events.get(), remaining)
        if predicate(message):
            return message
