"""Stored sessions over HTTP: list, detail, audio, export, and the review pages.

One rule for every per-session route: without that session's token (or its review
grant, or the server's access key) the answer is 404, exactly as for a session
that does not exist, so a URL reveals nothing about which sessions exist. The rule
is one dependency, `readable_session`; the list's rule is `ListAccess`.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, Response

from server.api.guard import key_matches
from server.api.http import CLIENT_DIR
from server.store import SessionStore
from server.store.audio import resolve_audio
from server.store.export import review, to_json, to_markdown
from server.store.records import SessionLink, SessionList, SessionReview, StoredSession

router = APIRouter()

#: Session data is private: never cached, never leaked through a Referer header.
PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def session_store(request: Request) -> SessionStore:
    store: SessionStore | None = getattr(request.app.state, "store", None)
    if store is None:
        raise HTTPException(503, "session storage is not available")
    return store


Store = Annotated[SessionStore, Depends(session_store)]
AccessKey = Annotated[str | None, Query(description="the server's access key")]
SessionToken = Annotated[str | None, Query(
    description="the session's token, or its review grant from the sessions list")]


def _key_ok(request: Request, key: str | None) -> bool:
    return key_matches(key, request.app.state.settings.access_key)


class ListAccess:
    """The list needs the access key when one is set; without one the server only
    listens on loopback (Settings.check_network_exposure), and so does the list."""

    def __init__(self, where: str) -> None:
        self.refusal = f"the access key is required ({where}?key=...)"

    def __call__(self, request: Request, key: AccessKey = None) -> None:
        if request.app.state.settings.access_key:
            allowed = _key_ok(request, key)
        else:
            host = request.client.host if request.client else ""
            try:
                allowed = ipaddress.ip_address(host).is_loopback
            except ValueError:
                allowed = host == "localhost"
        if not allowed:
            raise HTTPException(403, self.refusal)


async def readable_session(request: Request, store: Store, session_id: str,
                           token: SessionToken = None, key: AccessKey = None) -> StoredSession:
    """The stored session, for its token, its review grant or the access key; else 404."""
    allowed = _key_ok(request, key) or await store.check_access(session_id, token)
    session = await store.read_session(session_id) if allowed else None
    if session is None:
        raise HTTPException(404, "session not found")
    return session


Readable = Annotated[StoredSession, Depends(readable_session)]


def reviewed_session(request: Request, session: Readable) -> SessionReview:
    """The readable session plus the bank's model answers and an audio URL per turn."""
    return review(session, getattr(request.app.state, "bank", None))


Reviewed = Annotated[SessionReview, Depends(reviewed_session)]


def private(response: Response) -> None:
    response.headers.update(PRIVATE_HEADERS)


@router.get("/api/sessions", response_model=SessionList,
            dependencies=[Depends(ListAccess("")), Depends(private)])
async def list_sessions(store: Store, limit: int = Query(default=100, ge=1, le=1000)
                        ) -> SessionList:
    rows = []
    for row in await store.list_sessions(limit):
        grant = await store.review_grant(row.id)
        path = quote(row.id, safe="")
        rows.append(SessionLink(**row.model_dump(), review_url=f"/review/{path}?token={grant}",
                                api_url=f"/api/sessions/{path}?token={grant}"))
    return SessionList(count=len(rows), sessions=rows)


@router.get("/api/sessions/{session_id}", response_model=SessionReview,
            dependencies=[Depends(private)])
async def get_session(session: Reviewed) -> SessionReview:
    return session


@router.get("/api/sessions/{session_id}/turns/{turn_id}/audio",
            response_class=FileResponse, responses={200: {"content": {"audio/wav": {}}}})
async def turn_audio(store: Store, session: Readable, turn_id: str) -> FileResponse:
    turn = next((t for t in session.turns if t.turn_id == turn_id), None)
    path = resolve_audio(store.data_dir, turn.audio_path) \
        if turn is not None and turn.audio_path else None
    if path is None:
        raise HTTPException(404, "no recording of that turn")
    # FileResponse answers Range requests (206 + Content-Range), so the page can seek.
    return FileResponse(path, media_type="audio/wav",
                        headers={"Cache-Control": "private, max-age=3600",
                                 "Referrer-Policy": "no-referrer"})


@router.get("/api/sessions/{session_id}/export", response_class=Response,
            responses={200: {"content": {"text/markdown": {}, "application/json": {}}}})
async def export_session(session: Reviewed,
                         format: Literal["md", "json"] = Query(default="md")) -> Response:
    if format == "md":
        body, media = to_markdown(session), "text/markdown; charset=utf-8"
    else:
        body, media = to_json(session), "application/json"
    filename = f"viva-{session.id}.{format}"
    return Response(body, media_type=media, headers=PRIVATE_HEADERS | {
        "Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/review", include_in_schema=False, dependencies=[Depends(ListAccess("/review"))])
async def sessions_page() -> FileResponse:
    return FileResponse(CLIENT_DIR / "sessions.html", headers=PRIVATE_HEADERS)


@router.get("/review/{session_id}", include_in_schema=False)
async def review_page(session: Readable) -> FileResponse:
    return FileResponse(CLIENT_DIR / "review.html", headers=PRIVATE_HEADERS)
