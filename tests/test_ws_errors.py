"""Each hostile input in the protocol's error table gets its `error`, and the session goes on."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from tests.conftest import recv_until

pytestmark = pytest.mark.slow




async def test_before_start_then_every_error_row_session_goes_on(server):
    async with websockets.connect(server.ws_url, max_size=None) as ws:
        await ws.send(json.dumps({"type": "text", "text": "hello"}))
        assert (await recv_until(ws, "error"))["code"] == "not_started"
        await ws.send(b"\x00\x00")
        assert (await recv_until(ws, "error"))["code"] == "not_started"
        await ws.send(json.dumps({"type": "start", "sample_rate": 4000}))
        error = await recv_until(ws, "error")
        assert (error["code"], error["fatal"]) == ("bad_audio", False)
        await ws.send(json.dumps({"type": "start", "tts": False,
                                  "question_ids": ["bias-variance"]}))
        session = await recv_until(ws, "session")
        assert session["protocol"] == 1 and session["token"]
        await recv_until(ws, "agent")

        hostile = [
            ("not json at all", "bad_message"),
            (json.dumps({"type": "explode"}), "bad_message"),
            (json.dumps({"no": "type"}), "bad_message"),
            (json.dumps({"type": "command", "name": 3}), "bad_message"),
            (json.dumps({"type": "text", "text": "y" * 10_001}), "too_large"),
            (b"\x01\x02\x03", "bad_audio"),
            (b"\x00" * (64 * 1024 + 2), "too_large"),
            ("x" * (64 * 1024 + 10), "too_large"),
        ]
        for frame, code in hostile:
            await ws.send(frame)
            error = await recv_until(ws, "error")
            assert error["code"] == code, frame[:30]
            assert error["fatal"] is False
        # The session is still alive and answers.
        await ws.send(json.dumps({"type": "command", "name": "repeat"}))
        agent = await recv_until(ws, "agent")
        assert agent["question_id"] == "bias-variance"
        await ws.send(json.dumps({"type": "stop"}))
        summary = await recv_until(ws, "summary")
        assert summary["session_id"] == session["session_id"]


async def test_cross_origin_websocket_is_refused(server):
    # The protocol's refusal: accepted, then closed with 1008 and the reason.
    async with websockets.connect(server.ws_url, origin="http://evil.example") as ws:
        with pytest.raises(websockets.exceptions.ConnectionClosed) as info:
            await ws.recv()
    assert info.value.rcvd.code == 1008 and "origin" in info.value.rcvd.reason


async def test_same_origin_is_accepted(server):
    async with websockets.connect(server.ws_url, origin=server.url) as ws:
        await ws.send(json.dumps({"type": "start", "tts": False}))
        assert (await recv_until(ws, "session"))["mode"] == "interview"


async def test_access_key_required_when_set(make_server):
    keyed = make_server(access_key="s3cret")
    with pytest.raises((websockets.exceptions.InvalidStatus,
                        websockets.exceptions.ConnectionClosed)):
        async with websockets.connect(keyed.ws_url) as ws:
            await ws.recv()
    async with websockets.connect(keyed.ws_url + "?key=s3cret") as ws:
        await ws.send(json.dumps({"type": "start", "tts": False}))
        assert (await recv_until(ws, "session"))["type"] == "session"


async def test_busy_past_the_session_limit(make_server):
    small = make_server(max_sessions=1)
    async with websockets.connect(small.ws_url) as first:
        await first.send(json.dumps({"type": "start", "tts": False}))
        await recv_until(first, "session")
        async with websockets.connect(small.ws_url) as second:
            await second.send(json.dumps({"type": "start", "tts": False}))
            error = await recv_until(second, "error")
            assert (error["code"], error["fatal"]) == ("busy", True)
    # Once the first session is gone, a new one gets in.
    await asyncio.sleep(0.3)
    async with websockets.connect(small.ws_url) as third:
        await third.send(json.dumps({"type": "start", "tts": False}))
        await recv_until(third, "session")


async def test_one_broken_session_does_not_stop_another(server):
    async with websockets.connect(server.ws_url) as good, \
            websockets.connect(server.ws_url) as bad:
        await good.send(json.dumps({"type": "start", "tts": False,
                                    "question_ids": ["regularization"]}))
        await recv_until(good, "session")
        await bad.send(json.dumps({"type": "start", "tts": False}))
        await recv_until(bad, "session")
        for frame in (b"\x01", "{{{", json.dumps({"type": "start"})):
            await bad.send(frame)
        await bad.close()
        await recv_until(good, "agent")  # greeting
        question = await recv_until(good, "agent")
        assert question["kind"] == "question"
        await good.send(json.dumps({"type": "command", "name": "hint"}))
        hint = await recv_until(good, "agent")
        assert hint["kind"] == "hint" and hint["question_id"] == "regularization"


def test_non_loopback_bind_without_key_refuses_to_start():
    from server.config import Settings, SettingsError

    with pytest.raises(SettingsError, match="VIVA_ACCESS_KEY"):
        Settings(host="0.0.0.0").check_network_exposure()
    Settings(host="0.0.0.0", access_key="k").check_network_exposure()
    Settings(host="127.0.0.1").check_network_exposure()
