"""Celery tasks for DEX tournaments: thin — load ids, call a service, own retries."""

import logging

from celery import shared_task

from dex.services.trading import dex_rebalance
from tournaments.models import Round

log = logging.getLogger("arena.dex")


@shared_task(name="dex.tasks.rebalance_round", bind=True, max_retries=5, default_retry_delay=15)
def rebalance_round(self, round_id: int) -> str:
    """Run (or resume) a round's rebalance. A node error is retried here; the rebalance is
    idempotent (one-time trade keys, the journal), so a retry never trades twice, and the
    scheduler restarts it later if every retry fails."""
    try:
        return dex_rebalance(round=Round.objects.select_related("tournament").get(pk=round_id)).rebalance_state
    except Exception as exc:  # noqa: BLE001 - logged; retried by Celery or the next tick
        log.warning("rebalance of round %s failed: %s", round_id, exc)
        if self.request.is_eager:
            return "pending"
        raise self.retry(exc=exc) from exc


def rebalance_round_enqueue(round_id: int) -> None:
    """Queue the round's rebalance (the services take this as their `enqueue_rebalance`). A
    broker that refuses is only logged: the scheduler re-enqueues pending rebalances."""
    try:
        rebalance_round.delay(round_id)
    except Exception:  # noqa: BLE001 - the scheduler re-enqueues pending rebalances
        log.exception("could not enqueue the rebalance of round %s", round_id)
