"""Celery tasks: thin wrappers that call services and own retries."""

from celery import shared_task
from django.utils import timezone

from tournaments.services.scheduler import scheduler_tick as _tick


@shared_task(name="tournaments.tasks.scheduler_tick", ignore_result=True)
def scheduler_tick() -> list[str]:
    return _tick(now=timezone.now()).actions
