"""Sealed predictions end to end on the server: round keys, sealed uploads, opening after close,
tampered and replayed envelopes, receipts, and the commitments root with inclusion proofs."""

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from arena_client.cid import cid_digest, cid_for_bytes
from arena_client.merkle import MerkleProofError, submission_leaf, verify_submission_proof
from arena_client.receipts import Receipt, ReceiptError, verify_receipt
from arena_client.sealing import (
    generate_round_keypair,
    open_sealed,
    public_key_for,
    seal,
    submission_info,
)
from django.core.exceptions import ImproperlyConfigured
from rest_framework.test import APIClient

from core.errors import Conflict
from core.money import tokens_to_wei
from tests.builders import csv_bytes, make_frame, predictions_csv, predictions_frame, seal_for
from tournaments.blobs import blob_store
from tournaments.models import Round, RoundKey, RoundState, Submission
from tournaments.predictions_blob import HEADER
from tournaments.round_keys import RoundKeyError, round_private_key
from tournaments.selectors import predictions_matrix
from tournaments.services.datasets import dataset_upload, round_target_upload
from tournaments.services.lifecycle import (
    round_close,
    round_open,
    round_resolve,
    round_schedule_next,
    round_score_day,
)
from tournaments.services.model_slots import model_create, stake_deposit
from tournaments.services.submissions import round_decrypt_submissions, submission_upload

pytestmark = pytest.mark.django_db

AUTH_FAILED = (
    "envelope failed authentication: it was altered, sealed for another tournament/round/model, "
    "or sealed to a different round key"
)


def _reason(round: Round, model) -> str:
    return f"cannot be opened with the key of round {round.number} for model {model.id}: {AUTH_FAILED}"


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def key_api(make_key):
    def _client(user, *scopes: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(user, *scopes)}")
        return client

    return _client


@pytest.fixture
def rival(tournament, make_user):
    owner = make_user("rita-rival")
    slot = model_create(owner=owner, tournament=tournament, name="drizzle")
    return stake_deposit(model=slot, by=owner, amount=tokens_to_wei(10))


def _upload(round, model, envelope, *, now=None):
    return submission_upload(model=model, by=model.owner, data=envelope, filename="p.sealed", now=now)


def _close(round: Round) -> Round:
    return round_close(round=round, now=round.closes_at)


# --- Keys ------------------------------------------------------------------------------------


def test_a_round_gets_its_key_when_it_opens_and_publishes_the_public_half(
    api, tournament, open_round
):
    key = RoundKey.objects.get(round=open_round)
    assert len(key.public_key) == 64 and key.created_at == open_round.transitions.get().at
    body = api.get("/api/tournaments/weather/rounds/1").json()
    assert body["public_key"] == key.public_key
    assert (body["private_key"], body["commitments_root"], body["commitments_count"]) == (
        None, None, None
    )
    page = api.get("/tournaments/weather/rounds/1/")
    assert f'<code class="key" id="round-public-key">{key.public_key}</code>' in page.text
    assert "published when the round resolves" in page.text
    # A scheduled round has no key yet.
    assert round_schedule_next(tournament=tournament, now=open_round.opens_at + timedelta(days=1))
    assert api.get("/api/tournaments/weather/rounds/2").json()["public_key"] is None


def test_opening_twice_keeps_the_same_key(open_round):
    before = RoundKey.objects.get(round=open_round).public_key
    round_open(round=open_round, now=open_round.opens_at + timedelta(minutes=5))
    assert RoundKey.objects.filter(round=open_round).count() == 1
    assert RoundKey.objects.get(round=open_round).public_key == before


def test_the_private_key_is_stored_only_encrypted(open_round, model, live_ids):
    stored = RoundKey.objects.get(round=open_round)
    _close(open_round)
    private_key = round_private_key(round=Round.objects.get(pk=open_round.pk))
    assert public_key_for(private_key).hex() == stored.public_key
    assert private_key.hex() not in stored.private_key_encrypted
    assert len(bytes.fromhex(stored.private_key_encrypted)) == 1 + 12 + 32 + 16


