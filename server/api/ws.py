"""The /ws endpoint: budgets and session slots, then frames adapted to a Conversation.

Who may connect at all (`Host`, the access key, `Origin`) is decided before this runs,
by `server.api.guard.GuardMiddleware`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect
from pydantic import BaseModel
from starlette.websockets import WebSocketDisconnected, WebSocketState

from server import protocol as p
from server.config import Settings
from server.live import LiveSessions, SessionSlots, Slot, TokenBucket
from server.session.conversation import Conversation
from server.store import SessionStore

log = logging.getLogger("viva.ws")
router = APIRouter()

#: Typed answers of one session whose replies may be in the works at once; past it a
#: new one is refused, so a flood queues no scoring work that others would wait behind.
MAX_PENDING_REPLIES = 2
#: Microphone audio may arrive this much faster than real time (at 48 kHz, the highest
#: rate allowed), with this many seconds of it at once (a client catching up).
AUDIO_SPEEDUP = 4.0
AUDIO_BURST_S = 8.0
#: A send to a client that has gone (closed right after `stop`, say) is dropped: the
#: receive loop sees the disconnect and ends the session; the session's own work (the
#: summary already stored) is not aborted half way by the failed send.
GONE = (WebSocketDisconnect, WebSocketDisconnected)
MAX_KEPT_BUDGETS = 4096
#: At most one `rate_limited` error a second: a flood is not answered with a flood.
REPORT_EVERY_S = 1.0


class Budget:
    """One session's allowance: messages per second, typed characters per minute,
    audio bytes per second. Token buckets, so a normal burst always passes."""

    def __init__(self, settings: Settings) -> None:
        rate = settings.rate_messages_per_s
        self.messages = TokenBucket(rate, 2 * rate)
        per_min = settings.rate_text_chars_per_min
        # Half a minute's worth at once (a flood's first burst is what others feel),
        # and one longest allowed text always fits, whatever the setting.
        self.chars = TokenBucket(per_min / 60, max(per_min / 2, p.MAX_TEXT_CHARS))
        audio_rate = p.MAX_SAMPLE_RATE * 2 * AUDIO_SPEEDUP
        self.audio = TokenBucket(audio_rate, p.MAX_SAMPLE_RATE * 2 * AUDIO_BURST_S)
        self._reported_at = -REPORT_EVERY_S

    def should_report(self) -> bool:
        now = time.monotonic()
        if now - self._reported_at < REPORT_EVERY_S:
            return False
        self._reported_at = now
        return True


def session_budget(budgets: dict[str, Budget], session_id: str, current: Budget) -> Budget:
    """The session's budget, kept across its connections: reconnecting with `resume`
    must not refill it. The oldest are dropped past MAX_KEPT_BUDGETS."""
    kept = budgets.get(session_id)
    if kept is not None:
        return kept
    if len(budgets) >= MAX_KEPT_BUDGETS:
        for old in list(budgets)[: MAX_KEPT_BUDGETS // 2]:
            del budgets[old]
    budgets[session_id] = current
    return current


def limited(what: str) -> p.ProtocolError:
    return p.ProtocolError("rate_limited", f"{what}; this one was dropped, slow down")


class SessionSlot:
    """This connection's session slot: none until its parsed `start` claims one (a
    socket that never starts a session holds none), handed back when it ends."""

    def __init__(self, slots: SessionSlots, live: LiveSessions, max_sessions: int) -> None:
        self.slots = slots
        self.live = live
        self.max_sessions = max_sessions
        self.slot: Slot | None = None

    @property
    def held(self) -> bool:
        return self.slot is not None

    def claim(self, start: p.Start) -> None:
        """A slot for this `start`, or the fatal `busy`. A resume of a session live on
        another connection may pass a full server: that connection's slot is about to
        come back."""
        takeover = start.resume is not None and \
            self.live.holder(start.resume.session_id) is not None
        self.slot = self.slots.claim(over_limit=takeover)
        if self.slot is None:
            raise p.ProtocolError("busy", f"the server is at its limit of {self.max_sessions} "
                                  "sessions", fatal=True)

    def release(self) -> None:
        if self.slot is not None:
            self.slot.release()
            self.slot = None


async def session_slot(websocket: WebSocket) -> AsyncIterator[SessionSlot]:
    """The connection's `SessionSlot`, released once the endpoint has returned (after
    the conversation's shutdown, so a new session cannot start before this one's
    writes are done)."""
    state = websocket.app.state
    slot = SessionSlot(state.slots, state.live, state.settings.max_sessions)
    try:
        yield slot
    finally:
        slot.release()


def session_store(websocket: WebSocket) -> SessionStore | None:
    """The store, where the app has one (sessions run without storage otherwise)."""
    store: SessionStore | None = getattr(websocket.app.state, "store", None)
    return store


@router.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket,
                             slot: Annotated[SessionSlot, Depends(session_slot)],
                             store: Annotated[SessionStore | None, Depends(session_store)]
                             ) -> None:
    state = websocket.app.state
    settings: Settings = state.settings
    await websocket.accept()

    async def send_json(message: BaseModel) -> None:
        with contextlib.suppress(*GONE):
            await websocket.send_text(message.model_dump_json())

    async def send_bytes(data: bytes) -> None:
        with contextlib.suppress(*GONE):
            await websocket.send_bytes(data)

    async def close(code: int) -> None:
        if websocket.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(*GONE):
                await websocket.close(code=code)

    conversation = Conversation(
        engines=state.engines, scheduler=state.scheduler, bank=state.bank, settings=settings,
        send_json=send_json, send_bytes=send_bytes, close=close,
        scorer=state.scorer, store=store,
        llm=getattr(state, "llm", None), live=state.live, lane=state.lane,
    )
    budget = Budget(settings)
    start_by = time.monotonic() + settings.start_timeout_s
    try:
        while True:
            try:
                # A socket that never starts a session holds a connection for nothing.
                wait = None if conversation.started else max(0.0, start_by - time.monotonic())
                message = await asyncio.wait_for(websocket.receive(), wait)
            except TimeoutError:
                await send_json(p.Error(code="not_started", fatal=True, message=f"no 'start' "
                                        f"within {settings.start_timeout_s:g} s"))
                await close(1008)
                break
            if message["type"] == "websocket.disconnect":
                break
            try:
                if message.get("bytes") is not None:
                    data: bytes = message["bytes"]
                    if len(data) > p.MAX_FRAME_BYTES:
                        raise p.ProtocolError("too_large", f"binary frame of {len(data)} bytes "
                                              f"is over {p.MAX_FRAME_BYTES}")
                    if not budget.audio.take(len(data)):
                        raise limited("audio is arriving faster than it can be spoken")
                    await conversation.handle_audio(data)
                elif message.get("text") is not None:
                    raw: str = message["text"]
                    # The transport takes frames far larger than this (server/serving.py),
                    # so that an oversized one is answered here and the session goes on.
                    if len(raw) > p.MAX_FRAME_BYTES or \
                            len(raw.encode("utf-8", "surrogatepass")) > p.MAX_FRAME_BYTES:
                        raise p.ProtocolError("too_large", "text frame is over 64 KiB")
                    if not budget.messages.take():
                        raise limited(f"more than {settings.rate_messages_per_s:g} messages "
                                      "a second")
                    parsed = p.parse_client_message(raw)
                    if isinstance(parsed, p.Text):
                        if conversation.replies_pending >= MAX_PENDING_REPLIES:
                            raise limited("the replies to your last answers are still being "
                                          "worked out")
                        if not budget.chars.take(len(parsed.text)):
                            raise limited(f"more than {settings.rate_text_chars_per_min} "
                                          "characters of text a minute")
                    if isinstance(parsed, p.Start) and not slot.held and \
                            not conversation.started:
                        slot.claim(parsed)
                        try:
                            await conversation.handle_message(parsed)
                        finally:
                            if not conversation.started:
                                slot.release()
                        if conversation.started:
                            budget = session_budget(state.budgets, conversation.session_id,
                                                    budget)
                    else:
                        await conversation.handle_message(parsed)
            except p.ProtocolError as exc:
                if exc.code == "rate_limited" and not budget.should_report():
                    continue
                await send_json(exc.to_message())
                if exc.fatal:
                    await close(1008 if exc.code == "bad_session" else 1013)
                    break
            if conversation.closed:
                break
    except WebSocketDisconnect:
        pass
    except Exception as exc:  # never let one session's fault reach the server
        log.exception("session %s crashed", conversation.session_id)
        try:
            await send_json(p.Error(code="internal", message=f"internal error: "
                                    f"{type(exc).__name__}", fatal=True))
            await close(1011)
        except Exception:
            pass
    finally:
        await conversation.shutdown()

