"""Django's HTTP handling on an ASGI server with one thread hop per request.

Django's own ASGIHandler runs the middleware chain in async mode: every synchronous
middleware's request and response hooks, the request_started/finished signals and the view
each cross from the event loop to a worker thread and back — about fifteen hops per request,
plus a new thread for every request (ThreadSensitiveContext). On this project's machine that
was most of a request's CPU: ~13 ms for `GET /api/platform`, whose view takes ~2 ms
(docs/performance.md). Every view and middleware here is synchronous, so this handler reads the body
on the event loop as Django does, then runs the whole synchronous request — signals,
middleware, view, and closing the response — in one call on a bounded thread pool, and sends
the finished response from the loop. Streaming responses (dataset downloads) are iterated on
that same thread, which forwards each chunk to the loop.

What stays as in Django's handler: the request object (ASGIRequest, built from the scope and
the spooled body), its 400/413 answers, script prefix, signals, chunking and headers. What
differs: a client that disconnects mid-request no longer cancels the (synchronous) view,
which Django's handler could not interrupt either, only stop waiting for.
"""

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

from asgiref.sync import sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse
from django.http.response import HttpResponseBase
from django.urls import set_script_prefix

# Threads running requests in one ASGI process. They share one GIL, so more threads only
# help to overlap waits (database, disk); a bounded pool also keeps a burst of requests from
# asking the database pool (DB_POOL_MAX_SIZE) for more connections than it has. 4 rather
# than 8: in upload bursts 4 was never worse, and in one comparison 8 stalled the shared
# disk with more fsyncs at once (docs/performance.md, has both comparisons).
DEFAULT_THREADS = 4


class OneHopASGIHandler(ASGIHandler):
    def __init__(self, threads: int | None = None):
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        threads = threads or int(os.environ.get("ARENA_HTTP_THREADS") or DEFAULT_THREADS)
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="arena-http")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        # asgiref's bridge rather than loop.run_in_executor: code on the thread that calls
        # async_to_sync (events._deliver) then runs it on this loop, with the loop's channel
        # layer connections, instead of on a new event loop of its own.
        respond = sync_to_async(self.respond, thread_sensitive=False, executor=self.executor)
        messages = await respond(scope, body_file, send, asyncio.get_running_loop())
        for message in messages:
            await send(message)

    def respond(self, scope, body_file, send, loop) -> list[dict]:
        """The whole request on this thread. Returns the ASGI messages still to send (all of a
        non-streaming response; none when a streaming one was sent from here)."""
        with closing(body_file):
            set_script_prefix(get_script_prefix(scope))
            signals.request_started.send(sender=self.__class__, scope=scope)
            request, response = self.create_request(scope, body_file)
            if request is not None:
                response = self.get_response(request)
                response._handler_class = self.__class__
                if isinstance(response, FileResponse):
                    response.block_size = self.chunk_size
            try:
                start = self.response_start(response)
                if not response.streaming:
                    return [start] + [
                        {"type": "http.response.body", "body": chunk, "more_body": not last}
                        for chunk, last in self.chunk_bytes(response.content)
                    ]

                def push(message: dict) -> None:
                    asyncio.run_coroutine_threadsafe(send(message), loop).result()

                push(start)
                for part in response:
                    for chunk, _ in self.chunk_bytes(part):
                        push({"type": "http.response.body", "body": chunk, "more_body": True})
                push({"type": "http.response.body", "body": b""})
                return []
            finally:
                # request_finished (and so the database connection's return to its pool) on
                # the thread that used it.
                response.close()

    @staticmethod
    def response_start(response: HttpResponseBase) -> dict:
        headers = []
        for header, value in response.items():
            if isinstance(header, str):
                header = header.encode("ascii")
            if isinstance(value, str):
                value = value.encode("latin1")
            headers.append((bytes(header), bytes(value)))
        for cookie in response.cookies.values():
            headers.append((b"Set-Cookie", cookie.OutputString().encode("ascii")))
        return {"type": "http.response.start", "status": response.status_code, "headers": headers}
