"""Request bodies are capped per route before they are spooled (core/body_limit.py).

Driven through the project's ASGI application (config.asgi: the cap, then Django's handler)
message by message, as an ASGI server delivers a body: a declared length over the limit is
refused before a byte is read, a chunked body is refused as soon as it crosses the limit and
no further message is read, and bodies within their route's limit reach the view."""

import asyncio
import json

import pytest
from asgiref.testing import ApplicationCommunicator

from config.asgi import application
from core.body_limit import BodyLimit, body_limit_for

pytestmark = pytest.mark.django_db(transaction=True)

CHUNK = 64 * 1024
TIMEOUT = 10


def scope(method: str, path: str, headers: list[tuple[bytes, bytes]] = ()) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }


class Body:
    """Feeds a body in CHUNK-sized http.request messages, counting what the app took."""

    def __init__(self, total: int, *, chunked: bool = True):
        self.total, self.sent = total, 0
        self.chunked = chunked
        self.taken = 0  # messages the application asked for

    async def receive(self) -> dict:
        self.taken += 1
        if self.sent >= self.total:
            return {"type": "http.disconnect"}
        size = min(CHUNK, self.total - self.sent)
        self.sent += size
        return {"type": "http.request", "body": b"x" * size, "more_body": self.sent < self.total}


async def call(app, http_scope: dict, body: Body) -> list[dict]:
    """Run `app` on one request; the messages it sent."""
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    await asyncio.wait_for(app(http_scope, body.receive, send), TIMEOUT)
    return sent


def answer(sent: list[dict]) -> tuple[int, bytes]:
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert len(starts) == 1, sent  # one answer, never the handler's as well
    return starts[0]["status"], b"".join(
        m.get("body", b"") for m in sent if m["type"] == "http.response.body"
    )


def run(coro):
    return asyncio.run(coro)


def test_a_declared_length_over_the_limit_is_refused_before_a_byte_is_read(settings):
    settings.ARENA_MAX_BODY_BYTES = 1000
    body = Body(5000)
    sent = run(
        call(application, scope("POST", "/api/models", [(b"content-length", b"5000")]), body)
    )
    status, content = answer(sent)
    assert status == 413
    assert body.taken == 0
    assert json.loads(content) == {
        "error": {
            "code": "too_large",
            "message": "the request body is larger than this route's limit of 1,000 bytes",
            "details": {"limit": 1000},
        }
    }


def test_a_chunked_body_is_refused_once_it_crosses_the_limit_and_no_further(settings):
    settings.ARENA_MAX_BODY_BYTES = 3 * CHUNK
    body = Body(1000 * CHUNK)  # 64 MiB offered, no Content-Length
    status, content = answer(run(call(application, scope("POST", "/api/models"), body)))
    assert status == 413
    # Three chunks fit, the fourth crosses the limit; nothing after it is read.
    assert body.taken == 4
    assert body.sent == 4 * CHUNK
    assert json.loads(content)["error"]["details"] == {"limit": 3 * CHUNK}


def test_a_site_page_is_refused_in_plain_text(settings):
    settings.ARENA_MAX_BODY_BYTES = CHUNK
    body = Body(10 * CHUNK)
    status, content = answer(run(call(application, scope("POST", "/accounts/login/"), body)))
    assert status == 413
    assert (
        content
        == f"the request body is larger than this route's limit of {CHUNK:,} bytes\n".encode()
    )
    assert body.taken == 2


def test_a_body_that_lies_about_its_length_is_cut_at_the_limit_too(settings):
    settings.ARENA_MAX_BODY_BYTES = 2 * CHUNK
    body = Body(50 * CHUNK)
    lying = scope("POST", "/api/models", [(b"content-length", b"100")])
    status, _ = answer(run(call(application, lying, body)))
    assert status == 413
    assert body.taken == 3


