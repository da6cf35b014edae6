"""The stored-session HTTP API on a real server: access rules, detail, audio ranges, export."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import numpy as np
import pytest
from starlette.routing import NoMatchFound

from server.config import Settings
from server.store import SessionStore, open_store

TOKEN_A = "token-a-0123456789abcdefgh"
TOKEN_B = "token-b-0123456789abcdefgh"

WORDS = [
    {"word": " Um,", "start": 0.10, "end": 0.35, "probability": 0.9},
    {"word": " I", "start": 0.50, "end": 0.60, "probability": 0.9},
    {"word": " think", "start": 0.60, "end": 0.90, "probability": 0.9},
    {"word": " bias", "start": 0.95, "end": 1.30, "probability": 0.9},
    {"word": " means", "start": 1.30, "end": 1.60, "probability": 0.9},
    {"word": " underfitting,", "start": 1.60, "end": 2.20, "probability": 0.9},
    {"word": " and", "start": 4.10, "end": 4.30, "probability": 0.9},
    {"word": " maybe", "start": 4.30, "end": 4.60, "probability": 0.9},
    {"word": " variance", "start": 4.60, "end": 5.10, "probability": 0.9},
    {"word": " is", "start": 5.10, "end": 5.25, "probability": 0.9},
    {"word": " overfitting.", "start": 5.25, "end": 5.90, "probability": 0.9},
]
SEGMENTS = [[0.05, 2.3], [4.0, 6.0]]


def tone(seconds: float, rate: int = 16000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * 220 * t) * 6000).astype("<i2").tobytes()


def score(turn_id: str, question_id: str, overall: float, delivery: float | None) -> dict[str, Any]:
    return {
        "type": "score", "turn_id": turn_id, "question_id": question_id,
        "overall": overall, "content": overall + 4, "delivery": delivery,
        "key_points": [
            {"id": "bias-definition", "text": "Bias is error from a too-simple model; underfitting.",
             "covered": True, "evidence": "bias means underfitting"},
            {"id": "variance-definition", "text": "Variance is sensitivity to the training data.",
             "covered": True, "evidence": "variance is overfitting"},
            {"id": "error-decomposition", "text": "Total error is bias squared plus variance "
             "plus noise.", "covered": False, "evidence": None},
        ],
        "metrics": {"words": 11, "duration_s": 5.8, "wpm": 113.8, "filler_count": 1,
                    "fillers_per_min": 10.3, "long_pauses": 1},
        "feedback": "Good definitions; add the error decomposition.",
    }


def attach_store(server: Any) -> Settings:
    """Give the live server a store and the sessions routes if the app does not wire
    them itself. The store is built here but connects lazily, so its connections
    belong to the server's own event loop."""
    app = server.app
    if getattr(app.state, "store", None) is None:
        app.state.store = open_store(app.state.settings)
    try:
        # By name: FastAPI may keep an included router as one entry of `app.routes`.
        app.url_path_for("get_session", session_id="x")
    except NoMatchFound:
        from server.api import sessions

        app.include_router(sessions.router)
    return app.state.settings


async def open_seeder(settings: Settings) -> SessionStore:
    """A second store on the same database, in the tests' event loop, to write fixtures."""
    store = open_store(settings)
    await store.init(recover=False)
    return store


async def seed_session(store: SessionStore, session_id: str, token: str,
                       audio: bytes | None = None, words: list[dict] | None = None) -> None:
    await store.create_session(session_id, token, "interview",
                               {"mode": "interview", "num_questions": 2, "tts": False})
    await store.add_question(session_id, 1, "bias-variance", "fundamentals",
                             "Explain the bias-variance tradeoff.")
    await store.add_turn(session_id, {"turn_id": "u1", "speaker": "interviewer",
                                      "kind": "greeting", "text": "Hello, let's begin."})
    await store.add_turn(session_id, {"turn_id": "u2", "speaker": "interviewer",
                                      "kind": "question", "question_id": "bias-variance",
                                      "text": "Explain the bias-variance tradeoff."})
    path = await store.save_audio(session_id, "t1", audio if audio is not None else tone(6.2))
    await store.add_turn(session_id, {
        "turn_id": "t1", "speaker": "candidate", "text": " ".join(
            w["word"].strip() for w in (words or WORDS)),
        "question_id": "bias-variance", "words": words or WORDS, "segments": SEGMENTS,
        "score": score("t1", "bias-variance", 68, 61), "audio_path": path,
    })
    await store.add_question(session_id, 2, "regularization", "fundamentals",
                             "What is regularization?")
    await store.add_turn(session_id, {"turn_id": "u3", "speaker": "interviewer",
                                      "kind": "question", "question_id": "regularization",
                                      "text": "What is regularization?"})
    await store.add_turn(session_id, {
        "turn_id": "t2", "speaker": "candidate", "text": "It penalizes large weights.",
        "question_id": "regularization", "words": [],
        "score": score("t2", "regularization", 82, None) | {"key_points": []},
    })


