"""One candidate's reply latency while other sessions flood the server with long texts.

    python -m bench.abuse [--answers 6] [--flooders 4] [--texts 100] [--chars 9000]
    python -m bench.abuse --root /path/to/an/older/checkout   # the same against old code

A `viva serve` of `--root` (this checkout by default) in its own process, data in a
temporary folder. The candidate types answers to the seed questions (no speech: the
figure is the server's reply, not the speech models) and times each answer's `score`
and the interviewer's next `agent` from the moment the answer was sent. First with
the server to itself ("quiet"), then while `--flooders` other sessions, started
beforehand (their first question asked), each send `--texts` different texts of
`--chars` characters at once, as fast as the socket takes them ("flooded"). Prints
a table; the issue's target is flooded within 0.3 s of quiet.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets

from bench.answers import PLAIN
from bench.harness import ROOT, free_port, markdown_table, wait_healthy

QUESTIONS = ["bias-variance", "regularization", "imbalanced-data", "bagging-vs-boosting",
             "backpropagation", "activation-functions", "attention-transformers",
             "recsys-design", "fraud-detection-design", "logistic-regression-scratch"]
VOCABULARY = ("model data training loss gradient bias variance overfitting regularization "
              "feature label network layer attention embedding precision recall threshold "
              "sample batch learning rate validation test error weight penalty tree boosting "
              "bagging ensemble kernel margin cluster distance probability prior posterior").split()


@dataclass
class Timings:
    score_s: list[float] = field(default_factory=list)
    reply_s: list[float] = field(default_factory=list)
    missing: int = 0


@dataclass
class Flood:
    sent: int = 0
    transcripts: int = 0
    errors: Counter[str] = field(default_factory=Counter)


def answer_texts() -> list[str]:
    return [answer.text for answer in PLAIN]


async def recv_json(ws: Any, within: float) -> dict[str, Any]:
    while True:
        frame = await asyncio.wait_for(ws.recv(), within)
        if isinstance(frame, str):
            message: dict[str, Any] = json.loads(frame)
            return message


async def candidate(ws_url: str, answers: list[str], questions: list[str],
                    timeout_s: float) -> Timings:
    timings = Timings()
    async with websockets.connect(ws_url, max_size=None) as ws:
        await ws.send(json.dumps({"type": "start", "tts": False, "question_ids": questions,
                                  "max_follow_ups": 0}))
        while (await recv_json(ws, timeout_s))["type"] != "agent":
            pass  # the session, then the greeting
        asked = False  # the question to answer has arrived
        for text in answers:
            while not asked:
                message = await recv_json(ws, timeout_s)
                asked = message["type"] == "agent" and message["kind"] == "question"
            sent = time.monotonic()
            await ws.send(json.dumps({"type": "text", "text": text}))
            scored = replied = None
            asked = False
            try:
                while replied is None:
                    message = await recv_json(ws, timeout_s)
                    if message["type"] == "score" and scored is None:
                        scored = time.monotonic() - sent
                    elif message["type"] == "agent" and scored is not None:
                        replied = time.monotonic() - sent
                        asked = message["kind"] == "question"
            except TimeoutError:
                timings.missing += 1
                break
            assert scored is not None
            timings.score_s.append(scored)
            timings.reply_s.append(replied)
        await ws.send(json.dumps({"type": "stop"}))
        with contextlib.suppress(TimeoutError, websockets.ConnectionClosed):
            while (await recv_json(ws, timeout_s))["type"] != "summary":
                pass
    return timings


def flood_texts(texts: int, chars: int, seed: int) -> list[str]:
    """Different texts of `chars` characters (made before the clock starts)."""
    rng = random.Random(seed)
    made = []
    for _ in range(texts):
        words: list[str] = []
        length = 0
        while length < chars:
            words.append(rng.choice(VOCABULARY))
            length += len(words[-1]) + 1
        made.append(" ".join(words)[:chars])
    return made


async def flooder(ws_url: str, texts: list[str], flood: Flood, ready: asyncio.Event,
                  go: asyncio.Event, done: asyncio.Event) -> None:
    async with websockets.connect(ws_url, max_size=None) as ws:
        await ws.send(json.dumps({"type": "start", "tts": False}))
        # A running session first (its first question asked, its rubric embedded): what
        # is measured is the flood, not four sessions starting.
        message = await recv_json(ws, 60)
        while not (message["type"] == "agent" and message["kind"] == "question"):
            message = await recv_json(ws, 60)
        ready.set()
        await go.wait()

        async def read() -> None:
            async for frame in ws:
                if isinstance(frame, bytes):
                    continue
                message = json.loads(frame)
                if message["type"] == "error":
                    flood.errors[message["code"]] += 1
                elif message["type"] == "transcript":
                    flood.transcripts += 1

        reader = asyncio.create_task(read())
        for text in texts:
            await ws.send(json.dumps({"type": "text", "text": text}))
            flood.sent += 1
            await asyncio.sleep(0)  # the candidate shares this process's event loop
        await done.wait()
        reader.cancel()


class Server:
    def __init__(self, root: Path, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIVA_")}
        env |= {"VIVA_TTS_PREWARM": "0", "PYTHONPATH": str(root)}
        self.log = (data_dir / "server.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--port", str(self.port), "--data-dir",
             str(data_dir), "--log-level", "warning"], cwd=root, env=env, stdout=self.log,
            stderr=subprocess.STDOUT)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def figure(values: list[float]) -> str:
    if not values:
        return "—"
    return f"{statistics.median(values):.2f} / {max(values):.2f} s"


def varied(answers: list[str], phase: str) -> list[str]:
    # The scorer keeps the embeddings of spans it has seen: each phase's answers end
    # differently, so that neither phase replays the other's.
    return [f"{text} That is my answer for the {phase} round, number {i + 1}."
            for i, text in enumerate(answers)]


async def run(args: argparse.Namespace, ws_url: str) -> list[list[object]]:
    answers = answer_texts()[: args.answers]
    questions = QUESTIONS[: args.answers]
    # Unmeasured: each question's rubric is embedded the first time it is asked.
    await candidate(ws_url, answers, questions, args.timeout_s)
    quiet = await candidate(ws_url, varied(answers, "quiet"), questions, args.timeout_s)
    flood = Flood()
    done = asyncio.Event()
    texts = [flood_texts(args.texts, args.chars, seed) for seed in range(args.flooders)]
    readies = [asyncio.Event() for _ in texts]
    go = asyncio.Event()
    floods = [asyncio.create_task(flooder(ws_url, mine, flood, ready, go, done))
              for mine, ready in zip(texts, readies, strict=True)]
    await asyncio.gather(*(ready.wait() for ready in readies))
    await asyncio.sleep(1.0)  # their rubrics' embedding, started with their question
    go.set()
    await asyncio.sleep(args.lead_s)  # the flood is under way when the candidate answers
    flooded = await candidate(ws_url, varied(answers, "flooded"), questions, args.timeout_s)
    done.set()
    await asyncio.gather(*floods, return_exceptions=True)
    refused = ", ".join(f"{code} {n}" for code, n in flood.errors.most_common()) or "none"
    return [
        ["quiet", figure(quiet.score_s), figure(quiet.reply_s), quiet.missing, "—"],
        [f"{args.flooders} flooding", figure(flooded.score_s), figure(flooded.reply_s),
         flooded.missing,
         f"{flood.sent} sent, {flood.transcripts} taken; refused: {refused}"],
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to serve")
    parser.add_argument("--answers", type=int, default=6)
    parser.add_argument("--flooders", type=int, default=4)
    parser.add_argument("--texts", type=int, default=100)
    parser.add_argument("--chars", type=int, default=9000)
    parser.add_argument("--lead-s", type=float, default=0.5)
    parser.add_argument("--timeout-s", type=float, default=60.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="viva-abuse-") as tmp:
        server = Server(args.root.resolve(), Path(tmp))
        try:
            wait_healthy(server.url, 300, lambda: server.process.poll() is None)
            rows = asyncio.run(run(args, server.ws_url))
        finally:
            server.stop()
    print(f"\nserver: {args.root}; {args.answers} typed answers per phase; each flooder sends "
          f"{args.texts} texts of {args.chars} characters at once\n")
    print(markdown_table(["phase", "answer to score, median / max",
                          "answer to next agent, median / max", "timed out", "flood"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
