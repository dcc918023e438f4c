"""Celery tasks: thin wrappers that call services and own retries."""

import time

from celery import shared_task
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from tournaments.models import Tournament
from tournaments.services.scheduler import (
    scheduler_shared_tick,
    tournament_tick,
    tournaments_in_play,
)
from tournaments.services.tick_lease import tick_lease
from tournaments.services.uploads import sponsor_upload_check as _upload_check


# Beat sends this every ARENA_TICK_SECONDS. It does the shared part itself and hands each
# tournament to a task of its own, so a tournament whose step is slow (a long history sync,
# a node that times out) holds one worker slot and delays nobody else.
@shared_task(name="tournaments.tasks.scheduler_tick", ignore_result=True)
def scheduler_tick() -> list[str]:
    report = scheduler_shared_tick(now=timezone.now())
    for tournament_id in tournaments_in_play().values_list("pk", flat=True):
        # A task nobody picked up within a few ticks is dropped: a later one does the work.
        tournament_step.apply_async((tournament_id,), expires=max(3 * settings.ARENA_TICK_SECONDS, 3.0))
    return report.actions


# One tournament's steps on the wall clock. The lease lets one task at a time step a given
# tournament (steps are idempotent, but two at once would only queue on its row locks); a
# task that finds it taken returns at once. The budget bounds how long one task holds a slot.
@shared_task(
    name="tournaments.tasks.tournament_step",
    ignore_result=True,
    # A step that runs past this is stopped (SoftTimeLimitExceeded: logged, retried next
    # tick; every step is idempotent), and its worker killed a minute later if it hangs.
    soft_time_limit=settings.ARENA_TOURNAMENT_STEP_TIME_LIMIT,
    time_limit=settings.ARENA_TOURNAMENT_STEP_TIME_LIMIT + 60,
)
def tournament_step(tournament_id: int) -> list[str] | None:
    with tick_lease(tournament_id) as lease:
        tournament = Tournament.objects.filter(pk=tournament_id).first() if lease.held else None
        if tournament is None:
            return None
        deadline = time.monotonic() + settings.ARENA_TOURNAMENT_TICK_SECONDS
        report = tournament_tick(
            tournament=tournament, clock=timezone.now, deadline=deadline, after_step=lease.renew
        )
        return report.actions


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


def send_upload_check(upload_id: int) -> None:
    """How the upload service sends a check (registered by TournamentsConfig.ready())."""
    sponsor_upload_check.delay(upload_id)
