"""Writes for accounts: API key issue and revoke."""

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import ApiKey, ApiScope
from core.lean_sql import column, table

KEY_PREFIX = "arena_"


def hash_api_key(raw_key: str) -> str:
    # Keys carry 256 bits of randomness, so a plain SHA-256 is as strong as a slow KDF here.
    return hashlib.sha256(raw_key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    raw_key: str  # shown to the user once, never stored


def api_key_create(*, user: User, name: str, scopes: Iterable[str]) -> IssuedKey:
    scopes = sorted(set(scopes))
    unknown = [s for s in scopes if s not in ApiScope.values]
    if unknown:
        raise ValidationError(
            f"unknown scope(s): {', '.join(unknown)}; allowed: {', '.join(ApiScope.values)}"
        )
    if not scopes:
        raise ValidationError("an API key needs at least one scope")
    if not name.strip():
        raise ValidationError("an API key needs a name")
    prefix = secrets.token_hex(4)
    raw_key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        user=user, name=name.strip(), prefix=prefix, key_hash=hash_api_key(raw_key), scopes=scopes
    )
    return IssuedKey(api_key=api_key, raw_key=raw_key)


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, by: User) -> ApiKey:
    if api_key.user_id != by.id:
        raise PermissionError("only the key's owner can revoke it")
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def api_key_touch(*, api_key: ApiKey) -> None:
    """Record use; at most once a minute so reads don't turn into writes on every call."""
    now = timezone.now()
    if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
        # SQL, not QuerySet.update: it runs in the request path (core/lean_sql.py).
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table(ApiKey)} SET {column(ApiKey, 'last_used_at')} = %s "
                f"WHERE {column(ApiKey, 'id')} = %s",
                [connection.ops.adapt_datetimefield_value(now), api_key.pk],
            )
        api_key.last_used_at = now
