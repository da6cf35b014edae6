"""Plain HTTP routes: the page, health, the question bank."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel

from server.bank import CATEGORIES, Category, Difficulty
from server.resources import shipped_dir

CLIENT_DIR: Path = shipped_dir("client")
router = APIRouter()


class Health(BaseModel):
    status: str
    #: What `Engines.describe()` says: model names, sample rate, load seconds.
    models: dict[str, object]
    llm: str | None
    questions: int
    active_sessions: int
    max_sessions: int
    ready_seconds: float | None


class QuestionCard(BaseModel):
    """A bank question as the client's picker shows it (no model answer, no follow-ups)."""

    id: str
    category: Category
    difficulty: Difficulty
    prompt: str
    prompt_es: str
    hint: str
    tags: list[str]
    vocabulary: list[str]
    key_points: list[str]


class QuestionList(BaseModel):
    count: int
    categories: list[str]
    questions: list[QuestionCard]


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


@router.get("/healthz", response_model=Health)
async def healthz(request: Request) -> Health:
    state = request.app.state
    return Health(
        status="ok",
        models=state.engines.describe(),
        llm=state.settings.llm_model if state.settings.llm_enabled else None,
        questions=len(state.bank),
        active_sessions=state.slots.active,
        max_sessions=state.settings.max_sessions,
        ready_seconds=state.ready_seconds,
    )


@router.get("/api/questions", response_model=QuestionList)
async def questions(
    request: Request,
    category: str | None = Query(default=None),
    difficulty: str | None = Query(default=None),
) -> QuestionList:
    bank = request.app.state.bank
    if category is not None and category not in CATEGORIES:
        raise HTTPException(400, f"unknown category {category!r}; one of {', '.join(CATEGORIES)}")
    if difficulty is not None and difficulty not in ("easy", "medium", "hard"):
        raise HTTPException(400, "difficulty is one of easy, medium, hard")
    chosen = bank.filter([category] if category else None, difficulty)
    return QuestionList(
        count=len(chosen),
        categories=sorted({q.category for q in bank.questions}),
        questions=[QuestionCard(**q.model_dump(include=set(QuestionCard.model_fields) -
                                               {"key_points"}),
                                key_points=[kp.text for kp in q.key_points])
                   for q in chosen],
    )
