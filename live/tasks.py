"""Celery tasks of the live feed: thin wrappers that call live/publish.py and own retries."""

from celery import shared_task
from django.db import OperationalError

from live import publish


# A lost database connection is worth a retry; the publish is idempotent (it diffs against
# what was last published), so a retry after a partial run sends nothing twice.
#
# The task's name is a wire contract with queued messages and running workers, so it keeps the
# name it had before the live feed left tournaments/: a rolling deploy drops nothing.
@shared_task(
    name="tournaments.tasks.leaderboard_publish",
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=0.2,
    max_retries=5,
)
def leaderboard_publish(tournament_id: int, reason: str) -> int | None:
    return publish.leaderboard_publish(tournament_id=tournament_id, reason=reason)