def test_the_private_key_is_refused_before_close(open_round):
    with pytest.raises(Conflict) as caught:
        round_private_key(round=open_round)
    assert caught.value.code == "round_not_closed"
    assert caught.value.message == (
        "round 1 is open: its private key is used only after the round closes "
        f"(at {open_round.closes_at.isoformat()})"
    )


def test_a_different_key_encryption_key_cannot_open_the_round_key(open_round, settings):
    _close(open_round)
    closed = Round.objects.get(pk=open_round.pk)
    stored = RoundKey.objects.get(round=closed)
    settings.ARENA_KEY_ENCRYPTION_KEY = "11" * 32
    with pytest.raises(RoundKeyError) as caught:
        round_private_key(round=closed)
    assert str(caught.value).startswith(
        f"the key of weather round 1 was sealed under key-encryption key {stored.kek_id}, but "
        "ARENA_KEY_ENCRYPTION_KEY is "
    )
    settings.ARENA_KEY_ENCRYPTION_KEY = "not hex"
    with pytest.raises(ImproperlyConfigured, match="must be 64 hex digits"):
        round_private_key(round=closed)


def test_a_sealed_round_key_copied_onto_another_round_does_not_open(
    tournament, sponsor, open_round
):
    second = round_schedule_next(tournament=tournament, now=open_round.opens_at + timedelta(days=1))
    dataset_upload(
        tournament=tournament, by=sponsor, kind="live", round=second,
        data=csv_bytes(make_frame(with_target=False, seed=8, prefix="live")), filename="l.csv",
    )
    round_open(round=second, now=second.opens_at)
    _close(open_round)
    mine, theirs = RoundKey.objects.get(round=open_round), RoundKey.objects.get(round=second)
    RoundKey.objects.filter(pk=mine.pk).update(
        private_key_encrypted=theirs.private_key_encrypted, public_key=theirs.public_key
    )
    with pytest.raises(RoundKeyError, match="the stored key of weather round 1 fails authentication"):
        round_private_key(round=Round.objects.get(pk=open_round.pk))


# --- Round trip, tamper, replay ----------------------------------------------------------------


def test_round_trip_through_the_service(api, open_round, model, live_ids):
    public_key = bytes.fromhex(api.get("/api/tournaments/weather/rounds/1").json()["public_key"])
    frame = predictions_frame(live_ids, seed=4)
    envelope = seal(csv_bytes(frame), public_key, submission_info("weather", 1, model.id))
    sub = _upload(open_round, model, envelope)
    assert (sub.state, sub.cid, sub.rows) == ("received", cid_for_bytes(envelope), 0)

    closed = _close(open_round)
    sub.refresh_from_db()
    assert (sub.state, sub.rows, sub.error, sub.is_counted) == ("valid", 50, "", True)
    models, matrix = predictions_matrix(round=closed)
    assert models == [model]
    np.testing.assert_array_equal(matrix[:, 0], frame["prediction"].to_numpy())
    # The stored predictions are the values in live-id order; the envelope stays as sent.
    stored = blob_store().get(sub.predictions_cid)
    assert stored == HEADER + frame["prediction"].to_numpy(dtype="<f8").tobytes()
    assert blob_store().get(sub.cid) == envelope


def test_a_tampered_envelope_is_invalid_with_the_reason(open_round, model, live_ids):
    envelope = bytearray(seal_for(open_round, model, predictions_csv(live_ids)))
    envelope[100] ^= 0x01  # one bit of ciphertext
    sub = _upload(open_round, model, bytes(envelope))
    assert sub.state == "received"  # nobody can tell before close
    _close(open_round)
    sub.refresh_from_db()
    assert (sub.state, sub.error, sub.is_counted) == ("invalid", _reason(open_round, model), True)
    assert [p["code"] for p in sub.problems] == ["decryption_failed"]
    assert blob_store().get(sub.cid) == bytes(envelope)  # nothing lost
    assert predictions_matrix(round=open_round)[0] == []


