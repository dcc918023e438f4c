"""Celery tasks for the chain: thin — load ids, call a service, own retries."""

import logging

from celery import shared_task

from chain.services import chain_index, chain_post_commitments
from tournaments.models import Round

log = logging.getLogger("arena.chain")


@shared_task(name="chain.tasks.post_commitments", bind=True, max_retries=5, default_retry_delay=10)
def post_commitments(self, round_id: int) -> None:
    try:
        chain_post_commitments(round=Round.objects.select_related("tournament").get(pk=round_id))
    except Exception as exc:  # noqa: BLE001 - settlement re-posts if every retry fails
        log.warning("posting commitments of round %s failed: %s", round_id, exc)
        if not self.request.is_eager:
            raise self.retry(exc=exc) from exc


@shared_task(name="chain.tasks.index_events", ignore_result=True)
def index_events() -> int:
    return chain_index()
