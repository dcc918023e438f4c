"""Round keys: each round's HPKE key pair, its private half stored only encrypted.

A module of its own (not a service) because both the services (opening envelopes) and the
selectors (publishing the key after resolution) read it.

The private key is sealed with AES-256-GCM under settings.ARENA_KEY_ENCRYPTION_KEY (the
"KEK"), with the tournament slug and round number as associated data, so a sealed key copied
onto another round's row does not open. `round_private_key` is the only way to get it back,
and it refuses while the round is scheduled or open: before close nobody, the platform
included, can read a submission.
"""

import hashlib
import os
from datetime import datetime

from arena_client.sealing import generate_round_keypair, public_key_for
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from core.errors import Conflict
from tournaments.models import Round, RoundKey, RoundState

SEALED_KEY_VERSION = 1
NONCE_SIZE = 12
KEY_SIZE = 32
# The round key may be used once the round is past these states.
_BEFORE_CLOSE = (RoundState.SCHEDULED, RoundState.OPEN)
_PUBLISHED = (RoundState.RESOLVED, RoundState.SETTLED)


class RoundKeyError(RuntimeError):
    """A stored round key cannot be opened: wrong key-encryption key, or a damaged row."""


def _hex_key(name: str, value: str) -> bytes:
    try:
        key = bytes.fromhex((value or "").strip())
    except ValueError:
        key = b""
    if len(key) != KEY_SIZE:
        raise ImproperlyConfigured(f"{name} must be {2 * KEY_SIZE} hex digits ({KEY_SIZE} bytes)")
    return key


def _kek() -> tuple[bytes, str]:
    """The key-encryption key and its id (a hash prefix, never the key itself)."""
    key = _hex_key("ARENA_KEY_ENCRYPTION_KEY", settings.ARENA_KEY_ENCRYPTION_KEY)
    return key, hashlib.sha256(b"arena/kek-id/v1" + key).hexdigest()[:16]


def _binding(round: Round) -> bytes:
    # Slug and number, not database ids: they survive a dump and restore into another database.
    return f"arena/round-key/v1|{round.tournament.slug}|{round.number}".encode()


def _seal_private_key(round: Round, private_key: bytes) -> tuple[str, str]:
    kek, kek_id = _kek()
    nonce = os.urandom(NONCE_SIZE)
    sealed = AESGCM(kek).encrypt(nonce, private_key, _binding(round))
    return (bytes([SEALED_KEY_VERSION]) + nonce + sealed).hex(), kek_id


def round_key_create(*, round: Round, now: datetime) -> RoundKey:
    """Give the round its key pair (once; a second call returns the existing key).

    Call inside the round's row lock (round_open does), so two openers cannot race.
    """
    existing = RoundKey.objects.filter(round=round).first()
    if existing is not None:
        return existing
    private_key, public_key = generate_round_keypair()
    sealed, kek_id = _seal_private_key(round, private_key)
    return RoundKey.objects.create(
        round=round,
        public_key=public_key.hex(),
        private_key_encrypted=sealed,
        kek_id=kek_id,
        created_at=now,
    )


def round_public_key(*, round: Round) -> bytes | None:
    """The raw public key modelers seal to, or None before the round has a key."""
    key = RoundKey.objects.filter(round=round).first()
    return bytes.fromhex(key.public_key) if key else None


def round_private_key(*, round: Round) -> bytes:
    """The round's raw X25519 private key. Refuses (Conflict) before the round has closed."""
    if round.state in _BEFORE_CLOSE:
        raise Conflict(
            f"round {round.number} is {round.state}: its private key is used only after the "
            f"round closes (at {round.closes_at.isoformat()})",
            code="round_not_closed",
        )
    stored = RoundKey.objects.filter(round=round).first()
    if stored is None:
        raise Conflict(f"round {round.number} has no key", code="no_round_key")
    kek, kek_id = _kek()
    if stored.kek_id != kek_id:
        raise RoundKeyError(
            f"the key of {round} was sealed under key-encryption key {stored.kek_id}, but "
            f"ARENA_KEY_ENCRYPTION_KEY is {kek_id}: restore the key it was made with"
        )
    blob = bytes.fromhex(stored.private_key_encrypted)
    if not blob or blob[0] != SEALED_KEY_VERSION:
        raise RoundKeyError(f"the stored key of {round} has an unknown format")
    nonce, sealed = blob[1 : 1 + NONCE_SIZE], blob[1 + NONCE_SIZE :]
    try:
        private_key = AESGCM(kek).decrypt(nonce, sealed, _binding(round))
    except InvalidTag:
        raise RoundKeyError(f"the stored key of {round} fails authentication") from None
    if public_key_for(private_key).hex() != stored.public_key:
        raise RoundKeyError(f"the stored private key of {round} does not match its public key")
    return private_key


def round_private_key_published(*, round: Round) -> bytes | None:
    """The private key once the round has resolved (published for re-verification), else None."""
    if round.state not in _PUBLISHED or not RoundKey.objects.filter(round=round).exists():
        return None
    return round_private_key(round=round)
