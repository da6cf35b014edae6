"""A property-based fuzzer over every client message type, on a live session.

Hypothesis builds frames of every `type` with every known field set to any JSON
value (huge integers, lone surrogates, deep lists, wrong types), garbled JSON and
odd binary frames. The property: the session survives all of it, and nothing but
non-fatal protocol errors comes back (never `internal`, never a close).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from server import protocol as p

FIELDS = sorted(set(p.Start.model_fields) | {"text", "name", "session_id", "token", "note"})
#: `stop` (and the command of that name) end a session by design; everything else may come.
TYPES = [t for t in p.CLIENT_TYPES if t != "stop"]
#: Python cannot even print an integer past 4,300 digits: a marker, swapped in as text.
BIG = "__big_integer__"
NON_FATAL = {"bad_message", "bad_audio", "too_large", "rate_limited", "not_started"}

scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.just(BIG),  # becomes an integer of 4,400 digits in the frame
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),  # any code point, lone surrogates included
    st.sampled_from(["interview", "drill", "hard", "repeat", "stop", "hint", "bias-variance",
                     "\ud800", "start", "text"]),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)


@st.composite
def messages(draw: Any) -> dict[str, Any]:
    kind = draw(st.sampled_from([*TYPES, "explode", 7, None]))
    message: dict[str, Any] = {} if kind is None else {"type": kind}
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=4, unique=True)):
        message[field] = draw(values)
    if message.get("type") == "command" and message.get("name") == "stop":
        message["name"] = "repeat"
    if "resume" in message and draw(st.booleans()):
        message["resume"] = {"session_id": draw(st.text(max_size=20)),
                             "token": draw(st.text(max_size=20))}
    return message


def as_frame(message: dict[str, Any], cut: int | None, deep: int) -> str:
    # ensure_ascii: lone surrogates travel as \ud800 escapes, as a hostile client sends them.
    raw = json.dumps(message, ensure_ascii=True).replace(f'"{BIG}"', "7" * 4400)
    if deep:
        raw = raw[:-1] + ', "deep": ' + "[" * deep + "]" * deep + "}"
    return raw if cut is None else raw[:cut]


frames = st.one_of(
    st.builds(as_frame, messages(), st.none() | st.integers(0, 60), st.sampled_from([0, 0, 3, 40])),
    st.text(max_size=60).filter(lambda s: not s.startswith("{")),
    st.binary(max_size=41).filter(lambda b: len(b) % 2 == 1),  # odd: bad_audio, no CPU
)


def drain(ws: Any, into: list[dict[str, Any]], wait: float = 0.0) -> None:
    while True:
        try:
            frame = ws.recv(timeout=wait)
        except TimeoutError:
            return
        if isinstance(frame, str):
            into.append(json.loads(frame))


def test_fuzzed_frames_never_end_the_session(make_server):
    # A generous rate limit: every frame is parsed, none is dropped by the budget first.
    server = make_server(rate_messages_per_s=100_000)
    received: list[dict[str, Any]] = []
    with connect(server.ws_url, max_size=None) as ws:
        ws.send(json.dumps({"type": "start", "mode": "drill", "tts": False}))
        drain(ws, received, wait=2.0)
        assert any(m["type"] == "session" for m in received)

        @settings(max_examples=250, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
        @given(frame=frames)
        def one(frame: str | bytes) -> None:
            ws.send(frame)
            drain(ws, received)
            fatal = [m for m in received if m["type"] == "error" and m["fatal"]]
            assert not fatal, fatal

        try:
            one()
            # Still alive: a command gets its answer.
            ws.send(json.dumps({"type": "command", "name": "repeat"}))
            tail: list[dict[str, Any]] = []
            for _ in range(40):
                drain(ws, tail, wait=0.5)
                if any(m["type"] == "agent" for m in tail):
                    break
            received += tail
            assert any(m["type"] == "agent" for m in tail), tail[-5:]
        except ConnectionClosed as closed:
            raise AssertionError(f"the session was closed: {closed}; last {received[-3:]}") \
                from None
    errors = [m for m in received if m["type"] == "error"]
    assert errors, "the fuzzer sent nothing wrong?"
    assert {m["code"] for m in errors} <= NON_FATAL, {m["code"] for m in errors}
    assert not any(m["fatal"] for m in errors)


@settings(max_examples=25, deadline=None, database=None)
@given(message=messages())
def test_fuzzed_first_messages_get_a_protocol_answer(server, message: dict[str, Any]) -> None:
    """Before `start`: every message gets `not_started`, a parse error, a session, or
    `bad_session` for a resume that names none (the one fatal answer, by the protocol)."""
    message = {**message, "tts": False}
    with connect(server.ws_url, max_size=None) as ws:
        ws.send(as_frame(message, None, 0))
        got: list[dict[str, Any]] = []
        try:
            for _ in range(20):
                drain(ws, got, wait=0.25)
                if got:
                    break
        except ConnectionClosed:
            # A fatal answer closes the socket right after it (`bad_session` for a resume
            # naming no session: seen in CI, 2026-12-02, once hypothesis drew an empty
            # `session_id`); the answer itself is in `got`, checked below.
            pass
        assert got, message
        first = got[0]
        assert first["type"] in ("session", "error"), first
        if first["type"] == "error":
            assert first["code"] != "internal", first
            assert not first["fatal"] or first["code"] == "bad_session", first