def test_an_envelope_replayed_onto_another_model_is_invalid(open_round, model, rival, live_ids):
    envelope = seal_for(open_round, model, predictions_csv(live_ids))
    _upload(open_round, model, envelope)
    copied = _upload(open_round, rival, envelope)  # the same bytes, claimed by another model
    closed = _close(open_round)
    mine = Submission.objects.get(model=model)
    copied.refresh_from_db()
    assert mine.state == "valid"
    assert (copied.state, copied.error) == ("invalid", _reason(open_round, rival))
    assert predictions_matrix(round=closed)[0] == [model]
    # One envelope, one leaf: the tree cannot hold it twice.
    assert closed.commitments_count == 1


def test_an_envelope_replayed_into_another_round_is_refused_and_a_rebound_one_invalid(
    tournament, sponsor, open_round, model, live_ids
):
    envelope = seal_for(open_round, model, predictions_csv(live_ids))
    _upload(open_round, model, envelope)
    _close(open_round)
    second = round_schedule_next(tournament=tournament, now=open_round.opens_at + timedelta(days=1))
    dataset_upload(
        tournament=tournament, by=sponsor, kind="live", round=second,
        data=csv_bytes(make_frame(with_target=False, seed=7, prefix="live")), filename="l.csv",
    )
    second = round_open(round=second, now=second.opens_at)
    during = second.opens_at + timedelta(minutes=1)
    # The same bytes in another round: refused at upload (they could never open there, and
    # round 1 may already have deleted them).
    with pytest.raises(Conflict, match="this envelope was already uploaded to another round") as refused:
        _upload(second, model, envelope, now=during)
    assert refused.value.code == "envelope_reused"
    assert Submission.objects.filter(round=second).count() == 0
    # Sealed to round 2's key but with round 1's info: the binding alone rejects it.
    rebound = _upload(
        second, model,
        seal(predictions_csv(live_ids), bytes.fromhex(second.round_key.public_key),
             submission_info("weather", 1, model.id)),
        now=during + timedelta(seconds=1),
    )
    round_close(round=second, now=second.closes_at)
    rebound.refresh_from_db()
    assert (rebound.state, rebound.error) == ("invalid", _reason(second, model))


def test_an_envelope_sealed_to_the_wrong_key_is_invalid(open_round, model, live_ids):
    _, stranger_key = generate_round_keypair()
    envelope = seal(predictions_csv(live_ids), stranger_key, submission_info("weather", 1, model.id))
    sub = _upload(open_round, model, envelope)
    _close(open_round)
    sub.refresh_from_db()
    assert (sub.state, sub.error) == ("invalid", _reason(open_round, model))


def test_opening_is_idempotent_and_resumes_after_a_crash(open_round, model, rival, live_ids):
    for slot, seed in ((model, 1), (rival, 2)):
        _upload(open_round, slot, seal_for(open_round, slot, predictions_csv(live_ids, seed=seed)))
    closed = _close(open_round)
    assert set(Submission.objects.values_list("state", flat=True)) == {"valid"}
    assert round_decrypt_submissions(round=closed, now=closed.closes_at) == 0
    # As if the process died after opening the first one.
    Submission.objects.filter(model=rival).update(state="received", rows=0, predictions_cid="")
    assert round_decrypt_submissions(round=closed, now=closed.closes_at) == 1
    assert Submission.objects.get(model=rival).state == "valid"


def test_the_close_stands_when_opening_fails_and_scoring_finishes_it(
    open_round, sponsor, model, live_ids, settings
):
    _upload(open_round, model, seal_for(open_round, model, predictions_csv(live_ids)))
    right_key = settings.ARENA_KEY_ENCRYPTION_KEY
    settings.ARENA_KEY_ENCRYPTION_KEY = "22" * 32
    with pytest.raises(RoundKeyError):
        _close(open_round)
    closed = Round.objects.get(pk=open_round.pk)
    assert closed.state == RoundState.CLOSED and closed.commitments_count == 1
    assert Submission.objects.get().state == "received"

    settings.ARENA_KEY_ENCRYPTION_KEY = right_key
    target = pd.DataFrame({"id": live_ids, "target": [i % 5 / 4 for i in range(50)]})
    round_target_upload(round=closed, by=sponsor, day=1, data=csv_bytes(target), filename="t.csv")
    round_score_day(round=closed, day=1, now=closed.closes_at + timedelta(hours=1))
    assert Submission.objects.get().state == "valid"
    assert closed.scores.count() == 1


