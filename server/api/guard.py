"""Who may talk to the server at all: `Host`, the access key, `Origin`; one ASGI middleware.

Why `Host`: on a loopback bind without a key, any web page the candidate visits can
point its own name at 127.0.0.1 (DNS rebinding) and then read every interview as
"same origin". The browser still sends that name in `Host`, so a server that
answers only to its own names closes the hole. The check runs before routing, so it
covers every route, the static files and /ws alike.

A refused HTTP request gets 400 or 403 with a one-line body and nothing else; a
refused /ws is accepted and closed at once with 1008 and the reason, as the protocol
says (a browser shows a failed handshake only as "error", with no reason at all).
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
from typing import Any
from urllib.parse import parse_qs, urlsplit

from server.config import Settings

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})
#: FastAPI's generated API pages: they describe every route, so a keyed server keys them.
DOC_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})

Scope = dict[str, Any]


def host_name(value: str) -> str | None:
    """The name part of a `Host` header or an origin's netloc, lower case; None if garbled."""
    try:
        name = urlsplit("//" + value.strip()).hostname
    except ValueError:
        return None
    return name.rstrip(".") if name else None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def key_matches(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison on bytes: `compare_digest` refuses non-ASCII `str`
    (that was `/ws?key=%C3%A9` answering 500)."""
    if not expected or given is None:
        return False
    return secrets.compare_digest(given.encode("utf-8", "surrogatepass"),
                                  expected.encode("utf-8", "surrogatepass"))


class Guard:
    """The names this server answers to, worked out once from the settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        names = set(LOOPBACK_NAMES)
        bind = settings.host.strip("[]").lower()
        self.any_host = "*" in settings.allowed_hosts
        # Bound to every interface, clients reach the server by any of its addresses;
        # an IP literal in `Host` cannot be a rebound name, so those are let through.
        self.any_ip = bind in WILDCARD_BINDS
        if self.any_ip:
            hostname = socket.gethostname().lower()
            names |= {hostname, f"{hostname}.local"}
        else:
            names.add(bind)
        for origin in settings.allowed_origins:
            if origin != "*":
                name = host_name(urlsplit(origin).netloc or origin)
                if name:
                    names.add(name)
        names |= {n for n in (host_name(h) for h in settings.allowed_hosts if h != "*") if n}
        self.names = frozenset(names)

    def host_allowed(self, header: str | None) -> bool:
        # No `Host` at all is an HTTP/1.0 tool, never a browser, so never a rebinding.
        if header is None or self.any_host:
            return True
        name = host_name(header)
        if name is None:
            return False
        return name in self.names or (self.any_ip and _is_ip(name))

    def origin_allowed(self, origin: str | None, host: str | None) -> bool:
        """Same origin by default; non-browser clients send no Origin and are let through."""
        if origin is None:
            return True
        allowed = self.settings.allowed_origins
        if origin in allowed or "*" in allowed:
            return True
        return urlsplit(origin).netloc.lower() == (host or "").lower()

    def refusal(self, scope: Scope) -> tuple[int, str] | None:
        """(HTTP status, reason) when this request or /ws is refused; None to let it in."""
        headers = _headers(scope)
        if not self.host_allowed(headers.get("host")):
            return 400, "this server does not answer to that host name"
        key = _query(scope).get("key")
        keyed = bool(self.settings.access_key)
        if scope["type"] == "websocket":
            if keyed and not key_matches(key, self.settings.access_key):
                return 403, "access key required"
            if not self.origin_allowed(headers.get("origin"), headers.get("host")):
                return 403, "origin not allowed"
        elif keyed and scope.get("path") in DOC_PATHS and \
                not key_matches(key, self.settings.access_key):
            return 403, "the access key is required (?key=...)"
        return None


def _headers(scope: Scope) -> dict[str, str]:
    # latin-1 is how ASGI servers hand headers over; it never fails on any byte.
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _query(scope: Scope) -> dict[str, str]:
    raw = scope.get("query_string", b"").decode("latin-1")
    return {k: v[0] for k, v in parse_qs(raw, errors="replace").items()}


class GuardMiddleware:
    """Applies `Guard.refusal` to every HTTP request and every /ws before the app sees it."""

    def __init__(self, app: Any, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refused = self.guard.refusal(scope)
        if refused is None:
            await self.app(scope, receive, send)
            return
        status, reason = refused
        if scope["type"] == "websocket":
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": 1008, "reason": reason})
            return
        body = reason.encode() + b"\n"
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store")]})
        await send({"type": "http.response.body", "body": body})
