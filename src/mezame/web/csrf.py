"""CSRF protection: a per-session token that every cookie-authenticated unsafe request carries.

A pure ASGI middleware, so request bodies stream through untouched (multipart uploads to
the import API included). The token travels in the `X-CSRF-Token` header (htmx and API
calls from the browser) or, for classic HTML forms, in the urlencoded field `csrf_token`.
Requests authenticated by `Authorization: Bearer` are exempt: without a cookie there is
no ambient authority to forge.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Collection, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_KEY = "csrf_token"
FORM_FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Forms are a few fields; anything bigger must use the header instead of the body.
MAX_FORM_BYTES = 1 << 20

# Builds the 403 response (HTML for pages, JSON for the API) from the request and a reason.
Rejection = Callable[[Request, str], Response]


def csrf_token(session: MutableMapping[str, Any]) -> str:
    """The session's token, created on first use."""
    token = session.get(SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    return str(token)


def new_csrf_token(session: MutableMapping[str, Any]) -> str:
    """Replace the token (on login and logout, so a token seen before login is worthless after)."""
    session[SESSION_KEY] = secrets.token_urlsafe(32)
    return str(session[SESSION_KEY])


class CsrfMiddleware:
    """Reject unsafe requests that ride on the session cookie without the session's token.

    Checked: a session that is logged in (`user_id`), and the paths in `always_protected`
    (the login form, whose token comes from the pre-login session). Needs the session
    middleware outside it.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        reject: Rejection,
        always_protected: Collection[str] = ("/login",),
        exempt_prefixes: Collection[str] = (),
    ) -> None:
        self.app = app
        self.reject = reject
        self.always_protected = frozenset(always_protected)
        # Public endpoints that act on a signed token in the URL, not on the session
        # (one-click unsubscribe): the token is the authority, so there is nothing to forge.
        self.exempt_prefixes = tuple(exempt_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in SAFE_METHODS
            or scope["path"].startswith(self.exempt_prefixes)
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        session: MutableMapping[str, Any] = scope.get("session", {})
        if headers.get("authorization", "").lower().startswith("bearer ") or (
            "user_id" not in session and scope["path"] not in self.always_protected
        ):
            await self.app(scope, receive, send)
            return

        supplied = headers.get(HEADER)
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if supplied is None and content_type == "application/x-www-form-urlencoded":
            body = await _read_body(receive, MAX_FORM_BYTES)
            if body is None:
                await _respond(self.reject, scope, "form too large", receive, send)
                return
            fields = parse_qs(body.decode("latin-1"), max_num_fields=1000)
            supplied = next(iter(fields.get(FORM_FIELD, [])), None)
            receive = _replay(body, receive)

        expected = session.get(SESSION_KEY)
        if not (
            supplied
            and expected
            and hmac.compare_digest(supplied.encode("utf-8"), str(expected).encode("utf-8"))
        ):
            await _respond(self.reject, scope, "CSRF token missing or invalid", receive, send)
            return
        await self.app(scope, receive, send)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None once it exceeds `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the already-read body to the app, then defers to the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _respond(
    reject: Rejection, scope: Scope, reason: str, receive: Receive, send: Send
) -> None:
    await reject(Request(scope, receive), reason)(scope, receive, send)