# --- Publishing the key ------------------------------------------------------------------------


def test_the_private_key_is_published_once_the_round_resolves(
    api, open_round, sponsor, model, rival, live_ids
):
    envelopes = {}
    for slot, seed in ((model, 1), (rival, 2)):
        envelopes[slot.id] = seal_for(open_round, slot, predictions_csv(live_ids, seed=seed))
        _upload(open_round, slot, envelopes[slot.id])
    rnd = _close(open_round)
    for day in (1, 2):
        assert api.get("/api/tournaments/weather/rounds/1").json()["private_key"] is None
        target = pd.DataFrame({"id": live_ids, "target": [(i * day) % 5 / 4 for i in range(50)]})
        round_target_upload(round=rnd, by=sponsor, day=day, data=csv_bytes(target), filename="t.csv")
        rnd = round_score_day(round=rnd, day=day, now=rnd.score_day_at(day))
    rnd = round_resolve(round=rnd, now=rnd.resolves_at)
    assert rnd.state == RoundState.RESOLVED

    body = api.get("/api/tournaments/weather/rounds/1").json()
    private_key = bytes.fromhex(body["private_key"])
    assert public_key_for(private_key).hex() == body["public_key"]
    assert f'id="round-private-key">{body["private_key"]}</code>' in api.get(
        "/tournaments/weather/rounds/1/"
    ).text
    # Anyone can now re-open every envelope and get back the predictions that were scored.
    for slot, seed in ((model, 1), (rival, 2)):
        opened = open_sealed(envelopes[slot.id], private_key, submission_info("weather", 1, slot.id))
        assert opened == predictions_csv(live_ids, seed=seed)


# --- Receipts ------------------------------------------------------------------------------------


def test_the_receipt_verifies_with_the_platform_key_only(
    api, key_api, modeler, open_round, model, live_ids, settings
):
    import io

    envelope = seal_for(open_round, model, predictions_csv(live_ids))
    upload = io.BytesIO(envelope)
    upload.name = "p.sealed"
    body = key_api(modeler, "submit").post(
        f"/api/models/{model.id}/submissions", {"file": upload}, format="multipart"
    ).json()
    platform = api.get("/api/platform").json()
    assert platform["receipt_signature_algorithm"] == "Ed25519"
    assert platform["envelope"] == {
        "hpke_suite": "DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM",
        "header_hex": "41524e5301002000010002",
        "overhead_bytes": 59,
        "info_label": "arena/v1/submission",
    }
    key = bytes.fromhex(platform["receipt_public_key"])
    receipt = Receipt.from_dict(body["receipt"])
    signature = bytes.fromhex(body["receipt_signature"])
    verify_receipt(key, receipt, signature)
    # Any change to what was signed breaks it...
    moved = Receipt.from_dict({**body["receipt"], "round": 2})
    with pytest.raises(ReceiptError, match="receipt signature does not match"):
        verify_receipt(key, moved, signature)
    # ...and another platform key does not verify it.
    settings.ARENA_RECEIPT_SIGNING_KEY = "33" * 32
    other = bytes.fromhex(api.get("/api/platform").json()["receipt_public_key"])
    assert other != key
    with pytest.raises(ReceiptError):
        verify_receipt(other, receipt, signature)
    # The submission list re-serves the same signed receipt.
    listed = key_api(modeler, "read").get(f"/api/models/{model.id}/submissions").json()
    assert (listed["results"][0]["receipt"], listed["results"][0]["receipt_signature"]) == (
        body["receipt"], body["receipt_signature"]
    )


# --- Commitments and inclusion proofs --------------------------------------------------------


