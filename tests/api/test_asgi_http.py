"""HTTP through the ASGI application (config/asgi.py → OneHopASGIHandler), as daphne serves it:
plain and streaming responses, request bodies, headers and errors."""

import asyncio
import json

import pytest
from arena_client.cid import cid_for_bytes
from channels.layers import get_channel_layer
from channels.testing import HttpCommunicator
from django.db import connections

from config.asgi import application
from tests.builders import csv_bytes, make_frame, predictions_csv, seal_for
from tournaments.events import private_group
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
    # The lane hands the refresh to the server's loop without waiting (events._deliver
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