@pytest.fixture(scope="module")
async def api(make_server) -> AsyncIterator[tuple[Any, SessionStore]]:
    server = make_server()
    store = await open_seeder(attach_store(server))
    await seed_session(store, "sessa", TOKEN_A)
    await seed_session(store, "sessb", TOKEN_B)
    yield server, store
    await store.close()


@pytest.fixture
async def client(api) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api[0].url, timeout=30) as c:
        yield c


ENDPOINTS = [
    "/api/sessions/{id}",
    "/api/sessions/{id}/turns/t1/audio",
    "/api/sessions/{id}/export?format=md",
    "/api/sessions/{id}/export?format=json",
    "/review/{id}",
]


def url(template: str, session_id: str, token: str | None) -> str:
    path = template.format(id=session_id)
    if token is None:
        return path
    return f"{path}{'&' if '?' in path else '?'}token={token}"


@pytest.mark.parametrize("template", ENDPOINTS)
async def test_every_endpoint_answers_404_without_the_sessions_token(client, template) -> None:
    ok = await client.get(url(template, "sessa", TOKEN_A))
    assert ok.status_code == 200, ok.text
    unknown = await client.get(url(template, "nosuch", TOKEN_A))
    assert unknown.status_code == 404
    for token in (None, "", "wrong", TOKEN_B, TOKEN_A + "x", TOKEN_A.upper()):
        denied = await client.get(url(template, "sessa", token))
        assert denied.status_code == 404, (template, token)
        # Indistinguishable from a session that does not exist.
        assert denied.content == unknown.content
    # Another session's token opens that session, and only that one.
    assert (await client.get(url(template, "sessb", TOKEN_B))).status_code == 200


async def test_session_detail(client) -> None:
    res = await client.get(url("/api/sessions/{id}", "sessa", TOKEN_A))
    assert res.status_code == 200
    assert res.headers["cache-control"] == "no-store"
    assert res.headers["referrer-policy"] == "no-referrer"
    data = res.json()
    assert data["id"] == "sessa" and data["status"] == "active" and data["mode"] == "interview"
    assert "token_hash" not in data and TOKEN_A not in res.text
    assert [t["turn_id"] for t in data["turns"]] == ["u1", "u2", "t1", "u3", "t2"]
    answer = data["turns"][2]
    assert [{k: w[k] for k in WORDS[0]} for w in answer["words"]] == WORDS
    assert answer["segments"] == SEGMENTS
    # Marked on read, by the server's one rule (server/lexicon.py): the filler, both
    # hedges, and the 1.7 s silence between the VAD segments before " and".
    assert [w["marks"] for w in answer["words"]] == [
        ["filler"], ["hedge"], ["hedge"], [], [], [], [], ["hedge"], [], [], []]
    assert [w["pause_before_s"] for w in answer["words"]] == [None] * 6 + [1.7] + [None] * 4
    assert answer["score"]["overall"] == 68
    assert answer["audio_url"] == "/api/sessions/sessa/turns/t1/audio"
    assert "audio_path" not in answer
    assert data["turns"][4]["audio_url"] is None
    # Each question carries the bank's model answer, hint and key points.
    first = data["questions"][0]
    assert first["question_id"] == "bias-variance" and first["index"] == 1
    assert first["difficulty"] == "medium"
    assert len(first["answer"]) > 20 and first["hint"]
    assert {"id": "bias-definition", "text": first["key_points"][0]["text"]} == \
        first["key_points"][0]