def _owners(tournament, make_user, n):
    slots = []
    for i in range(n):
        owner = make_user(f"modeler-{i}")
        slots.append(model_create(owner=owner, tournament=tournament, name=f"model-{i}"))
    return slots


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_every_counted_submission_has_a_proof_under_the_stored_root(
    n, tournament, make_user, make_key, open_round, live_ids
):
    slots = _owners(tournament, make_user, n)
    cids = {}
    for i, slot in enumerate(slots):
        cids[slot.id] = _upload(
            open_round, slot, seal_for(open_round, slot, predictions_csv(live_ids, seed=i))
        ).cid
    closed = _close(open_round)
    assert closed.commitments_count == n and closed.commitments_root.startswith("0x")
    root = bytes.fromhex(closed.commitments_root[2:])
    proofs = {}
    for slot in slots:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(slot.owner, 'read')}")
        sub = Submission.objects.get(model=slot)
        response = client.get(f"/api/models/{slot.id}/submissions/{sub.id}/proof")
        assert response.status_code == 200
        body = response.json()
        assert (body["cid"], body["root"], body["count"], body["root_source"]) == (
            cids[slot.id], closed.commitments_root, n, "platform"
        )
        assert body["digest"] == "0x" + cid_digest(sub.cid).hex()
        assert body["leaf"] == "0x" + submission_leaf(cid_digest(sub.cid)).hex()
        proof = [bytes.fromhex(h[2:]) for h in body["proof"]]
        verify_submission_proof(sub.cid, proof, root)
        if n == 1:
            assert proof == [] and body["leaf"] == closed.commitments_root
        proofs[slot.id] = proof
    # A proof is for its own envelope only.
    if n > 1:
        first, second = slots[0], slots[1]
        with pytest.raises(MerkleProofError, match="leads to root"):
            verify_submission_proof(cids[second.id], proofs[first.id], root)


def test_no_submissions_commit_to_the_empty_root(open_round):
    closed = _close(open_round)
    assert (closed.commitments_root, closed.commitments_count) == ("0x" + "00" * 32, 0)


def test_proofs_are_refused_while_open_and_for_a_replaced_upload(
    key_api, modeler, open_round, model, live_ids
):
    client = key_api(modeler, "read")
    first = _upload(open_round, model, seal_for(open_round, model, predictions_csv(live_ids, seed=1)))
    url = f"/api/models/{model.id}/submissions/{first.id}/proof"
    response = client.get(url)
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "round_not_closed",
        "message": "round 1 is open: its submissions are committed when it closes at "
        f"{open_round.closes_at.isoformat()}",
        "details": None,
    }
    _upload(open_round, model, seal_for(open_round, model, predictions_csv(live_ids, seed=2)))
    _close(open_round)
    response = client.get(url)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_counted"
    assert response.json()["error"]["message"] == (
        f"submission {first.id} was not counted at close (a later upload to round 1 replaced "
        "it): only counted submissions are committed"
    )
    assert client.get(f"/api/models/{model.id}/submissions/999999/proof").json()["error"][
        "message"
    ] == f"model {model.id} has no submission 999999"


def test_only_the_owner_gets_a_proof(key_api, stranger, open_round, model, live_ids):
    sub = _upload(open_round, model, seal_for(open_round, model, predictions_csv(live_ids)))
    _close(open_round)
    response = key_api(stranger, "read").get(f"/api/models/{model.id}/submissions/{sub.id}/proof")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "only the model's owner can see its submissions"


def test_the_root_is_fixed_at_close(open_round, model, rival, live_ids):
    for slot, seed in ((model, 1), (rival, 2)):
        _upload(open_round, slot, seal_for(open_round, slot, predictions_csv(live_ids, seed=seed)))
    closed = _close(open_round)
    root = closed.commitments_root
    # Opening changes states, not the commitments; closing again changes nothing.
    assert round_close(round=closed, now=closed.closes_at + timedelta(hours=1)).commitments_root == root
    assert Round.objects.get(pk=closed.pk).commitments_root == root
