"""Load generator: N simulated candidates talk to one server at once; a table per N.

    python -m bench.load [--sessions 1 4 8] [--turns-per-session 3] [--pause-s 2.5]

Without `--url` the server runs as a child process (`python -m server serve`) on a free
loopback port with its data in a temporary folder, so its CPU and memory are sampled
from /proc on their own. Every candidate streams Piper-spoken answers at real time in
20 ms frames, with fillers ("um") and a deliberate thinking pause after an unfinished
clause inside each answer, and silence frames whenever it is not speaking. All audio is
synthesized before the clock starts. Only 127.0.0.1 / localhost is ever contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench.answers import hesitant
from bench.harness import (
    ProcSampler,
    Stats,
    SubprocessServer,
    find_listening_pid,
    http_base,
    http_json,
    markdown_table,
    mib,
    ms,
    pct,
    read_proc,
    require_loopback,
    sampling,
    stats_ms,
    wait_healthy,
    write_trace,
)
from bench.voice_client import SEED_QUESTIONS, Candidate, RenderedAnswer, SessionLog, Voice


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 4, 8],
                        help="concurrent candidates, one run per number (1 4 8)")
    parser.add_argument("--turns-per-session", type=int, default=3,
                        help="answers each candidate gives before it says stop (3)")
    parser.add_argument("--pause-s", type=float, default=2.5,
                        help="the thinking pause inside every answer (2.5 s)")
    parser.add_argument("--ramp-s", type=float, default=2.0,
                        help="candidates connect spread over this many seconds (2)")
    parser.add_argument("--reaction-s", type=float, default=0.8,
                        help="silence between the end of a question's audio and the answer")
    parser.add_argument("--max-follow-ups", type=int, default=2)
    parser.add_argument("--reply-timeout-s", type=float, default=60.0,
                        help="give up on a turn's final transcript or reply after this long")
    parser.add_argument("--trace", type=Path,
                        help="write every message and candidate event as JSON lines here")
    parser.add_argument("--server-log", type=Path,
                        help="the started server logs here at info level (each turn's end "
                             "and the words it ended on)")
    parser.add_argument("--endpoint-silence-ms", type=int, default=None,
                        help="passed to the server it starts (server default 500)")
    parser.add_argument("--max-sessions", type=int, default=None,
                        help="the started server's VIVA_MAX_SESSIONS (server default 8); more "
                             "candidates than this shows up as busy errors")
    parser.add_argument("--url", help="load a running server on 127.0.0.1 (ws://127.0.0.1:P/ws)")
    parser.add_argument("--pid", type=int, help="with --url: the server's process id")
    return parser.parse_args(argv)


@dataclass
class RunResult:
    sessions: int
    wall_s: float
    logs: list[SessionLog]
    server: ProcSampler | None
    client: ProcSampler


async def one_run(ws_url: str, n: int, answers: list[RenderedAnswer], args: argparse.Namespace,
                  server_pid: int | None) -> RunResult:
    async def candidate(i: int) -> SessionLog:
        await asyncio.sleep(i * args.ramp_s / n)
        k = i % len(SEED_QUESTIONS)
        questions = list(SEED_QUESTIONS[k:] + SEED_QUESTIONS[:k])
        j = i % len(answers)
        return await Candidate(
            ws_url, i + 1, answers[j:] + answers[:j],
            {"question_ids": questions, "max_follow_ups": args.max_follow_ups},
            reaction_s=args.reaction_s, reply_timeout_s=args.reply_timeout_s,
        ).run(args.turns_per_session)

    started = time.monotonic()
    async with sampling("self") as client:
        if server_pid is not None:
            async with sampling(server_pid) as server:
                logs = await asyncio.gather(*(candidate(i) for i in range(n)))
        else:
            server = None
            logs = await asyncio.gather(*(candidate(i) for i in range(n)))
    return RunResult(n, time.monotonic() - started, list(logs), server, client)


def wait_idle(base_url: str, limit_s: float = 30.0) -> None:
    """Wait until the server has no session left from the previous run."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if http_json(f"{base_url}/healthz").get("active_sessions", 0) == 0:
            return
        time.sleep(0.2)


