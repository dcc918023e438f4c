"""The upload lane (tournaments/apis/upload_lane.py): the common upload is answered in one
SELECT and one write without DRF's cycle, with the same answer the full view gives; every
other request, and every refusal, is answered by the full view, and counted once."""

from datetime import timedelta

import pytest
from arena_client.cid import cid_for_bytes
from arena_client.receipts import Receipt, verify_receipt
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import ApiKey
from accounts.services import api_key_revoke, hash_api_key
from tests.builders import named_file, predictions_csv, seal_for
from tournaments.apis.submissions import SubmissionUploadApi
from tournaments.models import Submission
from tournaments.selectors import upload_context
from tournaments.services.lifecycle import round_close
from tournaments.services.model_slots import model_create

pytestmark = pytest.mark.django_db

# Headers that differ between any two responses.
VOLATILE = {"Content-Length", "Date"}


def _raw(client, model_id: int, body: bytes, filename: str = "mine.sealed"):
    """The upload as `arena submit` sends it: the envelope as the body."""
    return client.generic(
        "POST",
        f"/api/models/{model_id}/submissions",
        body,
        content_type="application/octet-stream",
        HTTP_CONTENT_DISPOSITION=f'attachment; filename="{filename}"',
    )


@pytest.fixture
def full_view_only(monkeypatch):
    """Count the requests the full DRF view handles."""
    calls = []
    original = SubmissionUploadApi.post

    def counting(self, request, model_id):
        calls.append(model_id)
        return original(self, request, model_id)

    monkeypatch.setattr(SubmissionUploadApi, "post", counting)
    return calls


@pytest.fixture
def envelope(open_round, model, live_ids) -> bytes:
    return seal_for(open_round, model, predictions_csv(live_ids, seed=5))


# Outside a test transaction, as in production: every statement the lane sends is counted
# (inside one, the notification port's savepoint would add two).
@pytest.mark.django_db(transaction=True)
def test_the_common_upload_is_answered_by_the_lane_in_three_statements(
    key_client, modeler, model, envelope, full_view_only
):
    client = key_client(modeler, "submit")
    with CaptureQueriesContext(connection) as queries:
        response = _raw(client, model.id, envelope)
    assert response.status_code == 201, response.json()
    assert full_view_only == []  # DRF's view never ran
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    # the context, the key's last use, the row (inserted only while the round is still open)
    assert statements == ["SELECT", "UPDATE", "INSERT"]
    stored = Submission.objects.get()
    assert (stored.cid, stored.filename, stored.size_bytes) == (
        cid_for_bytes(envelope), "mine.sealed", len(envelope)
    )


def test_the_lane_counts_uploads_for_the_quota_and_the_view_words_the_refusal(
    key_client, modeler, model, envelope, full_view_only, settings
):
    settings.ARENA_MAX_UPLOADS_PER_ROUND = 2
    client = key_client(modeler, "submit")
    assert [_raw(client, model.id, envelope).status_code for _ in range(2)] == [201, 201]
    assert full_view_only == []
    refused = _raw(client, model.id, envelope)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "upload_limit"
    assert len(full_view_only) == 1  # the lane declined; the full view said why
    assert Submission.objects.filter(model=model).count() == 2


def test_the_lane_answers_exactly_as_the_full_view(
    key_client, modeler, model, open_round, live_ids, full_view_only
):
    client = key_client(modeler, "submit")
    first = seal_for(open_round, model, predictions_csv(live_ids, seed=1))
    second = seal_for(open_round, model, predictions_csv(live_ids, seed=2))
    lane = _raw(client, model.id, first, "same.sealed")
    assert full_view_only == []
    full = client.post(  # a multipart upload always goes through the full view
        f"/api/models/{model.id}/submissions",
        {"file": named_file(second, "same.sealed")},
        format="multipart",
    )
    assert full_view_only == [model.id]
    assert (lane.status_code, full.status_code) == (201, 201)
    assert _headers(lane) == _headers(full)
    lane_body, full_body = lane.json(), full.json()
    differs = {"id", "cid", "size_bytes", "created_at", "receipt", "receipt_signature"}
    assert {k: v for k, v in lane_body.items() if k not in differs} == {
        k: v for k, v in full_body.items() if k not in differs
    }
    assert lane_body.keys() == full_body.keys()
    assert lane_body["receipt"].keys() == full_body["receipt"].keys()
    public_key = bytes.fromhex(client.get("/api/platform").json()["receipt_public_key"])
    receipt = Receipt.from_dict(lane_body["receipt"])
    assert receipt.cid == cid_for_bytes(first) and receipt.model_id == model.id
    verify_receipt(public_key, receipt, bytes.fromhex(lane_body["receipt_signature"]))  # raises if wrong


