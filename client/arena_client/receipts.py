"""Upload receipts: what the platform signs with its Ed25519 key when it accepts a ciphertext.

A receipt is the platform's promise that it holds this CID for this tournament, round and model
since ``received_at``. The signed bytes are canonical JSON::

    {"cid":"bafk...","model":7,"received_at":"2026-03-01T12:00:00.000000Z","round":12,
     "tournament":"crypto-daily","type":"arena.receipt.v1"}

Canonical means: keys sorted, no whitespace (separators ``,`` and ``:``), UTF-8 without
escaping non-ASCII, integers as JSON integers, and ``received_at`` in UTC written as
``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (always six fractional digits). The ``type`` member separates
receipts from anything else the same key might ever sign. Signatures travel as lowercase hex.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from .cid import CidError, parse_cid

__all__ = [
    "RECEIPT_TYPE",
    "Receipt",
    "ReceiptError",
    "canonical_json",
    "generate_signing_keypair",
    "sign_receipt",
    "verify_receipt",
]

RECEIPT_TYPE = "arena.receipt.v1"
SIGNATURE_SIZE = 64
KEY_SIZE = 32
_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_TIMESTAMP_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_FIELDS = {"cid", "model", "received_at", "round", "tournament", "type"}


class ReceiptError(ValueError):
    """A receipt is malformed or its signature does not verify."""


@dataclass(frozen=True)
class Receipt:
    tournament: str
    round_number: int
    model_id: int
    cid: str
    received_at: datetime

    def __post_init__(self) -> None:
        if not isinstance(self.tournament, str) or not self.tournament:
            raise ReceiptError("receipt tournament must be a non-empty string")
        for name in ("round_number", "model_id"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ReceiptError(f"receipt {name} must be a non-negative int, got {value!r}")
        try:
            parse_cid(self.cid)
        except CidError as error:
            raise ReceiptError(f"receipt cid: {error}") from None
        if not isinstance(self.received_at, datetime) or self.received_at.utcoffset() is None:
            raise ReceiptError("receipt received_at must be a timezone-aware datetime")
        # Normalise to UTC here so equal instants give equal canonical bytes.
        object.__setattr__(self, "received_at", self.received_at.astimezone(UTC))

    def to_dict(self) -> dict[str, Any]:
        return {
            "cid": self.cid,
            "model": self.model_id,
            "received_at": self.received_at.strftime(_TIMESTAMP_FORMAT),
            "round": self.round_number,
            "tournament": self.tournament,
            "type": RECEIPT_TYPE,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Receipt:
        """Rebuild a receipt from its JSON members, refusing anything non-canonical."""
        if not isinstance(data, dict):
            raise ReceiptError("a receipt is a JSON object")
        if set(data) != _FIELDS:
            missing = sorted(_FIELDS - set(data))
            extra = sorted(set(data) - _FIELDS)
            raise ReceiptError(f"receipt members differ: missing {missing}, unexpected {extra}")
        if data["type"] != RECEIPT_TYPE:
            raise ReceiptError(f"receipt type is {data['type']!r}, expected {RECEIPT_TYPE!r}")
        stamp = data["received_at"]
        if not isinstance(stamp, str) or not _TIMESTAMP_PATTERN.fullmatch(stamp):
            raise ReceiptError(
                f"receipt received_at {stamp!r} is not UTC 'YYYY-MM-DDTHH:MM:SS.ffffffZ'"
            )
        received_at = datetime.strptime(stamp, _TIMESTAMP_FORMAT).replace(tzinfo=UTC)
        return cls(data["tournament"], data["round"], data["model"], data["cid"], received_at)

    def canonical_bytes(self) -> bytes:
        """The exact bytes that are signed."""
        return canonical_json(self.to_dict())


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8, no NaN/Infinity."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def generate_signing_keypair() -> tuple[bytes, bytes]:
    """Return a fresh Ed25519 ``(private_key, public_key)`` pair as raw 32-byte keys."""
    key = ed25519.Ed25519PrivateKey.generate()
    return key.private_bytes_raw(), key.public_key().public_bytes_raw()


def sign_receipt(
    private_key: bytes | ed25519.Ed25519PrivateKey, receipt: Receipt
) -> bytes:
    """Sign a receipt's canonical bytes; return the 64-byte Ed25519 signature. The key is
    its 32 raw bytes, or a key already loaded (a signer of many receipts loads it once)."""
    if not isinstance(private_key, ed25519.Ed25519PrivateKey):
        if len(private_key) != KEY_SIZE:
            raise ReceiptError(
                f"Ed25519 private key must be {KEY_SIZE} bytes, got {len(private_key)}"
            )
        private_key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(private_key))
    return private_key.sign(receipt.canonical_bytes())


def verify_receipt(public_key_bytes: bytes, receipt: Receipt, signature: bytes) -> None:
    """Check the platform's signature on ``receipt``; raise :class:`ReceiptError` if it fails."""
    if len(public_key_bytes) != KEY_SIZE:
        raise ReceiptError(
            f"Ed25519 public key must be {KEY_SIZE} bytes, got {len(public_key_bytes)}"
        )
    if len(signature) != SIGNATURE_SIZE:
        raise ReceiptError(
            f"Ed25519 signature must be {SIGNATURE_SIZE} bytes, got {len(signature)}"
        )
    try:
        key = ed25519.Ed25519PublicKey.from_public_bytes(bytes(public_key_bytes))
        key.verify(bytes(signature), receipt.canonical_bytes())
    except (InvalidSignature, ValueError):
        raise ReceiptError(
            "receipt signature does not match: the receipt was altered or not signed by this "
            "platform key"
        ) from None
