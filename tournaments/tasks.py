"""Celery tasks: thin wrappers that call services and own retries."""

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from tournaments import events
from tournaments.services.scheduler import scheduler_tick as _tick
from tournaments.services.uploads import sponsor_upload_check as _upload_check


@shared_task(name="tournaments.tasks.scheduler_tick", ignore_result=True)
def scheduler_tick() -> list[str]:
    return _tick(now=timezone.now()).actions


# A lost database connection is worth a retry; the publish is idempotent (it diffs against
# what was last published), so a retry after a partial run sends nothing twice.
@shared_task(
    name="tournaments.tasks.leaderboard_publish",
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=0.2,
    max_retries=5,
)
def leaderboard_publish(tournament_id: int, reason: str) -> int | None:
    return events.leaderboard_publish(tournament_id=tournament_id, reason=reason)


# One task per sponsor upload. The service writes the outcome once, under the upload's row
# lock, and turns anything the file causes into `rejected`: a retry (a lost connection) or a
# redelivery (a worker killed mid-check: acks_late) finds it finished and changes nothing; an
# upload whose task is lost altogether is sent again by the scheduler's sweep.
@shared_task(
    name="tournaments.tasks.sponsor_upload_check",
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=1,
    max_retries=5,
)
def sponsor_upload_check(upload_id: int) -> str | None:
    upload = _upload_check(upload_id=upload_id)
    return upload.state if upload is not None else None
