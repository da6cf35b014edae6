"""Latency figures of one voice session, as a markdown table.

    python -m bench.latency [--turns 10] [--endpoint-silence-ms 500] [--url ws://HOST:PORT/ws]

Without `--url` the server runs in this process (uvicorn in a thread, as in
tests/conftest.py) with its data in a temporary folder, so the time to ready and the
memory figures are those of a fresh server. A Piper-spoken candidate answers the
interviewer's questions at real time in 20 ms frames, keeping the microphone open
(silence) between answers. Timings are printed, never judged.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.answers import PLAIN
from bench.harness import (
    InProcessServer,
    Stats,
    find_listening_pid,
    http_base,
    markdown_table,
    mib,
    ms,
    process_age_s,
    read_proc,
    stats_ms,
    wait_healthy,
    write_trace,
)
from bench.voice_client import SEED_QUESTIONS, Candidate, SessionLog, TurnResult, Voice


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=10, help="spoken answers to time (10)")
    parser.add_argument("--url", help="measure a running server (ws://HOST:PORT/ws) instead")
    parser.add_argument("--pid", type=int,
                        help="with --url: the server's process id for memory (found by port "
                             "when the server is local)")
    parser.add_argument("--endpoint-silence-ms", type=int, default=None,
                        help="silence after a finished sentence that ends a turn (server "
                             "default 500); in-process only")
    parser.add_argument("--max-follow-ups", type=int, default=3,
                        help="follow-ups per question, so that one session gives many turns")
    parser.add_argument("--speech-rate", type=float, default=1.0,
                        help="the candidate's Piper length scale: below 1 speaks faster, "
                             "with shorter pauses between phrases (1.0)")
    parser.add_argument("--reaction-s", type=float, default=0.8,
                        help="silence between the end of the interviewer's audio and the answer")
    parser.add_argument("--reply-timeout-s", type=float, default=60.0,
                        help="give up on a turn's final transcript or reply after this long")
    parser.add_argument("--trace", type=Path,
                        help="write every message and candidate event as JSON lines here")
    return parser.parse_args(argv)


def run_sessions(ws_url: str, voice: Voice, turns: int, max_follow_ups: int,
                 reaction_s: float, reply_timeout_s: float) -> list[SessionLog]:
    answers = [voice.render(a) for a in PLAIN]  # synthesized before the clock starts

    async def go() -> list[SessionLog]:
        logs: list[SessionLog] = []
        done = 0
        while done < turns:
            offset = done % len(answers)
            candidate = Candidate(
                ws_url, len(logs) + 1, answers[offset:] + answers[:offset],
                {"question_ids": list(SEED_QUESTIONS), "max_follow_ups": max_follow_ups},
                reaction_s=reaction_s, reply_timeout_s=reply_timeout_s)
            log = await candidate.run(turns - done)
            logs.append(log)
            done += len(log.turns)
            if not log.turns:  # the session gave nothing: do not loop forever
                break
        return logs

    return asyncio.run(go())


def summary_rows(turns: list[TurnResult]) -> list[tuple[str, str]]:
    gaps = [g for t in turns for g in t.partial_gaps]
    partials = Stats.of([float(len(t.partial_times)) for t in turns])
    speech = Stats.of([t.speech_s for t in turns])
    return [
        ("turns measured (with a reply)",
         f"{len(turns)} ({sum(t.first_audio_at is not None for t in turns)})"),
        ("answer speech length, s (median / max)",
         "-" if speech is None else f"{speech.median:.1f} / {speech.max:.1f}"),
        ("**end of speech → first reply audio byte**, ms (median / p95 / max)",
         f"**{stats_ms(Stats.of([t.voice_to_voice for t in turns]))}**"),
        ("end of speech → final transcript, ms (median / p95 / max)",
         stats_ms(Stats.of([t.to_final for t in turns]))),
        ("end of speech → server's `vad` silence, ms (median / p95 / max)",
         stats_ms(Stats.of([t.to_vad_end for t in turns]))),
        ("final transcript → `agent` reply (scoring, policy), ms (median / p95 / max)",
         stats_ms(Stats.of([t.final_to_reply for t in turns]))),
        ("`agent` reply → its first audio byte (TTS), ms (median / p95 / max)",
         stats_ms(Stats.of([t.reply_to_audio for t in turns]))),
        ("start of speech → first partial, ms (median / p95 / max)",
         stats_ms(Stats.of([t.first_partial for t in turns]))),
        ("gap between partials while speaking, ms (median / p95 / max)",
         stats_ms(Stats.of(gaps))),
        ("partials per answer (median)", "-" if partials is None else f"{partials.median:.0f}"),
        ("cut-ins (the server closed the turn before the answer ended)",
         str(sum(t.cut_in for t in turns))),
        ("talk-overs (a reply to an earlier answer arrived inside an answer)",
         str(sum(t.talk_overs for t in turns))),
    ]


def turn_rows(turns: list[TurnResult]) -> list[list[object]]:
    rows: list[list[object]] = []
    for t in turns:
        text = t.final_text if len(t.final_text) <= 40 else t.final_text[:37] + "..."
        tail = " ".join(t.last_partial.split()[-3:])
        rows.append([f"{t.session}.{t.turn}", t.prompt_kind, t.question_id or "-",
                     f"{t.speech_s:.1f}", ms(t.to_vad_end), ms(t.to_final),
                     ms(t.voice_to_voice), len(t.partial_times), f"...{tail}" if tail else "-",
                     "yes" if t.cut_in else "", t.reply_kind or (t.problem or "-"), text])
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    figures: list[tuple[str, str]] = []
    server: InProcessServer | None = None
    tmp = tempfile.TemporaryDirectory(prefix="viva-bench-", ignore_cleanup_errors=True)
    try:
        if args.url:
            ws_url = args.url
            health = wait_healthy(http_base(ws_url), 30)
            port = urlsplit(ws_url).port or 80
            pid: int | str | None = args.pid or find_listening_pid(port)
            figures.append(("server", f"{ws_url} (pid {pid or 'unknown'})"))
            endpoint = ("the server's own setting (not reported by /healthz)"
                        if args.endpoint_silence_ms is None
                        else f"{args.endpoint_silence_ms} ms as you say (not applied by --url)")
            figures.append(("endpointing silence", endpoint))
            figures.append(("time to ready: process start → /healthz ok", "- (not started here)"))
            loaded = read_proc(pid) if pid else None
            voice_started = time.perf_counter()
            voice = Voice.load()
            voice.length_scale = args.speech_rate
            voice_load_s = time.perf_counter() - voice_started
        else:
            from server.config import Settings

            # No background speaking of the bank between turns (see harness.SubprocessServer).
            overrides: dict[str, Any] = {"data_dir": Path(tmp.name), "tts_prewarm": False}
            if args.endpoint_silence_ms is not None:
                overrides["endpoint_silence_ms"] = args.endpoint_silence_ms
            settings = Settings(**overrides)
            server = InProcessServer(settings)
            health = server.start()
            ready_s = process_age_s()
            loaded = read_proc()
            pid = "self"
            ws_url = server.ws_url
            figures.append(("server", f"in-process, {server.url}"))
            figures.append(("endpointing silence: finished / quickest (earned) / thinking / "
                            "first words, ms",
                            f"**{settings.endpoint_silence_ms}** / {settings.endpoint_sure_ms} / "
                            f"{settings.endpoint_thinking_ms} / "
                            f"{settings.endpoint_first_words_ms}"))
            figures.append(("time to ready: process start → /healthz ok", f"{ready_s:.1f} s"))
            # The server's own Piper, shared.
            voice = Voice(server.app.state.engines.tts, length_scale=args.speech_rate)
            voice_load_s = 0.0
        models = health.get("models", {})
        figures.append(("models", f"stt {models.get('stt')}, tts {models.get('tts')}, "
                                  f"vad {models.get('vad')}, llm {health.get('llm')}"))
        load = models.get("load_seconds") or {}
        figures.append(("engine load (server's ready_seconds; per engine)",
                        f"{health.get('ready_seconds')} s; "
                        + ", ".join(f"{k} {v} s" for k, v in load.items())))
        where = "whole process, before the candidate's audio" if server else "server process"
        figures.append((f"server RSS with models loaded ({where})",
                        "-" if loaded is None else f"{mib(loaded.rss_mib)} MiB"))

        logs = run_sessions(ws_url, voice, args.turns, args.max_follow_ups, args.reaction_s,
                            args.reply_timeout_s)
        if args.trace:
            write_trace(args.trace, [(str(log.session), log.timeline()) for log in logs])
        turns = [t for log in logs for t in log.turns]
        after = read_proc(pid) if pid else None
        figures.append(("server RSS after the turns (peak VmHWM)",
                        "-" if after is None
                        else f"{mib(after.rss_mib)} MiB ({mib(after.peak_rss_mib)} MiB)"))
        figures.append(("candidate voice: load + synthesis (before the clock)",
                        f"{voice_load_s + voice.synthesis_s:.1f} s"))
        figures.append(("sessions", str(len(logs))))
        figures.extend(summary_rows(turns))
        late = sum(log.late_frames for log in logs)
        lag = max((log.max_lag_s for log in logs), default=0.0)
        figures.append(("client mic frames over 40 ms late (max lag)", f"{late} ({ms(lag)} ms)"))
        problems = [log.problem for log in logs if log.problem]
        problems += [f"{e.get('code')}: {e.get('message')}" for log in logs for e in log.errors]
        problems += [f"turn {t.session}.{t.turn}: {t.problem}" for t in turns if t.problem]
        figures.append(("problems", "; ".join(str(p) for p in problems) or "none"))
    finally:
        if server is not None:
            server.stop()
        tmp.cleanup()

    print("## viva latency, one session\n")
    print(markdown_table(["figure", "value"], figures))
    print("\n### per turn\n")
    print(markdown_table(["turn", "prompt", "question", "speech s", "→vad ms", "→final ms",
                          "→audio ms", "partials", "last partial ends", "cut-in", "reply",
                          "final transcript"], turn_rows(turns)))
    print("\nms: milliseconds of wall time on this machine; p95 of a handful of turns is "
          "close to their maximum.")
    return 0 if turns else 1


if __name__ == "__main__":
    sys.exit(main())
