"""Log-in throttle: failed log-ins are counted per username and per client address.

A window opens at the first failure and lasts ARENA_LOGIN_WINDOW_SECONDS. While a count is
at its limit (ARENA_LOGIN_FAILURES_PER_USERNAME, ARENA_LOGIN_FAILURES_PER_ADDRESS; 0 turns a
limit off) every log-in for that username, or from that address, is refused *before* the
password is checked — a right password too, so refusals tell a guesser nothing. A success
clears its username's count, never the address's (one's own account must not reset the
budget for guessing others').

Counters live in Django's cache: Redis when REDIS_URL is set, so every web process counts
together; the process's memory on the embedded profile (one process). Per-username limits
let anyone lock a user out for one window; that is the price of stopping password guessing,
and the window bounds it.
"""

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from accounts.client_address import address_bucket

KEY_PREFIX = "arena:login-failures"


@dataclass(frozen=True)
class LoginRefused:
    retry_after: int  # seconds until the window that refused ends
    message: str


def _username_key(username: str) -> str:
    # Hashed: cache keys stay short and safe whatever the user typed, and hold no usernames.
    return f"{KEY_PREFIX}:user:{hashlib.sha256(username.casefold().encode()).hexdigest()}"


def _address_key(bucket: str) -> str:
    return f"{KEY_PREFIX}:addr:{hashlib.sha256(bucket.encode()).hexdigest()}"


def _counters(*, username: str, address: str | None) -> list[tuple[str, int, str]]:
    """(cache key, limit, whose) for each count that applies to this attempt."""
    counters = [(_username_key(username), settings.ARENA_LOGIN_FAILURES_PER_USERNAME, "for this username")]
    bucket = address_bucket(address)
    if bucket is not None:
        counters.append((_address_key(bucket), settings.ARENA_LOGIN_FAILURES_PER_ADDRESS, "from your address"))
    return [c for c in counters if c[1] > 0]


def retry_phrase(seconds: int) -> str:
    """"45 seconds", "1 minute", "15 minutes": when a refused client may try again."""
    if seconds <= 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minutes"


def login_refusal(*, username: str, address: str | None) -> LoginRefused | None:
    """Why a log-in as `username` from `address` must be refused now, or None to go on."""
    now = time.time()
    for key, limit, whose in _counters(username=username, address=address):
        if cache.get(key, 0) < limit:
            continue
        until = cache.get(f"{key}:until", now + settings.ARENA_LOGIN_WINDOW_SECONDS)
        retry_after = max(1, math.ceil(until - now))
        return LoginRefused(
            retry_after=retry_after,
            message=(
                f"Too many failed log-in attempts {whose}. "
                f"Try again in {retry_phrase(retry_after)}."
            ),
        )
    return None


def login_failure_record(*, username: str, address: str | None) -> None:
    """Count one failed log-in (wrong password or unknown username) on each counter."""
    window = settings.ARENA_LOGIN_WINDOW_SECONDS
    now = time.time()
    for key, _limit, _whose in _counters(username=username, address=address):
        # add() only sets a missing key: the first failure opens the window (and notes when
        # it ends, for the refusal's message), later ones count within it. incr is atomic
        # in Redis and in the local-memory cache, so concurrent failures all count.
        if not cache.add(key, 1, timeout=window):
            try:
                cache.incr(key)
                continue
            except ValueError:  # the window ended between add() and incr()
                cache.set(key, 1, timeout=window)
        cache.set(f"{key}:until", now + window, timeout=window)


def login_success_record(*, username: str) -> None:
    key = _username_key(username)
    cache.delete_many([key, f"{key}:until"])
