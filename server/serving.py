"""How uvicorn is run: transport limits and timeouts in one place (CLI, tests, bench)."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

#: The largest WebSocket frame the transport takes. Far above the protocol's 64 KiB,
#: so that an oversized frame reaches the endpoint and gets a non-fatal `too_large`
#: instead of a 1009 close; past this the transport closes (a client that is not
#: even trying).
WS_MAX_BYTES = 16 * 1024 * 1024
#: A client has this long to finish sending a request's headers (and, between
#: keep-alive requests, to start the next one): a half-sent request holds a
#: connection for nothing.
HEADER_TIMEOUT_S = 10.0
KEEP_ALIVE_S = 5
#: The largest request head h11 buffers.
MAX_HEADER_BYTES = 16 * 1024


class TimedH11Protocol(H11Protocol):
    """h11 with a deadline on every request's headers (uvicorn has none of its own)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_header_timer()

    def _arm_header_timer(self) -> None:
        # The scope is replaced once a request's headers are complete: still the same
        # one when the timer fires means no new request arrived in time.
        waiting_on = self.scope
        loop = asyncio.get_running_loop()

        def expire() -> None:
            if self.scope is waiting_on and not self.transport.is_closing():
                self.transport.close()

        loop.call_later(HEADER_TIMEOUT_S, expire)


def uvicorn_options() -> dict[str, Any]:
    return {"ws_max_size": WS_MAX_BYTES, "http": TimedH11Protocol,
            "timeout_keep_alive": KEEP_ALIVE_S, "h11_max_incomplete_event_size": MAX_HEADER_BYTES}


def uvicorn_config(app: Any, host: str, port: int, log_level: str = "info") -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, **uvicorn_options())
