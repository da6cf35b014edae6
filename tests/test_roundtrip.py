"""The voice loop on real models: Piper speaks, /ws transcribes live, the interviewer answers."""

from __future__ import annotations

import asyncio
import json
import time

import numpy as np
import pytest
import websockets

from server.audio.pcm import float_to_pcm16
from tests.conftest import word_error_rate

pytestmark = pytest.mark.slow

ANSWER = (
    "Bias is the error that comes from a model that is too simple, so it underfits. "
    "Variance is how much the predictions change when the training data changes, "
    "and high variance means overfitting. Regularization reduces variance."
)


async def stream(ws, audio: np.ndarray, frame_s: float = 0.02) -> None:
    step = int(16000 * frame_s)
    start = time.monotonic()
    for i, offset in enumerate(range(0, len(audio), step)):
        await ws.send(float_to_pcm16(audio[offset: offset + step]))
        delay = start + (i + 1) * frame_s - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


class Recorder:
    def __init__(self, ws) -> None:
        self.ws = ws
        self.messages: list[dict] = []
        self.audio_bytes: dict[str, int] = {}
        self._current: str | None = None
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for frame in self.ws:
            if isinstance(frame, bytes):
                assert self._current is not None, "audio outside audio_start/audio_end"
                self.audio_bytes[self._current] = self.audio_bytes.get(self._current, 0) + len(frame)
                continue
            message = json.loads(frame)
            message["_t"] = time.monotonic()
            if message["type"] == "audio_start":
                self._current = message["utterance_id"]
            elif message["type"] == "audio_end":
                self._current = None
            self.messages.append(message)

    async def wait(self, predicate, within: float = 60.0) -> dict:
        deadline = time.monotonic() + within
        seen = 0
        while time.monotonic() < deadline:
            for message in self.messages[seen:]:
                if predicate(message):
                    return message
            seen = len(self.messages)
            await asyncio.sleep(0.02)
        raise TimeoutError("message not seen")


async def test_spoken_answer_is_transcribed_and_answered(server, speak):
    audio = speak(ANSWER)
    silence = np.zeros(int(16000 * 0.5), dtype=np.float32)
    async with websockets.connect(server.ws_url, max_size=None) as ws:
        rec = Recorder(ws)
        await ws.send(json.dumps({"type": "start", "question_ids": ["bias-variance"],
                                  "max_follow_ups": 0, "num_questions": 1}))
        question = await rec.wait(lambda m: m["type"] == "agent" and m["kind"] == "question")
        # Keep the microphone open (silence) while the question plays, like a real client.
        await rec.wait(lambda m: m["type"] == "audio_end"
                       and m["utterance_id"] == question["utterance_id"], 60)
        await stream(ws, silence)
        await stream(ws, audio)
        tail = asyncio.create_task(stream(ws, np.zeros(16000 * 6, dtype=np.float32)))
        final = await rec.wait(lambda m: m["type"] == "transcript" and m["final"], 30)
        reply = await rec.wait(lambda m: m["type"] == "agent" and m["_t"] >= final["_t"], 30)
        await rec.wait(lambda m: m["type"] == "audio_end"
                       and m["utterance_id"] == reply["utterance_id"], 60)
        tail.cancel()

        wer = word_error_rate(ANSWER, final["text"])
        assert wer <= 0.20, (wer, final["text"])
        partials = [m for m in rec.messages if m["type"] == "transcript" and not m["final"]]
        assert partials, "no partial transcript before the final one"
        assert all(m["_t"] <= final["_t"] for m in partials)
        assert all(m["turn_id"] == final["turn_id"] for m in partials)
        words = final["words"]
        assert words and all(w["end"] >= w["start"] >= 0 for w in words)
        kinds = [m["type"] for m in rec.messages]
        assert "vad" in kinds
        assert reply["kind"] in ("closing", "ack", "question", "followup", "feedback")
        assert rec.audio_bytes.get(reply["utterance_id"], 0) > 16000, "reply was not spoken"
        # Protocol order within the exchange: vad speech -> partials -> final -> agent.
        first_speech = next(m for m in rec.messages if m["type"] == "vad" and m["state"] == "speech")
        assert first_speech["_t"] <= partials[0]["_t"]


async def test_interrupt_cuts_speech_short(server):
    async with websockets.connect(server.ws_url, max_size=None) as ws:
        rec = Recorder(ws)
        await ws.send(json.dumps({"type": "start", "question_ids": ["attention-transformers"]}))
        start = await rec.wait(lambda m: m["type"] == "audio_start")
        await asyncio.sleep(0.6)
        sent = time.monotonic()
        await ws.send(json.dumps({"type": "interrupt"}))
        end = await rec.wait(lambda m: m["type"] == "audio_end"
                             and m["utterance_id"] == start["utterance_id"], 10)
        assert end["interrupted"] is True
        assert end["_t"] - sent < 0.5
        await ws.send(json.dumps({"type": "stop"}))
        await rec.wait(lambda m: m["type"] == "summary", 10)


async def test_speech_out_is_paced_at_real_time(server):
    async with websockets.connect(server.ws_url, max_size=None) as ws:
        rec = Recorder(ws)
        await ws.send(json.dumps({"type": "start", "question_ids": ["bias-variance"]}))
        start = await rec.wait(lambda m: m["type"] == "audio_start")
        end = await rec.wait(lambda m: m["type"] == "audio_end"
                             and m["utterance_id"] == start["utterance_id"], 60)
        audio_s = rec.audio_bytes[start["utterance_id"]] / 2 / start["sample_rate"]
        wall_s = end["_t"] - start["_t"]
        # Never much faster than real time (the lead is bounded), never far behind it.
        assert wall_s >= audio_s - 0.5
        assert wall_s <= audio_s * 1.5 + 2
        await ws.send(json.dumps({"type": "stop"}))


async def test_typed_answer_gets_a_reply_without_audio(server):
    async with websockets.connect(server.ws_url, max_size=None) as ws:
        rec = Recorder(ws)
        await ws.send(json.dumps({"type": "start", "tts": False, "max_follow_ups": 0,
                                  "question_ids": ["regularization", "bias-variance"]}))
        await rec.wait(lambda m: m["type"] == "agent" and m["kind"] == "question")
        await ws.send(json.dumps({"type": "text", "text": "L1 gives sparse weights."}))
        final = await rec.wait(lambda m: m["type"] == "transcript" and m["final"])
        nxt = await rec.wait(lambda m: m["type"] == "agent" and m["_t"] >= final["_t"])
        assert nxt["question_id"] == "bias-variance" and nxt["index"] == 2
        assert not rec.audio_bytes
        await ws.send(json.dumps({"type": "stop"}))
        summary = await rec.wait(lambda m: m["type"] == "summary")
        assert summary["questions"][0]["transcripts"] == ["L1 gives sparse weights."]
