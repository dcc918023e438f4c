"""Sealed prediction envelopes: HPKE (RFC 9180) base mode for one round's public key.

Suite: DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM, single-shot (sequence 0, empty
AAD). The browser (static/js/hpke.mjs) produces byte-identical envelopes, so the server opens
both with the same code.

Envelope (all integers big-endian)::

    offset  size  field
    0       4     magic  b"ARNS"                       ("ARena Sealed")
    4       1     format version  0x01
    5       2     KEM id   0x0020  DHKEM(X25519, HKDF-SHA256)
    7       2     KDF id   0x0001  HKDF-SHA256
    9       2     AEAD id  0x0002  AES-256-GCM
    11      32    enc: the sender's ephemeral X25519 public key
    43      n+16  AES-256-GCM ciphertext of the n plaintext bytes, followed by the 16-byte tag

The header is not fed to the AEAD; it needs no authentication because exactly one value of it
is accepted, so flipping a header bit can only turn the envelope into a rejected one.

``info`` (see :func:`submission_info`) binds tournament, round and model into the HPKE key
schedule: an envelope replayed into another round or onto another model derives a different
key and fails authentication like any tampered envelope.
"""

from __future__ import annotations

import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import x25519

__all__ = [
    "ENVELOPE_HEADER",
    "ENVELOPE_OVERHEAD",
    "INFO_LABEL",
    "KEY_SIZE",
    "EnvelopeAuthenticationError",
    "InvalidKeyError",
    "MalformedEnvelopeError",
    "SealError",
    "check_envelope",
    "generate_round_keypair",
    "key_from_hex",
    "open_sealed",
    "public_key_for",
    "seal",
    "submission_info",
]

KEM_ID = 0x0020
KDF_ID = 0x0001
AEAD_ID = 0x0002
MAGIC = b"ARNS"
FORMAT_VERSION = 1
ENVELOPE_HEADER = MAGIC + struct.pack(">BHHH", FORMAT_VERSION, KEM_ID, KDF_ID, AEAD_ID)
KEY_SIZE = 32
ENC_SIZE = 32
TAG_SIZE = 16
ENVELOPE_OVERHEAD = len(ENVELOPE_HEADER) + ENC_SIZE + TAG_SIZE

INFO_LABEL = b"arena/v1/submission"
MAX_SLUG_BYTES = 255
MAX_UINT64 = 2**64 - 1

_SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


class SealError(Exception):
    """Base class: an envelope could not be produced or opened."""


class InvalidKeyError(SealError):
    """A key is not a raw 32-byte X25519 key (or is a degenerate one)."""


class MalformedEnvelopeError(SealError):
    """The bytes are not an Arena envelope of a supported version and suite."""


class EnvelopeAuthenticationError(SealError):
    """AES-GCM authentication failed.

    HPKE cannot tell these causes apart, by design: the envelope was altered, it was sealed for
    another tournament, round or model (replay), or it was sealed to another round's key.
    """


def generate_round_keypair() -> tuple[bytes, bytes]:
    """Return a fresh ``(private_key, public_key)`` pair as raw 32-byte X25519 keys."""
    private_key = x25519.X25519PrivateKey.generate()
    return private_key.private_bytes_raw(), private_key.public_key().public_bytes_raw()


def public_key_for(private_key: bytes) -> bytes:
    """Return the raw public key of a raw X25519 private key."""
    return _load_private_key(private_key).public_key().public_bytes_raw()


def key_from_hex(text: str) -> bytes:
    """Parse a key in its wire form (64 hex digits, as published with a round)."""
    cleaned = text.strip()
    if len(cleaned) != 2 * KEY_SIZE:
        raise InvalidKeyError(
            f"a key must be {2 * KEY_SIZE} hex digits ({KEY_SIZE} bytes), got {len(cleaned)} characters"
        )
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise InvalidKeyError("a key must contain only hex digits 0-9a-f") from None


def submission_info(tournament: str, round_number: int, model_id: int) -> bytes:
    """Encode the HPKE ``info`` that binds a submission to its tournament, round and model.

    Layout (big-endian)::

        b"arena/v1/submission"
        u16  byte length of the tournament slug, then the slug in UTF-8 (1..255 bytes)
        u64  round number
        u64  model id

    The only variable-length field is length-prefixed and the label is a constant, so two
    different (tournament, round, model) triples can never produce the same bytes.
    """
    if not isinstance(tournament, str):
        raise TypeError("tournament must be a str slug")
    slug = tournament.encode("utf-8")
    if not 1 <= len(slug) <= MAX_SLUG_BYTES:
        raise ValueError(
            f"tournament slug must be 1..{MAX_SLUG_BYTES} bytes of UTF-8, got {len(slug)}"
        )
    for name, value in (("round_number", round_number), ("model_id", model_id)):
        # bool is an int subclass; True as a round number is a bug, not a round.
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if not 0 <= value <= MAX_UINT64:
            raise ValueError(f"{name} must be in 0..2**64-1, got {value}")
    return (
        INFO_LABEL
        + struct.pack(">H", len(slug))
        + slug
        + struct.pack(">QQ", round_number, model_id)
    )


