import pytest
from arena_client.sealing import (
    ENVELOPE_HEADER,
    ENVELOPE_OVERHEAD,
    EnvelopeAuthenticationError,
    InvalidKeyError,
    MalformedEnvelopeError,
    SealError,
    generate_round_keypair,
    key_from_hex,
    open_sealed,
    public_key_for,
    seal,
    submission_info,
)

PREDICTIONS = b"id,prediction\nn0001,0.25\nn0002,0.75\n"
AUTH_FAILURE = (
    "envelope failed authentication: it was altered, sealed for another tournament/round/model, "
    "or sealed to a different round key"
)


@pytest.fixture(scope="module")
def round_keys() -> tuple[bytes, bytes]:
    return generate_round_keypair()


@pytest.fixture(scope="module")
def info() -> bytes:
    return submission_info("crypto-daily", 12, 7)


@pytest.fixture(scope="module")
def envelope(round_keys, info) -> bytes:
    return seal(PREDICTIONS, round_keys[1], info)


def test_generated_keys_are_raw_x25519(round_keys):
    private_key, public_key = round_keys
    assert len(private_key) == 32 and len(public_key) == 32
    assert public_key_for(private_key) == public_key


def test_round_trip_returns_the_plaintext(round_keys, info, envelope):
    assert open_sealed(envelope, round_keys[0], info) == PREDICTIONS


def test_envelope_layout_is_header_enc_ciphertext(envelope):
    assert ENVELOPE_HEADER == bytes.fromhex("41524e5301002000010002")
    assert envelope[:11] == ENVELOPE_HEADER
    assert len(envelope) == 11 + 32 + len(PREDICTIONS) + 16 == ENVELOPE_OVERHEAD + len(PREDICTIONS)


def test_each_seal_uses_a_fresh_ephemeral_key(round_keys, info, envelope):
    again = seal(PREDICTIONS, round_keys[1], info)
    assert again[11:43] != envelope[11:43]
    assert open_sealed(again, round_keys[0], info) == PREDICTIONS


def test_empty_plaintext_round_trips(round_keys, info):
    sealed = seal(b"", round_keys[1], info)
    assert len(sealed) == ENVELOPE_OVERHEAD
    assert open_sealed(sealed, round_keys[0], info) == b""


@pytest.mark.parametrize(
    "position", [11, 30, 43, -1], ids=["enc-first", "enc-middle", "ciphertext", "tag"]
)
def test_flipped_byte_is_rejected(round_keys, info, envelope, position):
    tampered = bytearray(envelope)
    tampered[position] ^= 0x01
    with pytest.raises(EnvelopeAuthenticationError) as caught:
        open_sealed(bytes(tampered), round_keys[0], info)
    assert str(caught.value) == AUTH_FAILURE


def test_truncated_ciphertext_is_rejected(round_keys, info, envelope):
    with pytest.raises(EnvelopeAuthenticationError):
        open_sealed(envelope[:-1], round_keys[0], info)


@pytest.mark.parametrize(
    "other",
    [("crypto-daily", 13, 7), ("crypto-daily", 12, 8), ("crypto-weekly", 12, 7)],
    ids=["other-round", "other-model", "other-tournament"],
)
def test_replay_into_another_round_model_or_tournament_is_rejected(round_keys, envelope, other):
    with pytest.raises(
        EnvelopeAuthenticationError, match="sealed for another tournament/round/model"
    ):
        open_sealed(envelope, round_keys[0], submission_info(*other))


def test_another_rounds_key_cannot_open(info, envelope):
    other_private, _ = generate_round_keypair()
    with pytest.raises(EnvelopeAuthenticationError, match="sealed to a different round key"):
        open_sealed(envelope, other_private, info)


