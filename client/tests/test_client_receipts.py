from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from arena_client.cid import cid_for_bytes
from arena_client.receipts import (
    Receipt,
    ReceiptError,
    canonical_json,
    generate_signing_keypair,
    sign_receipt,
    verify_receipt,
)
from cryptography.hazmat.primitives.asymmetric import ed25519

CID = cid_for_bytes(b"ciphertext")
MISMATCH = (
    "receipt signature does not match: the receipt was altered or not signed by this platform key"
)


@pytest.fixture(scope="module")
def keys() -> tuple[bytes, bytes]:
    return generate_signing_keypair()


@pytest.fixture
def receipt() -> Receipt:
    return Receipt("crypto-daily", 12, 7, CID, datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=UTC))


def test_canonical_bytes_are_sorted_compact_utf8(receipt):
    assert receipt.canonical_bytes() == (
        b'{"cid":"' + CID.encode() + b'","model":7,"received_at":"2026-03-01T12:00:00.250000Z",'
        b'"round":12,"tournament":"crypto-daily","type":"arena.receipt.v1"}'
    )
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()


def test_other_timezones_are_normalised_to_utc(receipt):
    local = datetime(2026, 3, 1, 14, 0, 0, 250000, tzinfo=timezone(timedelta(hours=2)))
    assert replace(receipt, received_at=local).canonical_bytes() == receipt.canonical_bytes()


def test_sign_then_verify(keys, receipt):
    signature = sign_receipt(keys[0], receipt)
    assert len(signature) == 64
    assert verify_receipt(keys[1], receipt, signature) is None


def test_a_loaded_key_signs_the_same(keys, receipt):
    loaded = ed25519.Ed25519PrivateKey.from_private_bytes(keys[0])
    # Ed25519 signatures are deterministic: the same key and bytes give the same signature.
    assert sign_receipt(loaded, receipt) == sign_receipt(keys[0], receipt)


@pytest.mark.parametrize(
    "change",
    [
        {"tournament": "crypto-weekly"},
        {"round_number": 13},
        {"model_id": 8},
        {"cid": cid_for_bytes(b"another ciphertext")},
        {"received_at": datetime(2026, 3, 1, 12, 0, 0, 250001, tzinfo=UTC)},
    ],
    ids=["tournament", "round", "model", "cid", "time"],
)
def test_any_altered_field_fails_verification(keys, receipt, change):
    signature = sign_receipt(keys[0], receipt)
    with pytest.raises(ReceiptError) as caught:
        verify_receipt(keys[1], replace(receipt, **change), signature)
    assert str(caught.value) == MISMATCH


def test_flipped_signature_or_other_key_fails(keys, receipt):
    signature = bytearray(sign_receipt(keys[0], receipt))
    signature[0] ^= 0x01
    with pytest.raises(ReceiptError, match="^receipt signature does not match"):
        verify_receipt(keys[1], receipt, bytes(signature))
    _, other_public = generate_signing_keypair()
    with pytest.raises(ReceiptError, match="^receipt signature does not match"):
        verify_receipt(other_public, receipt, sign_receipt(keys[0], receipt))


def test_sizes_are_checked(keys, receipt):
    with pytest.raises(ReceiptError, match="^Ed25519 signature must be 64 bytes, got 63$"):
        verify_receipt(keys[1], receipt, bytes(63))
    with pytest.raises(ReceiptError, match="^Ed25519 public key must be 32 bytes, got 31$"):
        verify_receipt(keys[1][:31], receipt, bytes(64))
    with pytest.raises(ReceiptError, match="^Ed25519 private key must be 32 bytes, got 0$"):
        sign_receipt(b"", receipt)


def test_dict_round_trip(receipt):
    assert Receipt.from_dict(receipt.to_dict()) == receipt


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type": "other"}, "receipt type is 'other', expected 'arena.receipt.v1'"),
        (
            {"received_at": "2026-03-01T12:00:00Z"},
            "receipt received_at '2026-03-01T12:00:00Z' is not UTC 'YYYY-MM-DDTHH:MM:SS.ffffffZ'",
        ),
        ({"extra": 1}, "receipt members differ: missing [], unexpected ['extra']"),
        (
            {"cid": "Qm"},
            "receipt cid: unsupported multibase prefix 'Q'; expected 'b' (base32, lower case)",
        ),
        ({"round": True}, "receipt round_number must be a non-negative int, got True"),
        ({"model": -1}, "receipt model_id must be a non-negative int, got -1"),
    ],
)
def test_from_dict_refuses_non_canonical_receipts(receipt, change, message):
    data = receipt.to_dict() | change
    with pytest.raises(ReceiptError) as caught:
        Receipt.from_dict(data)
    assert str(caught.value) == message


def test_naive_time_is_refused():
    with pytest.raises(
        ReceiptError, match="^receipt received_at must be a timezone-aware datetime$"
    ):
        Receipt("t", 1, 1, CID, datetime(2026, 3, 1))