def seal(plaintext: bytes, public_key: bytes, info: bytes) -> bytes:
    """Encrypt ``plaintext`` to a round's raw X25519 ``public_key``; return the envelope."""
    recipient = _load_public_key(public_key)
    try:
        sealed = _SUITE.encrypt(bytes(plaintext), recipient, info=bytes(info))
    except ValueError as error:
        # OpenSSL refuses low-order points (the DH output would be all zeros).
        raise InvalidKeyError(f"public key is not usable for X25519: {error}") from None
    return ENVELOPE_HEADER + sealed


def open_sealed(envelope: bytes, private_key: bytes, info: bytes) -> bytes:
    """Decrypt an envelope with the round's raw X25519 ``private_key``; return the plaintext.

    Raises :class:`MalformedEnvelopeError` for bytes that are not a supported envelope,
    :class:`InvalidKeyError` for a bad key, and :class:`EnvelopeAuthenticationError` when the
    envelope is tampered with, replayed under another ``info``, or sealed to another key.
    """
    envelope = bytes(envelope)
    recipient = _load_private_key(private_key)
    _check_header(envelope)
    try:
        return _SUITE.decrypt(envelope[len(ENVELOPE_HEADER) :], recipient, info=bytes(info))
    except (InvalidTag, ValueError):
        # ValueError: enc is a low-order point; only a forged envelope carries one.
        raise EnvelopeAuthenticationError(
            "envelope failed authentication: it was altered, sealed for another "
            "tournament/round/model, or sealed to a different round key"
        ) from None


def check_envelope(envelope: bytes) -> None:
    """Check, without any key, that ``envelope`` is a well-formed Arena envelope carrying at
    least one byte; raise :class:`MalformedEnvelopeError` saying what is wrong.

    The platform runs this on upload: it cannot read a submission before close, but it can
    refuse bytes that could never be opened (plaintext sent by mistake, a truncated file).
    """
    envelope = bytes(envelope)
    _check_header(envelope)
    if len(envelope) == ENVELOPE_OVERHEAD:
        raise MalformedEnvelopeError(
            f"envelope is {ENVELOPE_OVERHEAD} bytes, only the header, key and tag: it seals an "
            "empty file"
        )


def _check_header(envelope: bytes) -> None:
    if len(envelope) < ENVELOPE_OVERHEAD:
        raise MalformedEnvelopeError(
            f"envelope is {len(envelope)} bytes; the smallest possible is {ENVELOPE_OVERHEAD}"
        )
    if envelope[:4] != MAGIC:
        raise MalformedEnvelopeError(
            f"not an Arena envelope: starts with {envelope[:4]!r}, expected {MAGIC!r}"
        )
    version, kem_id, kdf_id, aead_id = struct.unpack(">BHHH", envelope[4 : len(ENVELOPE_HEADER)])
    if version != FORMAT_VERSION:
        raise MalformedEnvelopeError(
            f"unsupported envelope version {version}; this client reads version {FORMAT_VERSION}"
        )
    if (kem_id, kdf_id, aead_id) != (KEM_ID, KDF_ID, AEAD_ID):
        raise MalformedEnvelopeError(
            f"unsupported HPKE suite kem=0x{kem_id:04x} kdf=0x{kdf_id:04x} aead=0x{aead_id:04x}; "
            f"expected kem=0x{KEM_ID:04x} kdf=0x{KDF_ID:04x} aead=0x{AEAD_ID:04x}"
        )


def _load_public_key(public_key: bytes) -> x25519.X25519PublicKey:
    _check_key_length(public_key, "public")
    return x25519.X25519PublicKey.from_public_bytes(bytes(public_key))


def _load_private_key(private_key: bytes) -> x25519.X25519PrivateKey:
    _check_key_length(private_key, "private")
    return x25519.X25519PrivateKey.from_private_bytes(bytes(private_key))


def _check_key_length(key: bytes, kind: str) -> None:
    if not isinstance(key, bytes | bytearray | memoryview):
        raise InvalidKeyError(f"{kind} key must be bytes, got {type(key).__name__}")
    if len(key) != KEY_SIZE:
        raise InvalidKeyError(f"{kind} key must be {KEY_SIZE} raw bytes, got {len(key)}")
