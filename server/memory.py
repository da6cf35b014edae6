"""Handing freed native memory back to the operating system.

Whisper, Piper and the scorer allocate and free large buffers from several threads;
glibc keeps what they free in its heaps, so the process's resident size only ever
rises to the highest it has been. `trim()` after each turn returns it. `fewer_arenas()`
caps glibc at two heaps instead of up to eight per core, one per allocating thread.
Both do nothing where glibc is not the allocator.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import cache

_M_ARENA_MAX = -8


@cache
def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def fewer_arenas(count: int = 2) -> None:
    """Call before the model threads start."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(_M_ARENA_MAX, count)


def trim() -> None:
    """Blocking (a few milliseconds): call from a worker thread."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
