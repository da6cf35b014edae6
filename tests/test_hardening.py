"""Issue 15: what a hostile page, a hostile client or a damaged disk can no longer do.

Live servers over the suite's shared engines (typed answers only, no speech), and
plain unit checks where the piece stands alone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import websockets

from server import protocol as p
from server.config import Settings
from tests.conftest import ROOT, recv_until


async def closed_with(ws, within: float = 10.0) -> tuple[int, str]:
    with pytest.raises(websockets.exceptions.ConnectionClosed) as info:
        await asyncio.wait_for(recv_until(ws, "never", within), within)
    assert info.value.rcvd is not None
    return info.value.rcvd.code, info.value.rcvd.reason


START = {"type": "start", "tts": False, "question_ids": ["bias-variance", "regularization"]}

# ------------------------------------------------------------------ DNS rebinding


async def test_dns_rebinding_host_is_refused_everywhere(server):
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        for path in ("/api/sessions", "/", "/healthz", "/static/app.js", "/review"):
            refused = await client.get(path, headers={"Host": "evil.example"})
            assert refused.status_code == 400, path
            assert "session" not in refused.text and "grant" not in refused.text
        for host in ("localhost", f"localhost:{server.port}", f"127.0.0.1:{server.port}",
                     f"[::1]:{server.port}"):
            assert (await client.get("/api/sessions", headers={"Host": host})).status_code == 200
    # /ws under a rebound name, with a matching evil Origin: accepted, then closed 1008.
    async with websockets.connect(f"ws://evil.example:{server.port}/ws", host="127.0.0.1",
                                  port=server.port,
                                  origin=f"http://evil.example:{server.port}") as ws:
        code, reason = await closed_with(ws)
    assert code == 1008 and "host" in reason


async def test_allowed_hosts_setting_and_origins_add_names(make_server):
    from server.api.guard import Guard

    guard = Guard(Settings(allowed_hosts=["viva.lan"], allowed_origins=["https://app.example"]))
    assert guard.host_allowed("viva.lan:8000") and guard.host_allowed("app.example")
    assert guard.host_allowed("LOCALHOST.") and guard.host_allowed("[::1]:80")
    assert not guard.host_allowed("evil.example") and not guard.host_allowed("10.0.0.5")
    assert not guard.host_allowed("[bad")
    wide = Guard(Settings(host="0.0.0.0", access_key="k"))
    assert wide.host_allowed("10.0.0.5:8000") and not wide.host_allowed("evil.example")
    assert Guard(Settings(allowed_hosts=["*"])).host_allowed("anything.example")


async def test_keyed_server_keys_ws_with_1008_and_api_pages(make_server):
    keyed = make_server(access_key="s3cret")
    for query in ("", "?key=wrong", "?key=%C3%A9", "?key=%FF"):
        async with websockets.connect(keyed.ws_url + query) as ws:
            code, reason = await closed_with(ws)
        assert code == 1008 and "key" in reason, query
    async with httpx.AsyncClient(base_url=keyed.url, timeout=10) as client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert (await client.get(path)).status_code == 403, path
            assert (await client.get(path, params={"key": "é"})).status_code == 403, path
            assert (await client.get(path, params={"key": "s3cret"})).status_code == 200, path
        page = await client.get("/docs", params={"key": "s3cret"})
        assert "/openapi.json?key=s3cret" in page.text


# ------------------------------------------------------------------ session slots


async def test_escaped_start_is_counted_and_text_saying_start_is_not(make_server):
    small = make_server(max_sessions=1)
    async with websockets.connect(small.ws_url) as first:
        escaped = json.dumps(START).replace('"start"', '"\\u0073tart"', 1)
        assert '"start"' not in escaped
        await first.send(escaped)
        await recv_until(first, "session")
        async with httpx.AsyncClient(timeout=10) as client:
            health = (await client.get(small.url + "/healthz")).json()
        assert health["active_sessions"] == 1
        async with websockets.connect(small.ws_url) as second:
            # Mentions "start" but is a text: not_started, not busy.
            await second.send(json.dumps({"type": "text", "text": "hi", "note": "start"}))
            error = await recv_until(second, "error")
            assert (error["code"], error["fatal"]) == ("not_started", False)
            await second.send(json.dumps({"type": "\\u0073tart"}).replace("\\\\", "\\"))
            error = await recv_until(second, "error")
            assert (error["code"], error["fatal"]) == ("busy", True)
    await asyncio.sleep(0.3)
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.get(small.url + "/healthz")).json()["active_sessions"] == 0


# ------------------------------------------------------------------ malformed input


def test_parser_limits():
    def code(raw: str) -> str:
        with pytest.raises(p.ProtocolError) as info:
            p.parse_client_message(raw)
        assert not info.value.fatal
        return info.value.code

    assert code('{"type":"start","num_questions":' + "9" * 5000 + "}") == "bad_message"
    assert code('{"type":"text","text":"\\ud800"}') == "bad_message"
    assert code('{"type":"text","text":"ok","x":["\\udfff"]}') == "bad_message"
    assert code(json.dumps({"type": "start", "resume": {"session_id": "\ud800",
                                                         "token": "\udc00"}})) == "bad_message"
    assert code("[" * 50_000 + "]" * 50_000) == "too_large"
    assert code('{"type":"text","text":"x","a":' + "[" * 20 + "]" * 20 + "}") == "bad_message"
    assert code('{"type":"text","text":"' + "y" * 10_001 + '"}') == "too_large"
    # Depth counts objects and arrays alike: 8 levels pass, 9 do not.
    assert isinstance(p.parse_client_message(json.dumps(
        {"type": "text", "text": "x", "a": [[[[[[[1]]]]]]]})), p.Text)
    assert code(json.dumps({"type": "text", "text": "x", "a": [[[[[[[[1]]]]]]]]})) == \
        "bad_message"
    # Frames built to make a pattern backtrack are refused in linear time.
    import time

    started = time.perf_counter()
    for frame in ("[" * 10 + '"\\' * 30_000, '["\\"[' * 12_000, '[[[[[[[[[["' + "a" * 60_000):
        assert code(frame) == "bad_message"
    assert time.perf_counter() - started < 1.0
    # Brackets inside strings are not nesting.
    text = p.parse_client_message(json.dumps({"type": "text", "text": "[[[[[[[[[[[[{{{{"}))
    assert isinstance(text, p.Text)
    # The limit counts decoded characters: 10,000 escaped é is 60,000 bytes, and fine.
    accented = p.parse_client_message('{"type":"text","text":"' + "\\u00e9" * 10_000 + '"}')
    assert isinstance(accented, p.Text) and len(accented.text) == 10_000


async def test_hostile_frames_are_non_fatal_in_a_live_session(server):
    async with websockets.connect(server.ws_url, max_size=None) as ws:
        await ws.send(json.dumps(START))
        await recv_until(ws, "session")
        hostile = [
            ('{"type":"text","text":"a","n":' + "1" * 4400 + "}", "bad_message"),
            ('{"type":"text","text":"\\ud800 lone"}', "bad_message"),
            ('{"type":"start","resume":{"session_id":"\\udc00","token":"\\ud800"}}',
             "bad_message"),
            ('{"a":' * 40 + "1" + "}" * 40, "bad_message"),
            ("x" * (9_900_000), "too_large"),  # was a 1009 close
        ]
        for frame, want in hostile:
            await ws.send(frame)
            error = await recv_until(ws, "error")
            assert (error["code"], error["fatal"]) == (want, False), frame[:40]
        await ws.send(json.dumps({"type": "command", "name": "repeat"}))
        assert (await recv_until(ws, "agent"))["question_id"] == "bias-variance"


async def test_resume_with_surrogates_is_bad_message_before_start(server):
    async with websockets.connect(server.ws_url) as ws:
        await ws.send('{"type":"start","tts":false,"resume":{"session_id":"\\ud800",'
                      '"token":"x"}}')
        error = await recv_until(ws, "error")
        assert (error["code"], error["fatal"]) == ("bad_message", False)
        await ws.send(json.dumps({"type": "start", "tts": False,
                                  "resume": {"session_id": "nope", "token": "x"}}))
        error = await recv_until(ws, "error")
        assert (error["code"], error["fatal"]) == ("bad_session", True)
    # A made-up session id leaves nothing behind in the server's table of live sessions.
    assert "nope" not in server.app.state.live._locks


async def test_socket_that_never_starts_is_closed(make_server):
    impatient = make_server(start_timeout_s=0.5)
    async with websockets.connect(impatient.ws_url) as ws:
        error = await recv_until(ws, "error", within=5)
        assert (error["code"], error["fatal"]) == ("not_started", True)
        code, _ = await closed_with(ws)
    assert code == 1008


# ------------------------------------------------------------------ budgets


async def test_message_rate_limit_is_non_fatal(make_server):
    slow = make_server(rate_messages_per_s=2)
    async with websockets.connect(slow.ws_url) as ws:
        await ws.send(json.dumps(START))
        await recv_until(ws, "session")
        for _ in range(20):
            await ws.send(json.dumps({"type": "end_turn"}))
        error = await recv_until(ws, "error")
        assert (error["code"], error["fatal"]) == ("rate_limited", False)
        await asyncio.sleep(1.5)  # the bucket fills again
        await ws.send(json.dumps({"type": "command", "name": "repeat"}))
        assert (await recv_until(ws, "agent", within=20))["type"] == "agent"


def test_text_budget_counts_characters_per_minute():
    from server.api.ws import Budget

    budget = Budget(Settings(rate_text_chars_per_min=12_000))
    assert budget.chars.take(9_000)
    assert not budget.chars.take(9_000)  # two floods in a row: the second is refused
    assert budget.chars.take(1_000)
    assert budget.should_report() and not budget.should_report()


def test_a_sessions_budget_outlives_its_connection():
    from server.api import ws

    budgets: dict = {}
    first = ws.Budget(Settings())
    assert ws.session_budget(budgets, "s1", first) is first
    # A resume on a new connection gets the session's own budget, not a full one.
    assert ws.session_budget(budgets, "s1", ws.Budget(Settings())) is first
    for n in range(ws.MAX_KEPT_BUDGETS + 1):
        ws.session_budget(budgets, f"x{n}", ws.Budget(Settings()))
    assert len(budgets) <= ws.MAX_KEPT_BUDGETS


async def test_fair_lane_runs_the_light_user_before_the_flooder():
    import time

    from server.live import FairLane

    lane = FairLane(width=1)
    order: list[str] = []

    def work(name: str) -> None:
        time.sleep(0.05)
        order.append(name)

    await lane.run("flood", work, "flood-0")  # the flooder has used the lane already
    jobs = [asyncio.create_task(lane.run("flood", work, f"flood-{n}")) for n in (1, 2, 3)]
    await asyncio.sleep(0.01)  # flood-1 runs; 2 and 3 wait
    jobs.append(asyncio.create_task(lane.run("candidate", work, "candidate")))
    await asyncio.gather(*jobs)
    assert order.index("candidate") == 2, order
    assert lane.running == 0

    # Two places: long texts take one at most, so an ordinary answer never waits.
    wide = FairLane(width=2, reserved=1)
    order.clear()
    floods = [asyncio.create_task(wide.run(f"f{n}", work, f"flood-{n}", cost_s=1.0))
              for n in range(3)]
    await asyncio.sleep(0.01)
    assert (wide.running, wide.running_big) == (1, 1)
    await wide.run("candidate", work, "candidate", cost_s=0.01)
    assert order[0] == "candidate" or order[:2] == ["flood-0", "candidate"], order
    await asyncio.gather(*floods)
    assert (wide.running, wide.running_big) == (0, 0)


# ------------------------------------------------------------------ one connection


async def test_resume_takes_the_session_over_and_turns_never_collide(server):
    async with websockets.connect(server.ws_url) as first:
        await first.send(json.dumps(START))
        session = await recv_until(first, "session")
        await recv_until(first, "agent")  # greeting
        await first.send(json.dumps({"type": "text", "text": "Bias is underfitting and "
                                     "variance is overfitting."}))
        answered = await recv_until(first, "transcript")
        assert answered["turn_id"] == "t1"
        await recv_until(first, "score")
        resume = {"type": "start", "tts": False, "resume": {
            "session_id": session["session_id"], "token": session["token"]}}
        async with websockets.connect(server.ws_url) as second:
            await second.send(json.dumps(resume))
            resumed = await recv_until(second, "session")
            assert resumed["resumed"] is True
            error = await recv_until(first, "error")
            assert (error["code"], error["fatal"]) == ("taken_over", True)
            code, _ = await closed_with(first)
            assert code == 4000
            await asyncio.sleep(0.5)  # the old connection's clean-up has run
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
                stored = (await client.get(f"/api/sessions/{session['session_id']}",
                                           params={"token": session["token"]})).json()
            assert stored["status"] == "active"  # not 'interrupted' by the old socket
            await second.send(json.dumps({"type": "text", "text": "L2 shrinks weights."}))
            assert (await recv_until(second, "transcript"))["turn_id"] == "t2"
            await recv_until(second, "score")
            await second.send(json.dumps({"type": "stop"}))
            await recv_until(second, "summary")
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        stored = (await client.get(f"/api/sessions/{session['session_id']}",
                                   params={"token": session["token"]})).json()
    assert stored["status"] == "completed"
    candidate = [t["turn_id"] for t in stored["turns"] if t["speaker"] == "candidate"]
    assert candidate == ["t1", "t2"]
    # A completed session is over.
    async with websockets.connect(server.ws_url) as third:
        await third.send(json.dumps(resume))
        error = await recv_until(third, "error")
        assert (error["code"], error["fatal"]) == ("bad_session", True)
    await asyncio.sleep(0.3)
    live = server.app.state.live
    assert live.holder(session["session_id"]) is None
    assert session["session_id"] not in live._locks


# ------------------------------------------------------------------ storage


def make_database(data_dir: Path) -> Path:
    from server.store import open_store

    async def seed() -> None:
        store = open_store(Settings(data_dir=data_dir))
        await store.init()
        for n in range(30):
            await store.create_session(f"s{n}", f"token-{n}", "interview", {"n": "x" * 500})
        await store.close()

    asyncio.run(seed())
    return data_dir / "viva.sqlite3"


def _serve_once(data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIVA_")}
    return subprocess.run([sys.executable, "-m", "server", "serve", "--data-dir", str(data_dir),
                           "--port", "1"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_damaged_database_refuses_to_start_in_one_line(tmp_path):
    from server.store import StoreError
    from server.store.check import check_database

    path = make_database(tmp_path)
    with Path(path).open("r+b") as raw:  # garble every page after the header page
        raw.seek(4096)
        raw.write(os.urandom(path.stat().st_size - 4096))
    with pytest.raises(StoreError) as info:
        check_database(Settings(data_dir=tmp_path))
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    result = _serve_once(tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "damaged" in lines[0], result.stderr


def test_garbled_or_missing_database_with_recordings(tmp_path):
    from server.store import StoreError
    from server.store.check import check_database

    path = make_database(tmp_path)
    path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError, match="damaged"):
        check_database(Settings(data_dir=tmp_path))
    path.unlink()
    check_database(Settings(data_dir=tmp_path))  # no recordings: a fresh start is fine
    (tmp_path / "audio" / "s1").mkdir(parents=True)
    (tmp_path / "audio" / "s1" / "t1.wav").write_bytes(b"RIFF")
    with pytest.raises(StoreError, match=r"missing.*recordings of 1 session"):
        check_database(Settings(data_dir=tmp_path))
    path.write_bytes(b"")
    with pytest.raises(StoreError, match="empty"):
        check_database(Settings(data_dir=tmp_path))


def test_backup_command(tmp_path):
    from server.cli import main
    from server.store.check import quick_check

    make_database(tmp_path)
    target = tmp_path / "copy" / "viva-backup.sqlite3"
    assert main(["backup", str(target), "--data-dir", str(tmp_path)]) == 0
    assert quick_check(target) is None
    assert main(["backup", str(target), "--data-dir", str(tmp_path)]) == 2  # never overwrites


async def test_failed_write_is_reported_and_kept(server):
    from server.store import SessionStore

    store = server.app.state.store  # lives on the server's loop: read back over HTTP
    real = SessionStore.add_turn
    failures = {"left": 1}

    async def flaky(self, session_id, turn):
        if failures["left"] > 0 and turn.get("speaker") == "candidate":
            failures["left"] -= 1
            raise OSError("disk full")
        return await real(self, session_id, turn)

    store.add_turn = flaky.__get__(store)
    try:
        async with websockets.connect(server.ws_url) as ws:
            await ws.send(json.dumps(START))
            session = await recv_until(ws, "session")
            await ws.send(json.dumps({"type": "text", "text": "Bias underfits."}))
            error = await recv_until(ws, "error")
            assert (error["code"], error["fatal"]) == ("storage", False)
            await recv_until(ws, "agent")
            await ws.send(json.dumps({"type": "stop"}))
            await recv_until(ws, "summary")
    finally:
        del store.add_turn
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        stored = (await client.get(f"/api/sessions/{session['session_id']}",
                                   params={"token": session["token"]})).json()
    assert [t["turn_id"] for t in stored["turns"] if t["speaker"] == "candidate"] == ["t1"]


# ------------------------------------------------------------------ logs


def test_secrets_are_redacted_from_log_lines(caplog):
    from server.logs import RedactSecrets, redact

    assert redact("GET /review/s1?token=abc&x=1") == "GET /review/s1?token=[redacted]&x=1"
    assert redact("/ws?key=s3cret") == "/ws?key=[redacted]"
    assert redact("monkey=1") == "monkey=1"
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                               '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "GET", "/api/sessions?key=s3cret", "1.1", 200),
                               None)
    RedactSecrets().filter(record)
    assert "s3cret" not in record.getMessage() and "[redacted]" in record.getMessage()


def test_redaction_is_installed_on_uvicorn_loggers():
    import io

    from server.logs import install_redaction

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    access = logging.getLogger("uvicorn.access")
    access.addHandler(handler)
    try:
        install_redaction()
        install_redaction()  # idempotent
        access.warning('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET",
                       "/review/s1?token=g.abcdef", "1.1", 200)
        logging.getLogger("viva.ws").warning("resume with token=%s", "secret-token")
    finally:
        access.removeHandler(handler)
    assert "g.abcdef" not in stream.getvalue() and "token=[redacted]" in stream.getvalue()
    records: list[logging.LogRecord] = []
    capture = logging.Handler()
    capture.emit = records.append  # type: ignore[method-assign]
    capture.addFilter(install_redaction())
    viva = logging.getLogger("viva.ws")
    viva.addHandler(capture)
    try:
        viva.warning("resume with token=%s", "secret-token")
    finally:
        viva.removeHandler(capture)
    assert records and records[0].getMessage() == "resume with token=[redacted]"


async def test_half_sent_request_is_dropped(server, monkeypatch):
    import server.serving as serving

    monkeypatch.setattr(serving, "HEADER_TIMEOUT_S", 0.5)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")  # never finished
    await writer.drain()
    started = asyncio.get_running_loop().time()
    assert await asyncio.wait_for(reader.read(), 5) == b""  # closed, no answer
    assert asyncio.get_running_loop().time() - started < 3
    writer.close()
