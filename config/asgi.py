"""ASGI entry point: HTTP through Django's WSGI application, websockets through Channels.

HTTP: every middleware and view here is synchronous. Django's ASGI handler runs such a
project in async mode, where each middleware hook, the request signals and the view cross
from the event loop to a thread and back (about fifteen hops per request) on a new thread per
request; measured, that nearly doubled the server's instructions per upload
(docs/performance.md). `WsgiOnThreads` instead reads the body on the event loop (a slow
client holds no thread), runs Django's WSGI application — its public entry point, the same
request, middleware, signals and response as under any WSGI server — in one call on a
bounded thread pool, and sends the response from the loop: one hop per request. It uses
only PEP 3333 and the ASGI specification's WSGI mapping, nothing of Django's handlers.
"""

import asyncio
import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_wsgi = get_wsgi_application()  # sets Django up first

from channels.auth import AuthMiddlewareStack  # noqa: E402 - needs Django set up first
from channels.layers import get_channel_layer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import get_resolver  # noqa: E402

from config.routing import websocket_urlpatterns  # noqa: E402
from core.body_limit import BodyLimit  # noqa: E402
from live import publish  # noqa: E402
from live.socket_limit import SocketsPerAddressLimit  # noqa: E402

# Build the channel layer (importing channels-redis and redis) now, not inside the first
# requests that push an update: a burst of them would all wait on the import lock. Likewise
# load the URLconf (every view, serializer and DRF): each server process — uvicorn starts N
# workers — is then ready when it starts taking connections, not in its first requests.
get_channel_layer()
get_resolver().url_patterns  # noqa: B018 - imports the URLconf

# Threads running requests in one ASGI process (ARENA_HTTP_THREADS). They share one GIL, so
# more threads only help to overlap waits (database, disk); a bounded pool also keeps a burst
# of requests from asking the database pool (DB_POOL_MAX_SIZE) for more connections than it
# has. 4 rather than 8: in upload bursts 4 was never worse, and in one comparison 8 stalled
# the shared disk with more fsyncs at once (docs/performance.md has both comparisons).
DEFAULT_THREADS = 4
# A response body up to this size is sent from the loop in one message once the request is
# done; a longer one (a data set's download) is sent in pieces of this size as it is read.
BODY_PIECE = 64 * 1024


def wsgi_environ(scope: dict, body, length: int) -> dict:
    """The PEP 3333 environ of an ASGI HTTP request whose body (`length` bytes) is `body`.
    Headers map as Django's ASGI request maps them: names with an underscore are dropped
    (they could pass for hyphenated ones), repeated ones are joined with commas, cookies
    with semicolons. CONTENT_LENGTH is the body as received (a chunked body has none)."""
    script_name = scope.get("root_path", "")
    path = scope["path"]
    if script_name and path.startswith(script_name):
        path = path[len(script_name) :]
    server = scope.get("server") or ("unknown", 0)
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": script_name.encode("utf-8").decode("latin-1"),
        "PATH_INFO": path.encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1] or 0),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if client := scope.get("client"):
        environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = client[0], str(client[1])
    headers: dict[str, list[str]] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1")
        if "_" in name:
            continue
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_LENGTH", "CONTENT_TYPE"):
            key = f"HTTP_{key}"
        value = raw_value.decode("latin-1")
        headers.setdefault(key, []).append(value.rstrip("; ") if key == "HTTP_COOKIE" else value)
    for key, values in headers.items():
        environ[key] = ("; " if key == "HTTP_COOKIE" else ",").join(values)
    environ["CONTENT_LENGTH"] = str(length)
    return environ


class WsgiOnThreads:
    """An ASGI HTTP application running the WSGI application `wsgi` on a thread pool, one hop
    per request (see the module)."""

    def __init__(self, wsgi, threads: int | None = None):
        self.wsgi = wsgi
        threads = threads or int(os.environ.get("ARENA_HTTP_THREADS") or DEFAULT_THREADS)
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="arena-http")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"only HTTP is served here, not {scope['type']}")
        # Spooled as Django's own handlers spool a body: in memory up to the upload setting.
        body = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)
        try:
            length = 0
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    body.close()  # gone (or refused by BodyLimit): nothing to answer
                    return
                chunk = message.get("body", b"")
                body.write(chunk)
                length += len(chunk)
                if not message.get("more_body", False):
                    break
            body.seek(0)
            environ = wsgi_environ(scope, body, length)
        except BaseException:
            body.close()
            raise
        loop = asyncio.get_running_loop()
        # Not in a copy of this task's context: each thread keeps its own from one request to
        # the next, as under a WSGI server, so what Django keeps per context (its caches'
        # clients and their Redis connections) is made once per thread, not per request.
        messages = await loop.run_in_executor(self.executor, self.respond, environ, send, loop)
        for message in messages:
            await send(message)

    def respond(self, environ: dict, send, loop: asyncio.AbstractEventLoop) -> list[dict]:
        """The whole request on this thread. Returns the ASGI messages still to send: all of
        a response up to BODY_PIECE; none when a longer one was sent from here."""
        status_headers = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info=None):
            status_headers[:] = [int(status[:3]), [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]]
            return lambda data: None  # PEP 3333's write(); Django never calls it

        def push(message: dict) -> None:
            asyncio.run_coroutine_threadsafe(send(message), loop).result()

        with environ["wsgi.input"]:
            result = self.wsgi(environ, start_response)
            try:
                pending, size, streaming = [], 0, False
                for part in result:
                    pending.append(part)
                    size += len(part)
                    if size >= BODY_PIECE:
                        if not streaming:
                            push(self._start(status_headers))
                            streaming = True
                        push({"type": "http.response.body", "body": b"".join(pending), "more_body": True})
                        pending, size = [], 0
                end = {"type": "http.response.body", "body": b"".join(pending)}
                if streaming:
                    push(end)
                    return []
                return [self._start(status_headers), end]
            finally:
                # Django's request_finished (and so the database connection's return to its
                # pool) on the thread that used it.
                if hasattr(result, "close"):
                    result.close()

    @staticmethod
    def _start(status_headers: list) -> dict:
        status, headers = status_headers
        return {"type": "http.response.start", "status": status, "headers": headers}


def noting_the_server_loop(app):
    """Tell the live feed which event loop serves this process: pushes from its request
    threads are sent on that loop (live/publish.py, "Delivery")."""

    async def asgi(scope, receive, send):
        publish.note_server_loop(asyncio.get_running_loop())
        return await app(scope, receive, send)

    return asgi


application = ProtocolTypeRouter(
    {
        # Bodies over their route's limit are refused before they are spooled.
        "http": noting_the_server_loop(BodyLimit(WsgiOnThreads(django_wsgi))),
        # Sockets per client address are counted first: a refusal costs no session lookup.
        "websocket": SocketsPerAddressLimit(
            AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)