async def test_audio_is_a_wav_with_range_requests(client) -> None:
    path = url("/api/sessions/{id}/turns/t1/audio", "sessa", TOKEN_A)
    full = await client.get(path)
    assert full.status_code == 200
    assert full.headers["content-type"] == "audio/wav"
    assert full.headers["accept-ranges"] == "bytes"
    body = full.content
    assert body[:4] == b"RIFF" and body[8:12] == b"WAVE"
    assert len(body) == 44 + len(tone(6.2))

    part = await client.get(path, headers={"Range": "bytes=44-1043"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 44-1043/{len(body)}"
    assert part.content == body[44:1044]

    tail = await client.get(path, headers={"Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.content == body[-100:]
    beyond = await client.get(path, headers={"Range": f"bytes={len(body) + 10}-"})
    assert beyond.status_code == 416

    # A turn without a recording, and one that does not exist, are both 404.
    for turn in ("t2", "t9", "u1"):
        res = await client.get(url(f"/api/sessions/{{id}}/turns/{turn}/audio", "sessa", TOKEN_A))
        assert res.status_code == 404


async def test_export_markdown_and_json(client) -> None:
    md = await client.get(url("/api/sessions/{id}/export?format=md", "sessa", TOKEN_A))
    assert md.status_code == 200
    assert md.headers["content-type"].startswith("text/markdown")
    assert md.headers["content-disposition"] == 'attachment; filename="viva-sessa.md"'
    text = md.text
    assert text.startswith("# viva session sessa")
    assert "### Q1 · fundamentals · best 68" in text
    assert "*Explain the bias-variance tradeoff.*" in text
    assert "**You:** Um, I think bias means underfitting," in text
    assert "- Score: overall **68**, content 72, delivery 61" in text
    assert '— "bias means underfitting"' in text
    assert "- Missed:\n  - Total error is bias squared plus variance plus noise." in text
    assert "- Feedback: Good definitions; add the error decomposition." in text
    assert "delivery —" in text  # the typed answer has no delivery score
    assert text.count("**Model answer**") == 2

    js = await client.get(url("/api/sessions/{id}/export?format=json", "sessa", TOKEN_A))
    assert js.status_code == 200
    assert js.headers["content-disposition"] == 'attachment; filename="viva-sessa.json"'
    detail = (await client.get(url("/api/sessions/{id}", "sessa", TOKEN_A))).json()
    assert json.loads(js.text) == detail

    bad = await client.get(url("/api/sessions/{id}/export?format=pdf", "sessa", TOKEN_A))
    assert bad.status_code == 422


async def test_list_on_loopback_links_each_review(client) -> None:
    res = await client.get("/api/sessions")
    assert res.status_code == 200
    listed = res.json()["sessions"]
    assert [s["id"] for s in listed][:2] == ["sessb", "sessa"]  # newest first
    a = next(s for s in listed if s["id"] == "sessa")
    assert a["question_count"] == 2 and a["overall"] == 75.0
    assert a["categories"] == {"fundamentals": 75.0}
    assert TOKEN_A not in res.text
    # The review links carry a per-session grant, not the session token.
    page = await client.get(a["review_url"])
    assert page.status_code == 200 and "review.js" in page.text
    assert (await client.get(a["api_url"])).json()["id"] == "sessa"
    grant = a["review_url"].split("token=")[1]
    assert (await client.get(url("/api/sessions/{id}", "sessb", grant))).status_code == 404
    sessions_page = await client.get("/review")
    assert sessions_page.status_code == 200 and "sessions.js" in sessions_page.text


async def test_access_key_server(make_server) -> None:
    server = make_server(access_key="k3y-s3cret")
    store = await open_seeder(attach_store(server))
    try:
        await seed_session(store, "keyed", TOKEN_A)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
            assert (await c.get("/api/sessions")).status_code == 403
            assert (await c.get("/api/sessions?key=wrong")).status_code == 403
            assert (await c.get("/review")).status_code == 403
            listed = await c.get("/api/sessions?key=k3y-s3cret")
            assert [s["id"] for s in listed.json()["sessions"]] == ["keyed"]
            assert (await c.get("/review?key=k3y-s3cret")).status_code == 200
            for template in ENDPOINTS:
                path = template.format(id="keyed")
                joiner = "&" if "?" in path else "?"
                assert (await c.get(f"{path}{joiner}key=k3y-s3cret")).status_code == 200
                assert (await c.get(f"{path}{joiner}key=wrong")).status_code == 404
                assert (await c.get(f"{path}{joiner}token={TOKEN_A}")).status_code == 200
                assert (await c.get(f"{path}")).status_code == 404
    finally:
        await store.close()


async def test_openapi_shows_the_stored_records(client) -> None:
    """/docs is built from /openapi.json: the session routes declare real schemas there
    (the typed store records), not an untyped object."""
    spec = (await client.get("/openapi.json")).json()
    paths, schemas = spec["paths"], spec["components"]["schemas"]

    def ok_schema(path: str) -> Any:
        return paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]

    assert ok_schema("/api/sessions") == {"$ref": "#/components/schemas/SessionList"}
    assert ok_schema("/api/sessions/{session_id}") == \
        {"$ref": "#/components/schemas/SessionReview"}
    detail = schemas["SessionReview"]["properties"]
    assert detail["turns"]["items"] == {"$ref": "#/components/schemas/TurnReview"}
    assert detail["questions"]["items"] == {"$ref": "#/components/schemas/QuestionReview"}
    assert {"$ref": "#/components/schemas/Summary"} in detail["summary"]["anyOf"]
    assert detail["created_at"]["format"] == "date-time"
    turn = schemas["TurnReview"]["properties"]
    assert {"$ref": "#/components/schemas/Score"} in turn["score"]["anyOf"]
    assert "audio_url" in turn and "audio_path" not in turn
    assert schemas["SessionList"]["properties"]["sessions"]["items"] == \
        {"$ref": "#/components/schemas/SessionLink"}
    assert {"review_url", "api_url", "overall", "categories"} <= \
        set(schemas["SessionLink"]["properties"])
    # The credentials are documented query parameters of every per-session route.
    for path in ("/api/sessions/{session_id}", "/api/sessions/{session_id}/export",
                 "/api/sessions/{session_id}/turns/{turn_id}/audio"):
        names = {p["name"] for p in paths[path]["get"]["parameters"]}
        assert {"session_id", "token", "key"} <= names, path
    assert "audio/wav" in paths["/api/sessions/{session_id}/turns/{turn_id}/audio"]["get"][
        "responses"]["200"]["content"]
    # The plain routes too.
    assert ok_schema("/healthz") == {"$ref": "#/components/schemas/Health"}
    assert ok_schema("/api/questions") == {"$ref": "#/components/schemas/QuestionList"}
    assert schemas["QuestionCard"]["properties"]["difficulty"]["enum"] == \
        ["easy", "medium", "hard"]
