"""The background tasks of one session, named, with failures reported.

Not `asyncio.TaskGroup`: a group cancels every task when one fails and is awaited as a
block, while a session's tasks (captions, replies, writes) come and go for its whole
life, one failing must not take the others down, and the session ends them on its own
schedule (`cancel_all`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

log = logging.getLogger("viva.session")

T = TypeVar("T")


class SessionTasks:
    def __init__(self, report: Callable[[str, BaseException], None]) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._report = report

    def spawn(self, coro: Awaitable[T], name: str, *, quiet: bool = False) -> asyncio.Task[T]:
        """`quiet`: its failure is the caller's to handle (it awaits the task)."""
        task: asyncio.Task[T] = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard if quiet else self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._report(task.get_name(), task.exception())  # type: ignore[arg-type]

    def count(self, name: str) -> int:
        return sum(1 for task in self._tasks if task.get_name() == name)

    async def cancel_all(self, keep: Callable[[asyncio.Task[Any]], bool] = lambda _: False
                         ) -> None:
        """Cancel every task but the current one and those `keep` keeps; wait for them."""
        current = asyncio.current_task()
        others = [task for task in self._tasks if task is not current and not keep(task)]
        for task in others:
            task.cancel()
        if others:
            await asyncio.gather(*others, return_exceptions=True)
