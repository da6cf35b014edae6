"""Stored sessions over HTTP: list, detail, audio, export, and the review pages.

One rule for every per-session route: without that session's token (or its review
grant, or the server's access key) the answer is 404, exactly as for a session
that does not exist, so a URL reveals nothing about which sessions exist.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from server.api.guard import key_matches
from server.api.http import CLIENT_DIR
from server.lexicon import mark_words
from server.store import SessionStore
from server.store.audio import resolve_audio
from server.store.export import to_json, to_markdown, with_bank

router = APIRouter()

#: Session data is private: never cached, never leaked through a Referer header.
PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _store(request: Request) -> SessionStore:
    store = getattr(request.app.state, "store", None)
    if store is None:
        raise HTTPException(503, "session storage is not available")
    return store


def _key_ok(request: Request, key: str | None) -> bool:
    return key_matches(key, request.app.state.settings.access_key)


def _may_list(request: Request, key: str | None) -> bool:
    """The list needs the access key when one is set; without one the server only
    listens on loopback (Settings.check_network_exposure), and so do we."""
    if request.app.state.settings.access_key:
        return _key_ok(request, key)
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


async def _readable(request: Request, session_id: str, token: str | None,
                    key: str | None) -> dict[str, Any]:
    store = _store(request)
    allowed = _key_ok(request, key) or await store.check_access(session_id, token)
    session = await store.get_session(session_id) if allowed else None
    if session is None:
        raise HTTPException(404, "session not found")
    return session


def _detail(request: Request, session: dict[str, Any]) -> dict[str, Any]:
    """The stored session plus what the review page needs: model answers from the bank,
    an audio URL per recorded turn (the caller adds its own credential), each word's
    delivery marks."""
    detail = with_bank(session, getattr(request.app.state, "bank", None))
    base = f"/api/sessions/{quote(session['id'], safe='')}/turns"
    detail["turns"] = [
        {k: v for k, v in turn.items() if k != "audio_path"}
        | {"audio_url": f"{base}/{quote(turn['turn_id'], safe='')}/audio"
           if turn.get("audio_path") else None,
           "words": _marked(turn.get("words"), turn.get("segments"))}
        for turn in session["turns"]
    ]
    return detail


def _marked(words: Any, segments: Any) -> Any:
    """Stored words with their delivery marks, worked out on every read (so sessions
    stored before there were marks get them, and a change of the rules reaches all)."""
    if not isinstance(words, list) or not words:
        return words
    spans = [s for s in segments if isinstance(s, list | tuple)] if isinstance(segments, list) else []
    marks = mark_words([str(w.get("word", "")) for w in words],
                       [float(w.get("start", 0.0)) for w in words], spans)
    return [w | {"marks": m.marks, "pause_before_s": m.pause_before_s}
            for w, m in zip(words, marks, strict=True)]


@router.get("/api/sessions")
async def list_sessions(request: Request, key: str | None = Query(default=None),
                        limit: int = Query(default=100, ge=1, le=1000)) -> Response:
    if not _may_list(request, key):
        raise HTTPException(403, "the access key is required (?key=...)")
    store = _store(request)
    rows = await store.list_sessions(limit)
    for row in rows:
        grant = await store.review_grant(row["id"])
        row["review_url"] = f"/review/{quote(row['id'], safe='')}?token={grant}"
        row["api_url"] = f"/api/sessions/{quote(row['id'], safe='')}?token={grant}"
    return _json({"count": len(rows), "sessions": rows})


@router.get("/api/sessions/{session_id}")
async def get_session(request: Request, session_id: str,
                      token: str | None = Query(default=None),
                      key: str | None = Query(default=None)) -> Response:
    session = await _readable(request, session_id, token, key)
    return _json(_detail(request, session))


@router.get("/api/sessions/{session_id}/turns/{turn_id}/audio")
async def turn_audio(request: Request, session_id: str, turn_id: str,
                     token: str | None = Query(default=None),
                     key: str | None = Query(default=None)) -> FileResponse:
    session = await _readable(request, session_id, token, key)
    turn = next((t for t in session["turns"] if t["turn_id"] == turn_id), None)
    path = resolve_audio(_store(request).data_dir, turn["audio_path"]) \
        if turn and turn.get("audio_path") else None
    if path is None:
        raise HTTPException(404, "no recording of that turn")
    # FileResponse answers Range requests (206 + Content-Range), so the page can seek.
    return FileResponse(path, media_type="audio/wav",
                        headers={"Cache-Control": "private, max-age=3600",
                                 "Referrer-Policy": "no-referrer"})


@router.get("/api/sessions/{session_id}/export")
async def export_session(request: Request, session_id: str,
                         format: Literal["md", "json"] = Query(default="md"),
                         token: str | None = Query(default=None),
                         key: str | None = Query(default=None)) -> Response:
    session = _detail(request, await _readable(request, session_id, token, key))
    if format == "md":
        body, media = to_markdown(session), "text/markdown; charset=utf-8"
    else:
        body, media = to_json(session), "application/json"
    filename = f"viva-{session['id']}.{format}"
    return Response(body, media_type=media, headers=PRIVATE_HEADERS | {
        "Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/review", include_in_schema=False)
async def sessions_page(request: Request, key: str | None = Query(default=None)) -> FileResponse:
    if not _may_list(request, key):
        raise HTTPException(403, "the access key is required (/review?key=...)")
    return FileResponse(CLIENT_DIR / "sessions.html", headers=PRIVATE_HEADERS)


@router.get("/review/{session_id}", include_in_schema=False)
async def review_page(request: Request, session_id: str,
                      token: str | None = Query(default=None),
                      key: str | None = Query(default=None)) -> FileResponse:
    await _readable(request, session_id, token, key)
    return FileResponse(CLIENT_DIR / "review.html", headers=PRIVATE_HEADERS)


def _json(data: Any) -> JSONResponse:
    return JSONResponse(data, headers=PRIVATE_HEADERS)
