"""Celery tasks of the live feed: thin wrappers that call live/publish.py and own retries."""

from celery import shared_task
from django.db import OperationalError

from live import publish


# A lost database connection is worth a retry; the publish is idempotent (it diffs against
# what was last published), so a retry after a partial run sends nothing twice.
@shared_task(
    name="live.tasks.leaderboard_publish",
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=0.2,
    max_retries=5,
)
def leaderboard_publish(tournament_id: int, reason: str) -> int | None:
    return publish.leaderboard_publish(tournament_id=tournament_id, reason=reason)
