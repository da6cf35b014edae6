"""The interviewer's voice: each move announced, synthesized (or taken ready-made),
sent at real time, and cut short when the candidate barges in; the pace follows
"slower" and "faster" for the rest of the session."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

from pydantic import BaseModel

from server import protocol as p
from server.engines.tts import SynthesisQueue
from server.interviewer.policy import Move
from server.interviewer.speakable import speakable
from server.session.clock import Clock
from server.speaking import Synthesis, send_paced

LENGTH_SCALE_STEP = 0.15
SLOWEST, FASTEST = 2.0, 0.6


async def _iterate(items: Iterable[Move]) -> AsyncIterator[Move]:
    for item in items:
        yield item


class Speaker:
    def __init__(self, tts: Any, queue: SynthesisQueue, clock: Clock, *,
                 send: Callable[[BaseModel], Awaitable[None]],
                 send_audio: Callable[[bytes], Awaitable[None]],
                 length_scale: float) -> None:
        self.tts = tts
        self.queue = queue
        self._clock = clock
        self._send = send
        self._send_audio = send_audio
        self.length_scale = length_scale
        self.voiced = True  # the client asked for speech (`start.tts`)
        self._speech_task: asyncio.Task[None] | None = None
        #: When the listener will have heard everything sent (speech runs ahead a little).
        self.heard_until = 0.0
        #: The reply's first move is being said (or not yet heard to its end).
        self._first_running = False
        self._first_heard_until = 0.0

    @property
    def first_move_sounding(self) -> bool:
        """The candidate is still hearing the first move of the reply: speech now most
        likely goes on with their answer rather than answers the reply."""
        return self._first_running or self._clock.monotonic() < self._first_heard_until

    @property
    def speaking(self) -> bool:
        running = self._speech_task is not None and not self._speech_task.done()
        return running or self._clock.monotonic() < self.heard_until

    def change_rate(self, change: str | None) -> None:
        if change == "slower":
            self.length_scale = min(SLOWEST, self.length_scale + LENGTH_SCALE_STEP)
        elif change == "faster":
            self.length_scale = max(FASTEST, self.length_scale - LENGTH_SCALE_STEP)

    def prepare(self, move: Move) -> Synthesis | None:
        """Start synthesizing a move now, to be spoken later."""
        if not self.voiced:
            return None
        # A move the LLM worded may quote the candidate: not kept in the disk cache.
        return Synthesis.start(self.tts, speakable(move.text), self.length_scale, self.queue,
                               keep=move.source != "llm")

    def interrupt(self) -> None:
        task = self._speech_task
        if task is not None and not task.done():
            task.cancel()
        self.heard_until = 0.0
        self._first_heard_until = 0.0

    async def perform(self, moves: AsyncIterator[Move] | Iterable[Move],
                      announce: Callable[[Move], p.Agent],
                      prepared: Synthesis | None = None) -> list[Move]:
        """Say each move in turn; after a barge-in the rest is shown, not spoken over the
        candidate. `announce` makes (and records) a move's `agent` message. Returns the
        moves cut short or not spoken at all."""
        unheard: list[Move] = []
        interrupted = False
        position = -1
        stream = moves if isinstance(moves, AsyncIterator) else _iterate(moves)
        async for move in stream:
            position += 1
            synthesis = prepared if position == 0 else None
            if interrupted:
                await self._send(announce(move))
                unheard.append(move)
                continue
            self._speech_task = asyncio.ensure_future(self._speak(announce(move), move, synthesis))
            self._first_running = position == 0 and self.voiced
            try:
                await asyncio.shield(self._speech_task)
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if not self._speech_task.cancelled() or (current and current.cancelling()):
                    raise  # this reply itself was cancelled (withdrawn, or the session ends)
                interrupted = True
                unheard.append(move)
            finally:
                if position == 0:
                    self._first_running = False
                    self._first_heard_until = 0.0 if interrupted else self.heard_until
        if prepared is not None and position < 0:
            prepared.cancel()
        return unheard

    async def _speak(self, agent: p.Agent, move: Move, synthesis: Synthesis | None) -> None:
        await self._send(agent)
        if not self.voiced:
            return
        synthesis = synthesis or self.prepare(move)
        assert synthesis is not None  # speech is on
        await self._send(p.AudioStart(utterance_id=agent.utterance_id,
                                      sample_rate=self.tts.sample_rate))
        interrupted = False

        def heard_until(t: float) -> None:
            self.heard_until = t

        try:
            await send_paced(synthesis, self.tts.sample_rate, self._send_audio, heard_until,
                             self._clock)
        except asyncio.CancelledError:
            interrupted = True
            self.heard_until = 0.0
            raise
        finally:
            synthesis.cancel()
            with contextlib.suppress(Exception):
                await asyncio.shield(self._send(p.AudioEnd(utterance_id=agent.utterance_id,
                                                           interrupted=interrupted)))