def row(run: RunResult) -> list[object]:
    turns = [t for log in run.logs for t in log.turns]
    gaps = Stats.of([g for t in turns for g in t.partial_gaps])
    cut = sum(t.cut_in for t in turns)
    busy = sum(log.busy for log in run.logs)
    errors = sum(1 for log in run.logs for e in log.errors if e.get("code") != "busy")
    problems = sum(1 for log in run.logs if log.problem and not log.busy)
    problems += sum(1 for t in turns if t.problem)
    server = run.server
    return [
        run.sessions,
        f"{len(turns)} ({sum(t.first_audio_at is not None for t in turns)})",
        stats_ms(Stats.of([t.voice_to_voice for t in turns]), with_max=False),
        stats_ms(Stats.of([t.to_final for t in turns]), with_max=False),
        f"{cut}/{len(turns)}",
        sum(t.talk_overs for t in turns),
        "-" if gaps is None else f"{ms(gaps.median)} / {ms(gaps.max)}",
        stats_ms(Stats.of([t.first_partial for t in turns]), with_max=False),
        "-" if server is None else f"{pct(server.mean_cpu_percent)} / {pct(server.p95_cpu_percent)}",
        "-" if server is None else mib(server.max_rss_mib),
        pct(run.client.mean_cpu_percent),
        busy,
        errors + problems,
        sum(log.late_frames for log in run.logs),
        f"{run.wall_s:.0f}",
    ]


HEADERS = [
    "N", "answers (replied)", "voice→voice ms med / p95", "speech end→final ms med / p95",
    "false cut-ins", "talk-overs", "partial gap ms med / max", "first partial ms med / p95",
    "server CPU % mean / p95", "server RSS MiB max", "client CPU %", "busy",
    "errors", "late mic frames", "wall s",
]


def details(runs: list[RunResult]) -> list[str]:
    lines: list[str] = []
    for run in runs:
        for log in run.logs:
            if log.problem and not log.busy:
                lines.append(f"N={run.sessions} session {log.session}: {log.problem}")
            for error in log.errors:
                if error.get("code") != "busy":
                    lines.append(f"N={run.sessions} session {log.session}: error "
                                 f"{error.get('code')}: {error.get('message')}")
            for t in log.turns:
                if t.problem:
                    lines.append(f"N={run.sessions} turn {t.session}.{t.turn}: {t.problem}")
                if t.cut_in:
                    text = t.final_text if len(t.final_text) <= 90 else t.final_text[:87] + "..."
                    lines.append(f"N={run.sessions} turn {t.session}.{t.turn} ({t.answer}) cut "
                                 f"in {t.cut_in_events}x; final: {text!r}")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tmp = tempfile.TemporaryDirectory(prefix="viva-load-", ignore_cleanup_errors=True)
    server: SubprocessServer | None = None
    header: list[tuple[str, str]] = []
    runs: list[RunResult] = []
    try:
        if args.url:
            require_loopback(args.url)
            ws_url, base = args.url, http_base(args.url)
            health = wait_healthy(base, 30)
            pid = args.pid or find_listening_pid(urlsplit(args.url).port or 80)
            header.append(("server", f"{ws_url} (pid {pid or 'unknown: no CPU/RSS figures'})"))
            header.append(("endpointing silence", "the server's own setting"))
        else:
            server = SubprocessServer(Path(tmp.name), endpoint_silence_ms=args.endpoint_silence_ms,
                                      max_sessions=args.max_sessions,
                                      log_path=args.server_log)
            ready_s, health = server.start()
            ws_url, base, pid = server.ws_url, server.url, server.pid
            header.append(("server", f"child process `python -m server serve`, pid {pid}"))
            header.append(("endpointing silence after a finished sentence",
                           f"{args.endpoint_silence_ms or 500} ms "
                           f"({'set' if args.endpoint_silence_ms else 'server default'})"))
            header.append(("time to ready: spawn → /healthz ok", f"{ready_s:.1f} s"))
        header.append(("max sessions (server)", str(health.get("max_sessions"))))
        if pid:
            header.append(("server RSS idle, models loaded",
                           f"{mib(read_proc(pid).rss_mib)} MiB"))
        voice = Voice.load()
        answers = [voice.render(a) for a in hesitant(args.pause_s)]
        header.append(("candidate audio synthesized before the clock",
                       f"{len(answers)} answers, {voice.synthesis_s:.1f} s"))
        header.append(("thinking pause inside each answer", f"{args.pause_s:.1f} s"))
        for n in args.sessions:
            wait_idle(base)
            print(f"running N={n} ...", file=sys.stderr, flush=True)
            runs.append(asyncio.run(one_run(ws_url, n, answers, args, pid)))
        if args.trace:
            write_trace(args.trace, [(f"N{r.sessions}.s{log.session}", log.timeline())
                                     for r in runs for log in r.logs])
        if server is not None and server.process is not None:
            header.append(("server exit", "still running (stopped by the benchmark)"
                           if server.process.poll() is None else f"rc {server.process.poll()}"))
    finally:
        if server is not None:
            server.stop()
        tmp.cleanup()

    print("## viva under load\n")
    print(markdown_table(["setting", "value"], header))
    print()
    print(markdown_table(HEADERS, [row(r) for r in runs]))
    notes = details(runs)
    if notes:
        print("\n" + "\n".join(f"* {line}" for line in notes))
    print("\nms: wall-clock milliseconds; CPU % is of one core (2 cores = 200 %).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