def _headers(response) -> dict:
    return {k: v for k, v in response.headers.items() if k not in VOLATILE}


@pytest.mark.parametrize(
    "case, status, code, message",
    [
        ("unknown key", 401, "unauthorized", "invalid API key"),
        ("revoked key", 401, "unauthorized", "this API key was revoked"),
        ("read-only key", 403, "forbidden", "this API key lacks the 'submit' scope"),
        ("someone else's model", 403, "forbidden", "you can only submit for your own models"),
        ("no such model", 404, "not_found", "no model with id 999999"),
        ("plaintext", 400, "not_sealed", None),
        ("malformed envelope", 400, "malformed_envelope", None),
        ("round closed", 409, "round_closed", None),
    ],
)
def test_every_refusal_is_worded_by_the_full_view_and_stores_nothing(
    case, status, code, message, key_client, make_key, modeler, stranger, model, tournament,
    open_round, envelope, live_ids, full_view_only,
):
    client = key_client(modeler, "submit")
    model_id, body = model.id, envelope
    if case == "unknown key":
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Bearer arena_00000000_nope")
    elif case == "revoked key":
        raw = make_key(modeler, "submit", name="old")
        api_key_revoke(api_key=ApiKey.objects.get(key_hash=hash_api_key(raw)), by=modeler)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    elif case == "read-only key":
        client = key_client(modeler, "read")
    elif case == "someone else's model":
        model_id = model_create(owner=stranger, tournament=tournament, name="not-mine").id
    elif case == "no such model":
        model_id = 999999
    elif case == "plaintext":
        body = predictions_csv(live_ids)
    elif case == "malformed envelope":
        body = b"ARNA" + b"\x00" * 64
    elif case == "round closed":
        round_close(round=open_round, now=open_round.closes_at)
    response = _raw(client, model_id, body)
    assert response.status_code == status, response.json()
    error = response.json()["error"]
    assert error["code"] == code
    if message:
        assert error["message"] == message
    assert Submission.objects.count() == 0
    # Refusals that get past authentication reach the view itself.
    reached_view = case not in ("unknown key", "revoked key", "read-only key")
    assert full_view_only == ([model_id] if reached_view else [])


def test_a_refusal_the_lane_hands_on_counts_once_against_the_throttle(
    key_client, modeler, model, envelope, live_ids, monkeypatch
):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "100/min", "user": "2/min"})
    client = key_client(modeler, "submit")
    # The lane counts the request, hands it on (plaintext), and the full view refuses it
    # without counting it again.
    assert _raw(client, model.id, predictions_csv(live_ids)).status_code == 400
    assert _raw(client, model.id, envelope).status_code == 201  # the second of two allowed
    third = _raw(client, model.id, envelope)
    assert third.status_code == 429
    assert third.json()["error"]["code"] == "throttled"
    assert Submission.objects.count() == 1


def test_upload_context_reads_typed_values_in_one_statement(make_key, modeler, model, open_round):
    raw = make_key(modeler, "submit", "read")
    now = timezone.now()
    with CaptureQueriesContext(connection) as queries:
        context = upload_context(key_hash=hash_api_key(raw), model_id=model.id, now=now, cid="bafy-none")
    assert len(queries.captured_queries) == 1
    assert (context.uploads, context.envelope_reused) == (0, False)
    assert context.api_key.scopes == ["read", "submit"]  # JSON decoded
    assert context.api_key.revoked_at is None and context.api_key.is_active
    assert context.api_key.user.id == modeler.id and context.api_key.user.is_active is True
    assert (context.model.id, context.model.owner_id) == (model.id, modeler.id)
    assert context.model.tournament.slug == "weather"
    assert (context.round.id, context.round.number, context.round.has_key) == (open_round.id, 1, True)
    assert context.round.closes_at == open_round.closes_at  # an aware datetime, as the ORM's
    assert context.round.tournament.slug == "weather"
    # Before the round opens there is no round to upload to; an unknown model is None.
    early = upload_context(
        key_hash=hash_api_key(raw), model_id=999999, now=open_round.opens_at - timedelta(seconds=1),
        cid="bafy-none",
    )
    assert (early.model, early.round) == (None, None)
    assert upload_context(key_hash="0" * 64, model_id=model.id, now=now, cid="bafy-none") is None
