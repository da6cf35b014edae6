"""The /ws endpoint: checks the connection, then adapts frames to a Conversation."""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel
from starlette.websockets import WebSocketState

from server import protocol as p
from server.conversation import Conversation

log = logging.getLogger("viva.ws")
router = APIRouter()


def origin_allowed(websocket: WebSocket, allowed: list[str]) -> bool:
    """Same origin by default; non-browser clients send no Origin and are let through."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    if origin in allowed or "*" in allowed:
        return True
    host = websocket.headers.get("host", "")
    return urlsplit(origin).netloc.lower() == host.lower()


@router.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    state = websocket.app.state
    settings = state.settings
    if settings.access_key and not secrets.compare_digest(
        websocket.query_params.get("key", ""), settings.access_key
    ):
        await websocket.close(code=1008, reason="access key required")
        return
    if not origin_allowed(websocket, settings.allowed_origins):
        await websocket.close(code=1008, reason="origin not allowed")
        return
    await websocket.accept()

    async def send_json(message: BaseModel) -> None:
        await websocket.send_text(message.model_dump_json())

    async def close(code: int) -> None:
        if websocket.application_state == WebSocketState.CONNECTED:
            await websocket.close(code=code)

    conversation = Conversation(
        engines=state.engines, scheduler=state.scheduler, bank=state.bank, settings=settings,
        send_json=send_json, send_bytes=websocket.send_bytes, close=close,
        scorer=state.scorer, store=getattr(state, "store", None),
        llm=getattr(state, "llm", None),
    )
    counted = False
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            try:
                if message.get("bytes") is not None:
                    data: bytes = message["bytes"]
                    if len(data) > p.MAX_FRAME_BYTES:
                        raise p.ProtocolError("too_large", f"binary frame of {len(data)} bytes "
                                              f"is over {p.MAX_FRAME_BYTES}")
                    await conversation.handle_audio(data)
                elif message.get("text") is not None:
                    raw: str = message["text"]
                    if len(raw.encode("utf-8", "surrogatepass")) > p.MAX_FRAME_BYTES:
                        raise p.ProtocolError("too_large", "text frame is over 64 KiB")
                    if not counted and '"start"' in raw and not conversation.started:
                        if state.active_sessions >= settings.max_sessions:
                            raise p.ProtocolError("busy", f"the server is at its limit of "
                                                  f"{settings.max_sessions} sessions", fatal=True)
                        state.active_sessions += 1
                        counted = True
                        try:
                            await conversation.handle_text(raw)
                        finally:
                            if not conversation.started:
                                state.active_sessions -= 1
                                counted = False
                    else:
                        await conversation.handle_text(raw)
            except p.ProtocolError as exc:
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
        if counted:
            state.active_sessions -= 1