def test_low_order_enc_is_an_authentication_failure(round_keys, info, envelope):
    forged = ENVELOPE_HEADER + bytes(32) + envelope[43:]
    with pytest.raises(EnvelopeAuthenticationError):
        open_sealed(forged, round_keys[0], info)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda e: e[:58], "envelope is 58 bytes; the smallest possible is 59"),
        (lambda e: b"", "envelope is 0 bytes; the smallest possible is 59"),
        (lambda e: b"XRNS" + e[4:], "not an Arena envelope: starts with b'XRNS', expected b'ARNS'"),
        (
            lambda e: e[:4] + b"\x02" + e[5:],
            "unsupported envelope version 2; this client reads version 1",
        ),
        (
            lambda e: e[:9] + b"\x00\x01" + e[11:],
            "unsupported HPKE suite kem=0x0020 kdf=0x0001 aead=0x0001; expected kem=0x0020 kdf=0x0001 aead=0x0002",
        ),
    ],
    ids=["short", "empty", "magic", "version", "suite"],
)
def test_malformed_envelopes_are_named(round_keys, info, envelope, mutate, message):
    with pytest.raises(MalformedEnvelopeError) as caught:
        open_sealed(mutate(envelope), round_keys[0], info)
    assert str(caught.value) == message


def test_errors_share_one_base_class():
    assert issubclass(MalformedEnvelopeError, SealError)
    assert issubclass(EnvelopeAuthenticationError, SealError)
    assert issubclass(InvalidKeyError, SealError)


def test_keys_of_the_wrong_size_are_refused(round_keys, info, envelope):
    with pytest.raises(InvalidKeyError, match="^public key must be 32 raw bytes, got 31$"):
        seal(b"x", round_keys[1][:31], info)
    with pytest.raises(InvalidKeyError, match="^private key must be 32 raw bytes, got 33$"):
        open_sealed(envelope, round_keys[0] + b"\x00", info)
    with pytest.raises(InvalidKeyError, match="^public key must be bytes, got str$"):
        seal(b"x", round_keys[1].hex(), info)


def test_low_order_public_key_is_refused(info):
    with pytest.raises(InvalidKeyError, match="^public key is not usable for X25519"):
        seal(b"x", bytes(32), info)


def test_key_from_hex_parses_the_wire_form():
    assert key_from_hex(" " + "Ab" * 32 + "\n") == bytes([0xAB]) * 32
    with pytest.raises(
        InvalidKeyError, match=r"^a key must be 64 hex digits \(32 bytes\), got 3 characters$"
    ):
        key_from_hex("abc")
    with pytest.raises(InvalidKeyError, match="^a key must contain only hex digits 0-9a-f$"):
        key_from_hex("zz" * 32)


def test_submission_info_matches_the_agreed_bytes(arena_vectors):
    for vector in arena_vectors["submission_info"]:
        info = submission_info(vector["tournament"], int(vector["round"]), int(vector["model_id"]))
        assert info.hex() == vector["info"]


def test_submission_info_fields_cannot_run_into_each_other():
    # Without the length prefix, ("ab", ...) and ("a", ...) + a shifted integer could collide.
    assert submission_info("ab", 1, 1) != submission_info("a", 1, 1)
    assert len({submission_info("t", r, m) for r in range(3) for m in range(3)}) == 9


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (("", 1, 1), ValueError, "tournament slug must be 1..255 bytes of UTF-8, got 0"),
        (("x" * 256, 1, 1), ValueError, "tournament slug must be 1..255 bytes of UTF-8, got 256"),
        ((b"slug", 1, 1), TypeError, "tournament must be a str slug"),
        (("t", -1, 1), ValueError, "round_number must be in 0..2**64-1, got -1"),
        (("t", 1, 2**64), ValueError, f"model_id must be in 0..2**64-1, got {2**64}"),
        (("t", True, 1), TypeError, "round_number must be an int, got bool"),
        (("t", 1, "7"), TypeError, "model_id must be an int, got str"),
    ],
)
def test_submission_info_rejects_bad_fields(args, error, message):
    with pytest.raises(error) as caught:
        submission_info(*args)
    assert str(caught.value) == message
