"""Reads for accounts."""

from functools import cache

from django.contrib.auth.models import User
from django.db import connection

from accounts.models import ApiKey
from config.lean_sql import column, partial_instance, table

# What a request needs of the key's user; any other field loads on first access.
_USER_FIELDS = ("id", "username", "is_active", "is_staff", "is_superuser")


@cache
def _key_with_user_sql(vendor: str) -> str:
    """The statement, built once per database vendor: its text never changes."""
    user_columns = ", ".join(f"u.{column(User, f)} AS user__{f}" for f in _USER_FIELDS)
    return (
        f"SELECT k.*, {user_columns} FROM {table(ApiKey)} k "
        f"JOIN {table(User)} u ON u.{column(User, 'id')} = k.{column(ApiKey, 'user')} "
        f"WHERE k.{column(ApiKey, 'key_hash')} = %s"
    )


def api_key_with_user(key_hash: str) -> ApiKey | None:
    """The key with this hash and its user, in one statement (every API request runs it, so
    it is SQL rather than a QuerySet: config/lean_sql.py)."""
    keys = ApiKey.objects.raw(_key_with_user_sql(connection.vendor), [key_hash])
    api_key = next(iter(keys), None)
    if api_key is None:
        return None
    values = {f: getattr(api_key, f"user__{f}") for f in _USER_FIELDS}
    # SQLite hands booleans back as 0/1 when they are not read through the ORM's converters.
    values.update({f: bool(values[f]) for f in _USER_FIELDS if f.startswith("is_")})
    api_key.user = partial_instance(User, values)
    return api_key
