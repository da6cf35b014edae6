"""Plain HTTP routes: the page, health, the question bank."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from server.bank import CATEGORIES
from server.resources import shipped_dir

CLIENT_DIR: Path = shipped_dir("client")
router = APIRouter()


@router.get("/", include_in_schema=False)
async def index() -> FileResponse:
    return FileResponse(CLIENT_DIR / "index.html", headers={"Cache-Control": "no-cache"})


def _openapi_url(request: Request) -> str:
    # On a keyed server /openapi.json needs the key too (server/api/guard.py), and these
    # pages fetch it from script: hand the key the page was opened with on to that fetch.
    key = request.query_params.get("key")
    return "/openapi.json" + (f"?key={quote(key, safe='')}" if key else "")


@router.get("/docs", include_in_schema=False)
async def swagger(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(openapi_url=_openapi_url(request), title="viva - API")


@router.get("/redoc", include_in_schema=False)
async def redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(openapi_url=_openapi_url(request), title="viva - API")


@router.get("/healthz")
async def healthz(request: Request) -> dict[str, object]:
    state = request.app.state
    return {
        "status": "ok",
        "models": state.engines.describe(),
        "llm": state.settings.llm_model if state.settings.llm_enabled else None,
        "questions": len(state.bank),
        "active_sessions": state.slots.active,
        "max_sessions": state.settings.max_sessions,
        "ready_seconds": state.ready_seconds,
    }


@router.get("/api/questions")
async def questions(
    request: Request,
    category: str | None = Query(default=None),
    difficulty: str | None = Query(default=None),
) -> dict[str, object]:
    bank = request.app.state.bank
    if category is not None and category not in CATEGORIES:
        raise HTTPException(400, f"unknown category {category!r}; one of {', '.join(CATEGORIES)}")
    if difficulty is not None and difficulty not in ("easy", "medium", "hard"):
        raise HTTPException(400, "difficulty is one of easy, medium, hard")
    chosen = bank.filter([category] if category else None, difficulty)
    return {
        "count": len(chosen),
        "categories": sorted({q.category for q in bank.questions}),
        "questions": [
            q.model_dump(include={"id", "category", "difficulty", "prompt", "tags", "prompt_es",
                                  "hint", "vocabulary"})
            | {"key_points": [kp.text for kp in q.key_points]}
            for q in chosen
        ],
    }
