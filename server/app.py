"""The application factory: `create_app(settings)`; engines load once in the lifespan."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from server.api import http, sessions, ws
from server.api.guard import Guard, GuardMiddleware
from server.api.http import CLIENT_DIR
from server.bank import QuestionBank, load_bank
from server.config import Settings
from server.engines.judge import LazyPairJudge
from server.engines.llm import ChatLLM
from server.engines.registry import Engines, load_engines
from server.engines.scheduler import TranscriptionScheduler
from server.engines.tts import SpokenCache
from server.interviewer.policy import opening_phrases
from server.live import FairLane, LiveSessions, SessionSlots
from server.prewarm import bank_sentences, prewarm
from server.scoring.content import ContentScorer
from server.store import open_store
from server.store.check import check_database

log = logging.getLogger("viva")


def create_app(settings: Settings | None = None, engines: Engines | None = None,
               bank: QuestionBank | None = None) -> FastAPI:
    """Build the app. `engines` may be passed in so that tests load the models once."""
    settings = settings or Settings()
    settings.check_network_exposure()
    # The bank is validated here, before any model loads, so a broken file fails fast.
    question_bank = bank or load_bank(settings.questions_dirs)
    # A damaged or missing-but-expected database stops start-up here, in one line,
    # before anything loads (StoreError; `viva serve` prints it and exits 2).
    check_database(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        started = time.perf_counter()
        # The database first: one that cannot open fails in a second, not after the models.
        store = open_store(settings)
        await store.init()
        app.state.store = store
        loaded = engines if engines is not None else await asyncio.to_thread(load_engines,
                                                                             settings)
        # On the engines' lane: transcription and synthesis share one ordered CPU lane.
        scheduler = TranscriptionScheduler(loaded.stt, lane=loaded.lane)
        await scheduler.start()
        app.state.engines = loaded
        app.state.scheduler = scheduler
        app.state.scorer = ContentScorer.of(loaded.embedder, judge=LazyPairJudge())
        app.state.llm = None
        if settings.llm_enabled:
            assert settings.llm_base_url and settings.llm_model
            app.state.llm = ChatLLM(settings.llm_base_url, settings.llm_model,
                                    settings.llm_api_key, settings.llm_timeout_s,
                                    settings.llm_json_mode, settings.llm_max_tokens)
        warm = getattr(loaded.tts, "warm", None)
        if warm is not None:  # the openings of replies, ready before the first reply
            app.state.warming = asyncio.create_task(asyncio.to_thread(
                warm, opening_phrases(), settings.tts_length_scale))
        app.state.prewarm = None
        cache = getattr(loaded.tts, "voice", None)
        if settings.tts_prewarm and isinstance(cache, SpokenCache):
            app.state.prewarm = asyncio.create_task(prewarm(
                cache, bank_sentences(question_bank), settings.tts_length_scale,
                busy=lambda: app.state.slots.active > 0))
        app.state.ready_seconds = round(time.perf_counter() - started, 2)
        log.info("viva ready in %.1f s", app.state.ready_seconds)
        try:
            yield
        finally:
            if app.state.prewarm is not None:
                app.state.prewarm.cancel()
            if app.state.llm is not None:
                await app.state.llm.close()
            await scheduler.close()
            await store.close()

    # The API pages are served by server/api/http.py, so that on a keyed server they
    # pass the key on to /openapi.json (which the guard keys as well).
    app = FastAPI(title="viva", version="0.1.0", lifespan=lifespan, docs_url=None,
                  redoc_url=None)
    app.state.settings = settings
    app.state.bank = question_bank
    app.state.slots = SessionSlots(settings.max_sessions)
    app.state.live = LiveSessions()
    app.state.budgets = {}  # session id -> its api.ws.Budget, across reconnects
    # One scoring job at a time: where the scorer embeds (points without claims) it
    # embeds one text at a time anyway (its own lock, server/scoring/content.py), and a
    # lock is not fair; the lane is, so an ordinary answer waits at most for the one
    # long text already being scored.
    app.state.lane = FairLane(width=1)
    app.state.ready_seconds = None
    app.include_router(http.router)
    app.include_router(ws.router)
    app.include_router(sessions.router)
    app.mount("/static", StaticFiles(directory=CLIENT_DIR), name="static")
    app.add_middleware(GuardMiddleware, guard=Guard(settings))
    return app