def test_a_body_within_the_limit_reaches_the_view(settings):
    settings.ARENA_MAX_BODY_BYTES = 4 * CHUNK
    body = Body(3 * CHUNK)
    status, content = answer(run(call(application, scope("POST", "/api/models"), body)))
    assert status == 401  # the view ran: no API key
    assert json.loads(content)["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("path", "limit_setting", "extra"),
    [
        ("/api/models/1/submissions", "ARENA_MAX_PREDICTION_BYTES", True),
        ("/me/models/1/predictions/", "ARENA_MAX_PREDICTION_BYTES", True),
        ("/api/tournaments/t/datasets", "ARENA_MAX_DATASET_BYTES", False),
        ("/api/tournaments/t/rounds/1/live-data", "ARENA_MAX_DATASET_BYTES", False),
        ("/api/tournaments/t/rounds/1/targets/2", "ARENA_MAX_DATASET_BYTES", False),
        ("/tournaments/new/", "ARENA_MAX_DATASET_BYTES", False),
        ("/tournaments/t/dashboard/data/", "ARENA_MAX_DATASET_BYTES", False),
        ("/tournaments/t/dashboard/live/", "ARENA_MAX_DATASET_BYTES", False),
        ("/tournaments/t/dashboard/targets/", "ARENA_MAX_DATASET_BYTES", False),
    ],
)
def test_upload_routes_take_their_file_limit_plus_the_envelope(
    settings, path, limit_setting, extra
):
    from arena_client.sealing import ENVELOPE_OVERHEAD

    from core.api.tools import MULTIPART_SLACK_BYTES

    settings.ARENA_MAX_BODY_BYTES = 1000
    expected = (
        getattr(settings, limit_setting)
        + MULTIPART_SLACK_BYTES
        + (ENVELOPE_OVERHEAD if extra else 0)
    )
    assert body_limit_for(path) == expected


@pytest.mark.parametrize(
    "path",
    [
        "/api/models",
        "/api/keys",
        "/accounts/login/",
        "/api/nowhere",
        "/no/such/page",
        "/tournaments/new/dex/",  # a form without a file field
    ],
)
def test_every_other_route_takes_the_default(settings, path):
    settings.ARENA_MAX_BODY_BYTES = 1234
    assert body_limit_for(path) == 1234


def test_an_upload_route_takes_a_body_over_the_default(settings):
    """A 2 MiB sealed upload with a key is not refused by the cap: it reaches the view
    (the key is unknown: 401)."""
    settings.ARENA_MAX_BODY_BYTES = CHUNK
    body = Body(32 * CHUNK)
    keyed = scope("POST", "/api/models/1/submissions", [(b"authorization", b"Bearer arena_x_y")])
    status, content = answer(run(call(application, keyed, body)))
    assert status == 401
    assert body.sent == 32 * CHUNK


def test_without_credentials_an_upload_route_takes_only_the_default(settings):
    """No key and no session: no upload can succeed, so nobody anonymous spools 20 MiB."""
    settings.ARENA_MAX_BODY_BYTES = CHUNK
    assert body_limit_for("/api/models/1/submissions", credentials=False) == CHUNK
    body = Body(32 * CHUNK)
    status, _ = answer(run(call(application, scope("POST", "/api/models/1/submissions"), body)))
    assert status == 413
    assert body.taken == 2
    session = scope("POST", "/me/models/1/predictions/", [(b"cookie", b"sessionid=abc")])
    assert body_limit_for("/me/models/1/predictions/") > CHUNK
    status, _ = answer(run(call(application, session, Body(3 * CHUNK))))
    assert status != 413  # with a session cookie the upload limit applies


def test_long_paths_are_neither_resolved_nor_cached(settings):
    from core.body_limit import _route_name

    settings.ARENA_MAX_BODY_BYTES = 1234
    _route_name.cache_clear()
    for i in range(50):
        assert body_limit_for(f"/api/models/{i}/submissions" + "a" * 60_000) == 1234
    assert _route_name.cache_info().currsize == 0


def test_websockets_pass_through_untouched():
    seen = []

    async def inner(s, receive, send):
        seen.append(s["type"])

    async def scenario():
        comm = ApplicationCommunicator(
            BodyLimit(inner, limit_for=lambda path: 0), {"type": "websocket", "path": "/ws/"}
        )
        await comm.wait(TIMEOUT)

    run(scenario())
    assert seen == ["websocket"]
