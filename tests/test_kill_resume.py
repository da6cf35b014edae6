"""kill -9 mid-interview loses nothing already answered, and the session resumes.

A real `viva serve` process on a data folder: two typed answers, SIGKILL, restart
on the same folder. The stored session is `interrupted` with both answers and
their scores, and `start` with `resume` continues at the third question.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.slow

QUESTIONS = ["bias-variance", "regularization", "imbalanced-data"]
ANSWERS = [
    "Bias is error from a model that is too simple, so it underfits; variance is how much "
    "the predictions change with different training data, so high variance overfits.",
    "Regularization adds a penalty on the size of the weights to the loss. L1 pushes some "
    "weights to exactly zero and L2 shrinks all of them, which reduces overfitting.",
    "With imbalanced data I would use precision and recall instead of accuracy, resample "
    "or reweight the classes, and tune the decision threshold.",
]


class Server:
    """`viva serve` as a child process, killed however the test likes."""

    def __init__(self, data_dir: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        env = {k: v for k, v in os.environ.items()
               if k not in ("VIVA_ACCESS_KEY", "VIVA_DATABASE_URL", "VIVA_PORT", "VIVA_HOST")}
        self.log = log
        self._out = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--port", str(self.port),
             "--data-dir", str(data_dir), "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=self._out, stderr=subprocess.STDOUT,
        )

    async def ready(self, within_s: float = 180) -> None:
        deadline = time.monotonic() + within_s
        async with httpx.AsyncClient(timeout=5) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"viva serve exited with {self.proc.returncode}:\n"
                                       f"{self.log.read_text(errors='replace')[-4000:]}")
                try:
                    if (await client.get(f"{self.url}/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.3)
        raise TimeoutError(f"viva serve not ready:\n{self.log.read_text(errors='replace')[-4000:]}")

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._out.close()


class Messages:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    async def wait(self, predicate, within_s: float = 60) -> dict[str, Any]:
        for message in self.seen:
            if predicate(message):
                return message
        deadline = time.monotonic() + within_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"not seen; got {[m.get('type') for m in self.seen]}")
            frame = await asyncio.wait_for(self.ws.recv(), left)
            if isinstance(frame, bytes):
                continue
            message = json.loads(frame)
            self.seen.append(message)
            assert message["type"] != "error" or not message.get("fatal"), message
            if predicate(message):
                return message


def asks(index: int):
    return lambda m: m["type"] == "agent" and m.get("kind") == "question" and m.get("index") == index


async def test_killed_server_keeps_answers_and_the_session_resumes(tmp_path) -> None:
    data_dir = tmp_path / "data"
    log = tmp_path / "server.log"
    first = Server(data_dir, log)
    try:
        await first.ready()
        async with websockets.connect(first.ws_url, max_size=None) as ws:
            messages = Messages(ws)
            await ws.send(json.dumps({"type": "start", "tts": False, "question_ids": QUESTIONS,
                                      "num_questions": 3, "max_follow_ups": 0}))
            info = await messages.wait(lambda m: m["type"] == "session")
            session_id, token = info["session_id"], info["token"]
            await messages.wait(asks(1))
            await ws.send(json.dumps({"type": "text", "text": ANSWERS[0]}))
            await messages.wait(asks(2))
            await ws.send(json.dumps({"type": "text", "text": ANSWERS[1]}))
            await messages.wait(asks(3))
            first.kill()  # no goodbye: the socket just dies
    finally:
        first.stop()

    second = Server(data_dir, log)
    try:
        await second.ready()
        async with httpx.AsyncClient(base_url=second.url, timeout=30) as client:
            res = await client.get(f"/api/sessions/{session_id}", params={"token": token})
            assert res.status_code == 200, res.text
            stored = res.json()
            assert stored["status"] == "interrupted"
            answers = [t for t in stored["turns"] if t["speaker"] == "candidate"]
            assert [t["text"] for t in answers] == ANSWERS[:2]
            assert [t["question_id"] for t in answers] == QUESTIONS[:2]
            assert all(t["score"] and t["score"]["overall"] is not None for t in answers)
            assert [q["question_id"] for q in stored["questions"]][:2] == QUESTIONS[:2]

            async with websockets.connect(second.ws_url, max_size=None) as ws:
                messages = Messages(ws)
                await ws.send(json.dumps({"type": "start", "tts": False,
                                          "resume": {"session_id": session_id, "token": token}}))
                info = await messages.wait(lambda m: m["type"] == "session")
                assert info["session_id"] == session_id and info["resumed"] is True
                question = await messages.wait(asks(3))
                assert question["question_id"] == QUESTIONS[2]

                # Finish it: the summary links the review page of the same session.
                await ws.send(json.dumps({"type": "text", "text": ANSWERS[2]}))
                summary = await messages.wait(lambda m: m["type"] == "summary", within_s=90)
                assert summary["session_id"] == session_id
                assert summary["review_url"].startswith(f"/review/{session_id}?token=")
            page = await client.get(summary["review_url"])
            assert page.status_code == 200 and "review.js" in page.text
            stored = (await client.get(f"/api/sessions/{session_id}",
                                       params={"token": token})).json()
            assert stored["status"] == "completed"
            answers = [t for t in stored["turns"] if t["speaker"] == "candidate"]
            assert [t["text"] for t in answers] == ANSWERS
            assert len({t["turn_id"] for t in stored["turns"]}) == len(stored["turns"])

            # A wrong token cannot resume it.
            async with websockets.connect(second.ws_url, max_size=None) as ws:
                await ws.send(json.dumps({"type": "start", "resume": {"session_id": session_id,
                                                                      "token": "wrong"}}))
                error = json.loads(await asyncio.wait_for(ws.recv(), 30))
                assert error["type"] == "error" and error["code"] == "bad_session"
    finally:
        second.stop()
