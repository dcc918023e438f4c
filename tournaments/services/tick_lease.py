"""At most one process steps a given tournament at a time (tournaments/tasks.py).

The lease is a cache key set only if absent (Redis' SET NX in production) with a short time
to live. While it is held a heartbeat thread renews it every third of that time, so a step
that runs long (a slow node, a large close) keeps it, and a worker killed while holding it
blocks its tournament for at most ARENA_TOURNAMENT_LEASE_SECONDS. The task's time limit
(ARENA_TOURNAMENT_STEP_TIME_LIMIT) bounds how long any one holder can keep it. Steps are
idempotent under row locks, so the lease is about not queueing workers on one tournament.
"""

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache


@dataclass
class TickLease:
    key: str
    token: str
    held: bool
    _stop: threading.Event = field(default_factory=threading.Event)

    def renew(self) -> None:
        """Push the expiry out again, if the lease is still this holder's."""
        if self.held and cache.get(self.key) == self.token:
            cache.touch(self.key, timeout=settings.ARENA_TOURNAMENT_LEASE_SECONDS)

    def _heartbeat(self) -> None:
        interval = max(settings.ARENA_TOURNAMENT_LEASE_SECONDS / 3, 0.2)
        while not self._stop.wait(interval):
            try:
                self.renew()
            except Exception:  # noqa: BLE001 - a cache hiccup: the next beat tries again
                pass


@contextmanager
def tick_lease(tournament_id: int) -> Iterator[TickLease]:
    """A lease whose `held` says whether this caller may step the tournament now."""
    key = f"tournament-tick-lease:{tournament_id}"
    token = uuid.uuid4().hex
    lease = TickLease(
        key, token, cache.add(key, token, timeout=settings.ARENA_TOURNAMENT_LEASE_SECONDS)
    )
    beat = None
    if lease.held:
        beat = threading.Thread(target=lease._heartbeat, name=f"lease-{tournament_id}", daemon=True)
        beat.start()
    try:
        yield lease
    finally:
        lease._stop.set()
        if beat is not None:
            beat.join()
        # Free it only if it is still ours: after its time to live it may be another's.
        if lease.held and cache.get(key) == token:
            cache.delete(key)
