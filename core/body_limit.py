"""Request bodies capped per route before anything spools them.

Django spools a request body to memory or a temporary file before any view runs, and its own
limits (DATA_UPLOAD_MAX_MEMORY_SIZE, the views' Content-Length checks) act only after that:
without a cap here, one client can make a server process write gigabytes to its temporary
folder with a chunked body, which carries no Content-Length to refuse. This ASGI middleware
sits in front of the HTTP handler and counts the body as the server delivers it:

* a declared Content-Length over the route's limit is answered 413 without reading a byte;
* a body (chunked or lying about its length) that grows past the limit is answered 413 as soon
  as the limit is crossed: the handler behind is told the client went away (so it stores
  nothing and answers nothing), and no more of the body is read.

Each route's limit is that of the largest file it takes plus room for the multipart envelope,
for requests that carry credentials (an API key or a session cookie); every other route or
request, site forms included, gets ARENA_MAX_BODY_BYTES. In production the reverse
proxy should refuse the same sizes first (docs/security.md, "Request bodies": nginx's
`client_max_body_size`), so that oversized bodies never reach a server process at all.
"""

import json
from collections.abc import Awaitable, Callable
from functools import lru_cache

from arena_client.sealing import ENVELOPE_OVERHEAD
from django.conf import settings
from django.urls import Resolver404, resolve

from core.api.tools import MULTIPART_SLACK_BYTES

# Routes that take a predictions file (sealed), by URL name.
PREDICTION_ROUTES = frozenset({"api-model-submissions", "my-model-upload"})
# Routes that take a sponsor's data file (training/validation data, live data, targets).
DATASET_ROUTES = frozenset(
    {
        "api-datasets",
        "api-round-live-data",
        "api-round-target",
        "tournament-create",
        "dashboard-dataset-upload",
        "dashboard-live-upload",
        "dashboard-target-upload",
    }
)

Scope = dict
Message = dict
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


# No route of ours is longer; longer paths (an HTTP parser accepts ~64 KiB) are neither
# resolved nor cached, so a client cannot fill the cache with them.
MAX_ROUTED_PATH = 512


@lru_cache(maxsize=4096)  # bounded: random paths from a client only evict each other
def _route_name(path: str) -> str | None:
    try:
        return resolve(path).url_name
    except Resolver404:
        return None


def body_limit_for(path: str, *, credentials: bool = True) -> int:
    """The largest request body, in bytes, that `path` accepts. Without `credentials` (no
    API key, no session cookie) no upload is possible, so only the default applies: an
    anonymous client cannot make a server process spool a data file's worth of body."""
    name = _route_name(path) if credentials and len(path) <= MAX_ROUTED_PATH else None
    if name in PREDICTION_ROUTES:
        return settings.ARENA_MAX_PREDICTION_BYTES + ENVELOPE_OVERHEAD + MULTIPART_SLACK_BYTES
    if name in DATASET_ROUTES:
        return settings.ARENA_MAX_DATASET_BYTES + MULTIPART_SLACK_BYTES
    return settings.ARENA_MAX_BODY_BYTES


def _has_credentials(scope: Scope) -> bool:
    """An Authorization header or a session cookie: a request that could be an upload. (Both
    are checked properly by the view; this only decides which limit may apply.)"""
    for name, value in scope.get("headers", ()):
        lowered = name.lower()
        if lowered == b"authorization":
            return True
        if lowered == b"cookie" and settings.SESSION_COOKIE_NAME.encode() in value:
            return True
    return False


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length itself
    return None


def too_large_response(path: str, limit: int) -> tuple[bytes, bytes]:
    """(content type, body) of the 413 answer: the API's error shape under /api/, plain text
    for the site's pages."""
    message = f"the request body is larger than this route's limit of {limit:,} bytes"
    if path.startswith("/api/"):
        body = {"error": {"code": "too_large", "message": message, "details": {"limit": limit}}}
        return b"application/json", json.dumps(body).encode()
    return b"text/plain; charset=utf-8", (message + "\n").encode()


class BodyLimit:
    """ASGI middleware: 413 for a body over its route's limit, reading at most the limit."""

    def __init__(self, app: ASGIApp, limit_for: Callable[..., int] = body_limit_for) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        limit = self.limit_for(path, credentials=_has_credentials(scope))
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            return await self._refuse(send, path, limit)

        received = 0
        refused = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    await self._refuse(send, path, limit)
                    # To the handler the client has gone: it stops reading and answers nothing.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counted_receive, guarded_send)

    @staticmethod
    async def _refuse(send: Send, path: str, limit: int) -> None:
        content_type, body = too_large_response(path, limit)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
