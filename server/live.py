"""What is running right now: session slots, and which connection holds which session.

Both live on `app.state` and are touched only from the event loop, so plain counters
and dicts are enough (no thread ever sees them).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any, Protocol


class SessionSlots:
    """The `max_sessions` limit. A slot is taken for a parsed `start` (never by looking
    for the word in a raw frame) and given back exactly once by the connection's
    `finally`, so no exit path can leak or double-free one."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0

    def claim(self, over_limit: bool = False) -> Slot | None:
        """A slot, or None when the server is full. `over_limit`: a resume taking a
        session over from a connection that is about to give its own slot back."""
        if self.active >= self.limit and not over_limit:
            return None
        self.active += 1
        return Slot(self)


class Slot:
    def __init__(self, slots: SessionSlots) -> None:
        self._slots: SessionSlots | None = slots

    def release(self) -> None:
        if self._slots is not None:
            self._slots.active -= 1
            self._slots = None


class Holder(Protocol):
    async def hand_over(self) -> None: ...


class LiveSessions:
    """One live connection per session: the newest `resume` takes the session over,
    and only the connection that holds a session may let go of it."""

    def __init__(self) -> None:
        self._holders: dict[str, Holder] = {}
        self._locks: dict[str, list[Any]] = {}  # session id -> [lock, users]

    def holder(self, session_id: str) -> Holder | None:
        return self._holders.get(session_id)

    @contextlib.asynccontextmanager
    async def locked(self, session_id: str) -> AsyncIterator[None]:
        """Held across a resume, so two resumes of one session cannot interleave. The
        lock is dropped when nobody holds or awaits it: a client naming made-up
        sessions must not leave one behind per name."""
        entry = self._locks.setdefault(session_id, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0 and self._locks.get(session_id) is entry:
                del self._locks[session_id]

    async def take_over(self, session_id: str) -> None:
        """Close the connection that holds the session; it has finished writing (so the
        turn numbers can continue after its) and let go when this returns."""
        previous = self._holders.get(session_id)
        if previous is not None:
            await previous.hand_over()
            self._holders.pop(session_id, None)

    def hold(self, session_id: str, holder: Holder) -> None:
        self._holders[session_id] = holder

    def let_go(self, session_id: str, holder: Any) -> bool:
        """Forget the session if `holder` still holds it; False when it moved on."""
        if self._holders.get(session_id) is holder:
            del self._holders[session_id]
            return True
        return False


class TokenBucket:
    """`rate` units a second, up to `burst` saved up; `take` spends or refuses."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.level = burst
        self._at = time.monotonic()

    def take(self, amount: float = 1.0) -> bool:
        now = time.monotonic()
        self.level = min(self.burst, self.level + (now - self._at) * self.rate)
        self._at = now
        if amount > self.level:
            return False
        self.level -= amount
        return True


#: Owners remembered before the decayed ones are dropped.
MAX_OWNERS = 4096
#: Added to the rank of work nobody waits for: more than any owner's usage can be.
SPECULATIVE_RANK = 1e6


class FairLane:
    """CPU-heavy work of every session (content scoring), `width` jobs at a time.

    Among those waiting, the job whose owner has used least lately (its own expected
    cost included) goes first; a big job (a long text) never takes the last `reserved`
    places, and waits `grace_s` after an ordinary job ends before it starts, since an
    interactive candidate's next answer tends to follow the reply at once.

    Why: with a thread for everyone, four sessions flooding long texts shared the cores
    with a fifth candidate's one answer, which then took twenty times as long; and a
    plain lock (the scorer's own) serves whoever grabs it first. Usage decays with
    `half_life_s`, so one long answer is soon forgiven; the grace ends as soon as
    ordinary jobs stop coming, so a long text is delayed, never starved for good."""

    def __init__(self, width: int = 1, reserved: int = 1, big_cost_s: float = 0.4,
                 grace_s: float = 0.5, half_life_s: float = 30.0) -> None:
        self.width = max(1, width)
        self.big_width = max(1, self.width - reserved)
        self.big_cost_s = big_cost_s
        self.grace_s = grace_s
        self.half_life_s = half_life_s
        self.running = 0
        self.running_big = 0
        self._waiting: list[tuple[float, int, bool, asyncio.Future[None]]] = []
        self._seq = 0
        self._usage: dict[str, tuple[float, float]] = {}  # owner -> (seconds, as of when)
        self._small_done_at = -grace_s
        self._timer: asyncio.TimerHandle | None = None

    def usage(self, owner: str) -> float:
        seconds, at = self._usage.get(owner, (0.0, 0.0))
        decay: float = 0.5 ** ((time.monotonic() - at) / self.half_life_s)
        return seconds * decay

    async def run(self, owner: str, fn: Any, *args: Any, cost_s: float = 0.0,
                  urgent: bool = True) -> Any:
        """`fn(*args)` in a worker thread when its turn comes; `cost_s`: its expected
        CPU seconds, charged to the owner at once (so a burst is not free). Work nobody
        waits for (`urgent=False`: scoring the words so far, to cache them) goes after
        every job somebody does wait for."""
        big = cost_s >= self.big_cost_s
        self._charge(owner, cost_s)
        await self._enter(owner, big, urgent)
        started = time.monotonic()
        try:
            return await asyncio.to_thread(fn, *args)
        finally:
            self._charge(owner, time.monotonic() - started - cost_s)
            if not big:
                self._small_done_at = time.monotonic()
            self._leave(big)

    def _charge(self, owner: str, seconds: float) -> None:
        self._usage[owner] = (max(0.0, self.usage(owner) + seconds), time.monotonic())
        if len(self._usage) > MAX_OWNERS:  # forget those whose usage has decayed away
            self._usage = {o: u for o, u in self._usage.items() if self.usage(o) > 0.01}

    async def _enter(self, owner: str, big: bool, urgent: bool) -> None:
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        rank = self.usage(owner) + (0.0 if urgent else SPECULATIVE_RANK)
        self._waiting.append((rank, self._seq, big, turn))
        self._dispatch()
        try:
            await turn  # `_dispatch` took the place for this job
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._leave(big)  # the place was given as this was cancelled
            else:
                self._waiting = [w for w in self._waiting if w[3] is not turn]
            raise

    def _leave(self, big: bool) -> None:
        self.running -= 1
        self.running_big -= big
        self._dispatch()

    def _dispatch(self) -> None:
        self._waiting = [w for w in self._waiting if not w[3].done()]
        self._waiting.sort(key=lambda w: (w[0], w[1]))
        grace_left = self._small_done_at + self.grace_s - time.monotonic()
        held = False
        for entry in list(self._waiting):
            _, _, big, turn = entry
            if self.running >= self.width:
                break
            if big and self.running_big >= self.big_width:
                continue
            if big and grace_left > 0:
                held = True
                continue
            self._waiting.remove(entry)
            self.running += 1
            self.running_big += big
            turn.set_result(None)
        if held and self._timer is None:
            def again() -> None:
                self._timer = None
                self._dispatch()

            self._timer = asyncio.get_running_loop().call_later(grace_left, again)

