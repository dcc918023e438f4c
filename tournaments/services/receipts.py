"""Upload receipts, signed with the platform's Ed25519 key (settings.ARENA_RECEIPT_SIGNING_KEY).

A receipt says: this platform received the envelope named `cid` for this tournament, round
and model at this time. The format is arena_client.receipts' (canonical JSON), so a modeler
verifies it with the public key from GET /api/platform and nothing of ours.
"""

from functools import lru_cache

from arena_client.receipts import Receipt, sign_receipt
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from tournaments.models import Submission

KEY_SIZE = 32


def _signing_key() -> bytes:
    try:
        key = bytes.fromhex((settings.ARENA_RECEIPT_SIGNING_KEY or "").strip())
    except ValueError:
        key = b""
    if len(key) != KEY_SIZE:
        raise ImproperlyConfigured(
            f"ARENA_RECEIPT_SIGNING_KEY must be {2 * KEY_SIZE} hex digits ({KEY_SIZE} bytes)"
        )
    return key


@lru_cache(maxsize=2)
def _private_key(key: bytes) -> ed25519.Ed25519PrivateKey:
    # Loaded once per key rather than for every upload's receipt.
    return ed25519.Ed25519PrivateKey.from_private_bytes(key)


def platform_receipt_public_key() -> bytes:
    """The raw Ed25519 public key that verifies this platform's receipts."""
    return _private_key(_signing_key()).public_key().public_bytes_raw()


def submission_receipt(*, submission: Submission) -> Receipt:
    """The receipt of a stored submission (its fields come from the row)."""
    round = submission.round
    return Receipt(
        tournament=round.tournament.slug,
        round_number=round.number,
        model_id=submission.model_id,
        cid=submission.cid,
        received_at=submission.created_at,
    )


def receipt_sign(*, receipt: Receipt) -> bytes:
    """The platform's 64-byte signature over the receipt's canonical bytes."""
    return sign_receipt(_private_key(_signing_key()), receipt)
