"""Reads for accounts."""

from functools import cache

from django.contrib.auth.models import User
from django.db import connection

from accounts.models import ApiKey
from core.lean_sql import Part, column, select_list, split_row, table

# The key as a request sees it (request.auth), and what a request needs of its user; any
# other user field loads on first access. Other hand-written reads that start from a key
# (selectors.upload_context) select these parts from KEY_WITH_USER_FROM too.
API_KEY_PART = Part(ApiKey, "k", tuple(f.attname for f in ApiKey._meta.concrete_fields))
USER_PART = Part(User, "u", ("id", "username", "is_active", "is_staff", "is_superuser"))


def key_with_user_from() -> str:
    """`FROM` the key table (alias k) joined to its user (alias u)."""
    return (
        f"FROM {table(ApiKey)} k "
        f"JOIN {table(User)} u ON u.{column(User, 'id')} = k.{column(ApiKey, 'user')}"
    )


@cache
def _key_with_user_sql(vendor: str) -> str:
    """The statement, built once per database vendor: its text never changes."""
    return (
        f"SELECT {select_list(API_KEY_PART, USER_PART)} {key_with_user_from()} "
        f"WHERE k.{column(ApiKey, 'key_hash')} = %s"
    )


def api_key_with_user(key_hash: str) -> ApiKey | None:
    """The key with this hash and its user, in one statement (every API request runs it, so
    it is SQL rather than a QuerySet: core/lean_sql.py)."""
    with connection.cursor() as cursor:
        cursor.execute(_key_with_user_sql(connection.vendor), [key_hash])
        row = cursor.fetchone()
    if row is None:
        return None
    api_key, user = split_row(row, API_KEY_PART, USER_PART)
    api_key.user = user
    return api_key
