"""At most one process steps a given tournament at a time (tournaments/tasks.py).

The lease is a cache key set only if absent (Redis' SET NX in production) with a short time
to live, renewed after every step: a worker killed while holding it blocks its tournament
for at most ARENA_TOURNAMENT_LEASE_SECONDS. Steps are idempotent under row locks, so a step
that outlasts the lease and meets a second task is safe; the lease only keeps workers from
queueing up on the same tournament.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache


@dataclass
class TickLease:
    key: str
    token: str
    held: bool

    def renew(self) -> None:
        """Push the expiry out again (between steps)."""
        if self.held:
            cache.touch(self.key, timeout=settings.ARENA_TOURNAMENT_LEASE_SECONDS)


@contextmanager
def tick_lease(tournament_id: int) -> Iterator[TickLease]:
    """A lease whose `held` says whether this caller may step the tournament now."""
    key = f"tournament-tick-lease:{tournament_id}"
    token = uuid.uuid4().hex
    lease = TickLease(
        key, token, cache.add(key, token, timeout=settings.ARENA_TOURNAMENT_LEASE_SECONDS)
    )
    try:
        yield lease
    finally:
        # Free it only if it is still ours: after its time to live it may be another's.
        if lease.held and cache.get(key) == token:
            cache.delete(key)
