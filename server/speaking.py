"""The interviewer's voice going out: a reply synthesized a sentence at a time on the
shared queue, and sent at real time.

Synthesis runs ahead of playback; sending does not: frames go out no more than
`PLAYBACK_LEAD_S` ahead of the listener's clock, so that cancelling the sending task
(barge-in) stops the voice within about that much audio, as pipecat does.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from server.engines.tts import SynthesisQueue
from server.interviewer.speakable import first_clause, speech_parts
from server.session.clock import SYSTEM_CLOCK, Clock

PLAYBACK_LEAD_S = 0.3  # how far outgoing speech may run ahead of real time
AUDIO_FRAME_S = 0.04
#: Silence after a reply's opening spoken on its own: a comma's, or a full stop's.
OPENING_PAUSE_S = 0.12
SENTENCE_PAUSE_S = 0.25


class Synthesis:
    """A reply being synthesized a sentence at a time on the shared queue; each
    sentence's PCM is queued here as soon as it exists (None after the last)."""

    def __init__(self) -> None:
        self.chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.cancelled = threading.Event()

    @classmethod
    def start(cls, tts: Any, text: str, length_scale: float,
              speech: SynthesisQueue, keep: bool = True) -> Synthesis:
        """`keep=False` for text that may quote the candidate: past its cached opening,
        it is synthesized without the disk cache, so deleting a session leaves none of
        it behind."""
        synthesis = cls()
        loop = asyncio.get_running_loop()
        # A short opening ("Right,") goes first on its own: it is cached, so the reply
        # starts sounding while the rest is synthesized.
        opening, rest = first_clause(text)
        parts = ([opening] if opening else []) + speech_parts(rest)
        pause_s = OPENING_PAUSE_S if opening.endswith((",", ";")) else SENTENCE_PAUSE_S
        after_opening = bytes(2 * int(tts.sample_rate * pause_s))

        def deliver(pcm: bytes | None) -> None:
            with contextlib.suppress(RuntimeError):  # the loop may be gone at shutdown
                loop.call_soon_threadsafe(synthesis.chunks.put_nowait, pcm)

        cached = getattr(tts, "cached", None) if keep else None
        voice = tts if keep else getattr(tts, "unkept", tts)

        def advance(index: int) -> None:
            """Deliver the parts already spoken once (cached), then queue the next one
            that needs the vocoder: a cached sentence never waits behind other replies."""
            while index < len(parts) and not synthesis.cancelled.is_set() and cached is not None:
                pcm = cached(parts[index], length_scale)
                if pcm is None:
                    break
                deliver(pcm + after_opening if index == 0 and opening else pcm)
                index += 1
            if synthesis.cancelled.is_set() or index >= len(parts):
                deliver(None)
                return
            # The first sentence heard after the opening is still urgent; the rest only
            # has to keep ahead of playback.
            urgent = index <= (1 if opening else 0)
            if not speech.submit(SynthesisQueue.FIRST if urgent else SynthesisQueue.LATER,
                                 lambda: say(index)):
                deliver(None)

        def say(index: int) -> None:
            if synthesis.cancelled.is_set():
                deliver(None)
                return
            try:
                pcm = b"".join(chunk.pcm for chunk in voice.synthesize(parts[index], length_scale))
            except Exception:
                deliver(None)
                raise
            if index == 0 and opening:
                pcm += after_opening
            deliver(pcm)
            advance(index + 1)

        # The opening ("Right,") is kept in memory: it goes out from here, at once.
        in_memory = getattr(tts, "in_memory", None)
        ready = in_memory(opening, length_scale) if opening and in_memory is not None else None
        if ready is not None:
            synthesis.chunks.put_nowait(ready + after_opening)
        # Looking further (on disk) is file work: off the event loop.
        loop.run_in_executor(None, advance, 1 if ready is not None else 0)
        return synthesis

    def cancel(self) -> None:
        self.cancelled.set()


async def send_paced(synthesis: Synthesis, sample_rate: int,
                     send_audio: Callable[[bytes], Awaitable[None]],
                     sent_until: Callable[[float], None], clock: Clock = SYSTEM_CLOCK) -> None:
    """Send the synthesis's PCM in `AUDIO_FRAME_S` frames at real time, up to
    `PLAYBACK_LEAD_S` ahead; `sent_until(t)` gets the monotonic time at which the
    listener will have heard everything sent so far."""
    frame_bytes = int(sample_rate * AUDIO_FRAME_S) * 2
    started = clock.monotonic()
    sent_s = 0.0
    while (pcm := await synthesis.chunks.get()) is not None:
        for offset in range(0, len(pcm), frame_bytes):
            ahead = sent_s - (clock.monotonic() - started)
            if ahead > PLAYBACK_LEAD_S:
                await clock.sleep(ahead - PLAYBACK_LEAD_S)
            frame = pcm[offset: offset + frame_bytes]
            await send_audio(frame)
            sent_s += len(frame) / 2 / sample_rate
            sent_until(started + sent_s)
