"""HTTP through the ASGI application (config/asgi.py: Django's WSGI application on the
request threads), as an ASGI server serves it: plain and streaming responses, request bodies,
headers and errors."""

import asyncio
import io
import json
import threading

import pytest
from arena_client.cid import cid_for_bytes
from channels.layers import get_channel_layer
from channels.testing import HttpCommunicator
from django.db import connections

from config.asgi import BODY_PIECE, WsgiOnThreads, application, wsgi_environ
from live.publish import private_group
from tests.builders import csv_bytes, make_frame, predictions_csv, seal_for
from tournaments.models import DatasetVersion

pytestmark = pytest.mark.django_db(transaction=True)  # the handler's threads read the data

HEADERS = [(b"host", b"127.0.0.1:8000")]


def call(method: str, path: str, body: bytes = b"", headers=()) -> dict:
    async def main():
        comm = HttpCommunicator(application, method, path, body=body, headers=HEADERS + list(headers))
        response = await comm.get_response(timeout=10)
        return response

    try:
        return asyncio.run(main())
    finally:
        connections.close_all()


def header(response: dict, name: bytes) -> bytes | None:
    return next((v for k, v in response["headers"] if k.lower() == name), None)


def test_a_json_api_answer(tournament):
    response = call("GET", "/api/tournaments")
    assert response["status"] == 200
    assert header(response, b"content-type") == b"application/json"
    slugs = [t["slug"] for t in json.loads(response["body"])["results"]]
    assert slugs == [tournament.slug]


def test_a_streaming_download_arrives_whole_with_its_headers(tournament):
    data = csv_bytes(make_frame())
    dataset = DatasetVersion.objects.get(kind="training")
    response = call("GET", f"/api/datasets/{dataset.id}/download")
    assert response["status"] == 200
    assert response["body"] == data
    assert header(response, b"etag") == f'"{cid_for_bytes(data)}"'.encode()


def test_errors_keep_the_api_shape_and_a_body_is_read(tournament):
    response = call("POST", "/api/models/999999/submissions", body=b"\x00" * 70_000, headers=[
        (b"content-type", b"application/octet-stream"),
    ])
    assert response["status"] == 401
    assert json.loads(response["body"])["error"]["code"] == "unauthorized"
    assert call("GET", "/no/such/page")["status"] == 404


def test_an_upload_through_the_server_refreshes_its_owners_private_view(
    open_round, model, modeler, make_key, live_ids
):
    # The lane hands the refresh to the server's loop without waiting (publish.deliver
    # wait=False); the owner's private group still receives it.
    envelope = seal_for(open_round, model, predictions_csv(live_ids))
    key = make_key(modeler, "submit")

    async def main():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(private_group(open_round.tournament.slug, modeler.id), channel)
        comm = HttpCommunicator(
            application, "POST", f"/api/models/{model.id}/submissions", body=envelope,
            headers=HEADERS + [
                (b"content-type", b"application/octet-stream"),
                (b"content-length", str(len(envelope)).encode()),
                (b"authorization", f"Bearer {key}".encode()),
            ],
        )
        response = await comm.get_response(timeout=10)
        return response, await asyncio.wait_for(layer.receive(channel), timeout=5)

    try:
        response, message = asyncio.run(main())
    finally:
        connections.close_all()
    assert response["status"] == 201, response["body"]
    assert json.loads(response["body"])["cid"] == cid_for_bytes(envelope)
    assert message == {"type": "private.refresh"}


def test_the_environ_maps_the_request_as_djangos_asgi_request_does():
    scope = {
        "type": "http", "method": "POST", "http_version": "1.1", "scheme": "https",
        "path": "/app/é/x", "root_path": "/app", "query_string": b"a=1&b=%C3%A9",
        "client": ("10.0.0.7", 5123), "server": ("arena.example.org", 443),
        "headers": [
            (b"host", b"arena.example.org"), (b"content-type", b"text/plain"),
            (b"x-forwarded-for", b"1.2.3.4"), (b"x_forwarded_for", b"6.6.6.6"),
            (b"accept", b"text/html"), (b"accept", b"application/json"),
            (b"cookie", b"a=1; "), (b"cookie", b"b=2"),
        ],
    }
    environ = wsgi_environ(scope, io.BytesIO(b"12345"), 5)
    assert {k: v for k, v in environ.items() if not k.startswith("wsgi.")} == {
        "REQUEST_METHOD": "POST", "SCRIPT_NAME": "/app", "PATH_INFO": "/é/x".encode().decode("latin-1"),
        "QUERY_STRING": "a=1&b=%C3%A9", "SERVER_NAME": "arena.example.org", "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.7", "REMOTE_PORT": "5123",
        "HTTP_HOST": "arena.example.org", "CONTENT_TYPE": "text/plain", "CONTENT_LENGTH": "5",
        # An underscore could pass for a hyphen: such a header is dropped, not merged.
        "HTTP_X_FORWARDED_FOR": "1.2.3.4",
        "HTTP_ACCEPT": "text/html,application/json", "HTTP_COOKIE": "a=1; b=2",
    }
    assert environ["wsgi.url_scheme"] == "https"


def test_a_long_response_is_sent_in_pieces_from_the_thread_that_closes_it():
    closed_on = []

    class Parts:
        def __iter__(self):
            return iter([b"x" * 1000] * 200)  # 200 kB in 1 kB parts

        def close(self):
            closed_on.append(threading.current_thread().name)

    def wsgi(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Parts()

    async def main():
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"", "headers": []}
        await WsgiOnThreads(wsgi, threads=1)(scope, receive, send)
        return sent

    sent = asyncio.run(main())
    assert sent[0] == {"type": "http.response.start", "status": 200, "headers": [(b"Content-Type", b"text/plain")]}
    bodies = sent[1:]
    # Parts are joined until a piece reaches BODY_PIECE (64 KiB): 66 parts a piece.
    assert BODY_PIECE == 65_536
    assert [len(m["body"]) for m in bodies] == [66_000] * 3 + [2_000]
    assert [m.get("more_body", False) for m in bodies] == [True, True, True, False]
    assert closed_on == ["arena-http_0"]


def test_a_chunked_upload_without_a_length_is_stored(open_round, model, modeler, make_key, live_ids):
    envelope = seal_for(open_round, model, predictions_csv(live_ids))
    key = make_key(modeler, "submit")
    response = call("POST", f"/api/models/{model.id}/submissions", body=envelope, headers=[
        (b"content-type", b"application/octet-stream"), (b"authorization", f"Bearer {key}".encode()),
    ])
    assert response["status"] == 201, response["body"]
    assert json.loads(response["body"])["cid"] == cid_for_bytes(envelope)
