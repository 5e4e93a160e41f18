"""The token gate and the headers every response carries.

Like Jupyter's server: the URL printed at start holds a random token; a request that gives
it (``?token=``, on any page) gets a ``HttpOnly; SameSite=Strict`` cookie, so links inside
the dashboard need no token; anything else gets 401. Each request is logged on stderr as
one line, without its query string (which may hold the token).
"""

from __future__ import annotations

import hmac
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, parse_qsl, quote, urlencode

COOKIE = "autoagent_dashboard"
# the pages' policy: their own script and styles only, nothing from elsewhere
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            "media-src 'self'; frame-src 'self'; connect-src 'self'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'self'")
UNAUTHORIZED = (b"401: this dashboard needs its token: open the URL that "
                b"'autoagent dashboard' printed on its terminal\n")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _cookie_token(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:
                continue
            if COOKIE in jar:
                return jar[COOKIE].value
    return ""


class TokenGate:
    """ASGI middleware: 401 without the token; security headers on every response."""

    def __init__(self, app: ASGIApp, token: str, log: Callable[[str], None] | None = None
                 ) -> None:
        self.app = app
        self.token = token
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))

    def _allowed(self, scope: Scope) -> tuple[bool, bool]:
        """(allowed, set the cookie)."""
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = query.get("token", [""])[0]
        if given and hmac.compare_digest(given.encode(), self.token.encode()):
            return True, True
        cookie = _cookie_token(scope)
        return bool(cookie) and hmac.compare_digest(cookie.encode(), self.token.encode()), False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        allowed, set_cookie = self._allowed(scope)
        method = scope.get("method", "GET")
        path = "".join(c if c.isprintable() else "?" for c in scope.get("path", ""))[:300]
        status_seen: list[int] = []

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_seen.append(int(message["status"]))
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", PAGE_CSP.encode()))
                headers += [(b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"no-referrer"),
                            (b"cache-control", b"no-store")]
                if b"x-frame-options" not in names:
                    headers.append((b"x-frame-options", b"SAMEORIGIN"))
                if set_cookie:
                    headers.append((b"set-cookie", (
                        f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict"
                    ).encode()))
                message["headers"] = headers
                self.log(f"autoagent dashboard: {method} {path} {message['status']}")
            await send(message)

        if not allowed:
            await send_with_headers({"type": "http.response.start", "status": 401,
                                     "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                                 (b"content-length",
                                                  str(len(UNAUTHORIZED)).encode())]})
            await send({"type": "http.response.body", "body": UNAUTHORIZED})
            return
        if set_cookie and _is_navigation(scope):
            # a browser opening the printed URL: set the cookie and drop the token from the
            # address bar (and so from history, bookmarks and screenshots)
            query = [(k, v) for k, v in parse_qsl(scope.get("query_string", b"").decode(
                "latin-1"), keep_blank_values=True) if k != "token"]
            target = quote(scope.get("path", "/")) + (f"?{urlencode(query)}" if query else "")
            await send_with_headers({"type": "http.response.start", "status": 303,
                                     "headers": [(b"location", target.encode("latin-1")),
                                                 (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:  # a bug or an unreadable file: one line, never a traceback
            self.log(f"autoagent dashboard: error: {method} {path}: {type(exc).__name__}")
            if not status_seen:
                body = b"500: the dashboard could not show this page\n"
                await send_with_headers({"type": "http.response.start", "status": 500,
                                         "headers": [(b"content-type", b"text/plain"),
                                                     (b"content-length",
                                                      str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})


def _is_navigation(scope: Scope) -> bool:
    """A browser's top-level page load (it sends ``Sec-Fetch-Mode: navigate``)."""
    headers = dict(scope.get("headers", []))
    return (scope.get("method") == "GET" and headers.get(b"sec-fetch-mode") == b"navigate"
            and headers.get(b"sec-fetch-dest") == b"document")
