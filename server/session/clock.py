"""The session's sense of time, injectable so that turn-taking is testable in milliseconds."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


class ManualClock:
    """Time that moves only when told (`advance`): sessions on a script, in tests and in
    bench/turns.py, where 15 s of silence must cost no 15 s. `sleep` returns once the
    clock has been advanced past its end."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, future))
        await future

    def advance(self, seconds: float) -> None:
        self.now += seconds
        due = [future for t, future in self._sleepers if t <= self.now]
        self._sleepers = [(t, future) for t, future in self._sleepers if t > self.now]
        for future in due:
            if not future.done():
                future.set_result(None)
