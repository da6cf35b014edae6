"""What the benchmarks share besides the candidate: servers, /proc figures, statistics, tables."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = ("127.0.0.1", "localhost", "::1")


# ---------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class Stats:
    n: int
    median: float
    p95: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float | None]) -> Stats | None:
        data = [v for v in values if v is not None]
        if not data:
            return None
        array = np.asarray(data, dtype=float)
        return cls(len(data), float(np.median(array)), float(np.percentile(array, 95)),
                   float(array.max()))


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}"


def stats_ms(stats: Stats | None, with_max: bool = True) -> str:
    """`median / p95 / max` in milliseconds."""
    if stats is None:
        return "-"
    parts = [ms(stats.median), ms(stats.p95)] + ([ms(stats.max)] if with_max else [])
    return " / ".join(parts)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


# ---------------------------------------------------------------------- /proc


CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcFigures:
    cpu_s: float  # user + system CPU seconds of all threads so far
    rss_mib: float
    peak_rss_mib: float  # VmHWM


def read_proc(pid: int | str = "self") -> ProcFigures:
    """CPU time and memory of a Linux process from /proc/PID/stat and status."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu_s = (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime
    status: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as f:
        for row in f:
            key, _, rest = row.partition(":")
            if key in ("VmRSS", "VmHWM"):
                status[key] = int(rest.split()[0]) / 1024
    return ProcFigures(cpu_s, status.get("VmRSS", 0.0), status.get("VmHWM", 0.0))


def process_age_s(pid: int | str = "self") -> float:
    """Seconds since the process started (its start time in /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    return uptime - start_ticks / CLK_TCK


def find_listening_pid(port: int) -> int | None:
    """The process listening on TCP `port` (same user, Linux), by socket inode."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            for row in list(f)[1:]:
                cols = row.split()
                if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{cols[9]}]")
    if not inodes:
        return None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in inodes:
                        return int(entry.name)
    return None


@dataclass
class ProcSampler:
    """Samples a process's CPU % and RSS every `interval_s` while `run()` is awaited."""

    pid: int | str
    interval_s: float = 0.5
    cpu_percent: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)
    first: tuple[float, ProcFigures] | None = None
    last: tuple[float, ProcFigures] | None = None

    async def run(self) -> None:
        previous = (time.monotonic(), read_proc(self.pid))
        self.first = self.last = previous
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                now = (time.monotonic(), read_proc(self.pid))
            except OSError:
                return  # the process is gone
            self.cpu_percent.append(
                100 * (now[1].cpu_s - previous[1].cpu_s) / max(1e-6, now[0] - previous[0]))
            self.rss_mib.append(now[1].rss_mib)
            self.last = previous = now

    @property
    def mean_cpu_percent(self) -> float | None:
        if self.first is None or self.last is None or self.last[0] <= self.first[0]:
            return None
        return 100 * (self.last[1].cpu_s - self.first[1].cpu_s) / (self.last[0] - self.first[0])

    @property
    def p95_cpu_percent(self) -> float | None:
        return float(np.percentile(self.cpu_percent, 95)) if self.cpu_percent else None

    @property
    def max_rss_mib(self) -> float | None:
        return max(self.rss_mib) if self.rss_mib else None


@contextlib.asynccontextmanager
async def sampling(pid: int | str, interval_s: float = 0.5):  # type: ignore[no-untyped-def]
    sampler = ProcSampler(pid, interval_s)
    task = asyncio.create_task(sampler.run())
    try:
        yield sampler
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


BULKY = ("words", "key_points", "metrics", "questions", "token")


def write_trace(path: Path, sessions: Sequence[tuple[str, list[dict[str, Any]]]]) -> None:
    """JSON lines of every session's timeline, times in seconds from its first event."""
    with open(path, "w") as f:
        for name, timeline in sessions:
            t0 = timeline[0]["_t"] if timeline else 0.0
            for event in timeline:
                row = {"session": name, "t": round(event["_t"] - t0, 3)}
                row |= {k: v for k, v in event.items() if k != "_t" and k not in BULKY}
                f.write(json.dumps(row) + "\n")


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def mib(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


# ---------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_json(url: str, timeout: float = 5.0) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return dict(json.loads(response.read()))


def wait_healthy(base_url: str, timeout_s: float = 300.0,
                 alive: Callable[[], bool] = lambda: True) -> dict[str, Any]:
    """Poll /healthz until it says ok; returns its body."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            body = http_json(f"{base_url}/healthz", timeout=2)
            if body.get("status") == "ok":
                return body
        except OSError:
            pass
        if not alive():
            raise RuntimeError("the server exited before it was ready")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{base_url}/healthz not ok after {timeout_s:.0f} s")
        time.sleep(0.05)


def http_base(ws_url: str) -> str:
    parts = urlsplit(ws_url)
    scheme = "https" if parts.scheme == "wss" else "http"
    return f"{scheme}://{parts.netloc}"


def require_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK:
        raise SystemExit(f"refusing to load-test {host!r}: only 127.0.0.1 / localhost")


class InProcessServer:
    """The app under uvicorn in a thread of this process (as tests/conftest.py's LiveServer)."""

    def __init__(self, settings: Any, port: int | None = None) -> None:
        import uvicorn

        from server.app import create_app

        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        self.app = create_app(settings)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                ws_max_size=2 * 1024 * 1024)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self, timeout_s: float = 300.0) -> dict[str, Any]:
        """Start; returns /healthz once the engines are loaded."""
        self.thread.start()
        return wait_healthy(self.url, timeout_s, self.thread.is_alive)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class SubprocessServer:
    """`python -m server serve` in a child process, so its CPU and memory are its own."""

    def __init__(self, data_dir: Path, port: int | None = None,
                 endpoint_silence_ms: int | None = None, max_sessions: int | None = None,
                 extra_env: dict[str, str] | None = None,
                 log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        self.data_dir = data_dir
        # A log path of one's own gets the server's info lines too (each turn's end
        # and the words it ended on), to find out why a turn was cut in on.
        self.log_path = log_path or data_dir / "server.log"
        self.command = [sys.executable, "-m", "server", "serve", "--host", "127.0.0.1",
                        "--port", str(self.port), "--data-dir", str(data_dir),
                        "--log-level", "info" if log_path else "warning"]
        if endpoint_silence_ms is not None:
            self.command += ["--endpoint-silence-ms", str(endpoint_silence_ms)]
        # No background speaking of the bank: it would take the CPU between runs and make
        # later runs cheaper than the first (`VIVA_TTS_PREWARM=1` in the environment wins).
        self.env = {"VIVA_TTS_PREWARM": "0", **os.environ, **(extra_env or {})}
        if max_sessions is not None:
            self.env["VIVA_MAX_SESSIONS"] = str(max_sessions)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout_s: float = 300.0) -> tuple[float, dict[str, Any]]:
        """Start and wait for /healthz: returns (seconds from spawn to ok, healthz body)."""
        started = time.monotonic()
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT)
        try:
            body = wait_healthy(self.url, timeout_s, lambda: self.process is not None
                                and self.process.poll() is None)
        except (RuntimeError, TimeoutError) as exc:
            self.stop()
            raise RuntimeError(f"{exc}; server log:\n{self.log_tail()}") from exc
        return time.monotonic() - started, body

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
