"""`python manage.py up`: migrate, create the demo if the database is empty, and run.

Default: serve the site (ASGI) on 127.0.0.1:8000 with the round scheduler in-process on a
compressed clock. `--rounds N --headless`: run N full rounds as fast as possible on a
simulated clock without the server and print one JSON line.
"""

import json
import logging
import os
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.utils import timezone

from demo.services import DemoSchedule, demo_create
from tournaments.models import Tournament

log = logging.getLogger("arena.up")


def _use_fresh_headless_database() -> Path | None:
    """Headless runs on the embedded profile get their own SQLite file, so they never push
    the browsable demo's clock into the simulated future. With DATABASE_URL set, the run
    uses that database with a tournament of its own instead."""
    if os.environ.get("DATABASE_URL"):
        return None
    path = settings.VAR_DIR / "headless.sqlite3"
    connection = connections["default"]
    connection.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    connection.settings_dict["NAME"] = str(path)
    return path


class Command(BaseCommand):
    help = "Set up and run Arena on the embedded profile (see README)."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--headless", action="store_true", help="run rounds without the server")
        parser.add_argument("--rounds", type=int, default=0, help="with --headless: rounds to run")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--round-interval", type=float, default=120.0, help="seconds between rounds")
        parser.add_argument("--submission-window", type=float, default=60.0, help="seconds a round stays open")
        parser.add_argument("--resolution-lag", type=float, default=10.0, help="seconds from close to score day 1")
        parser.add_argument("--score-days", type=int, default=4, help="daily score updates per round")
        parser.add_argument("--score-day-interval", type=float, default=15.0, help="seconds per simulated day")
        parser.add_argument("--rows-per-era", type=int, default=400)

    def handle(self, *args, **opts):
        if opts["headless"] and opts["rounds"] < 1:
            raise CommandError("--headless needs --rounds N with N >= 1")
        if opts["round_interval"] < opts["submission_window"]:
            raise CommandError("--round-interval must be at least --submission-window")
        schedule = DemoSchedule(
            round_interval=timedelta(seconds=opts["round_interval"]),
            submission_window=timedelta(seconds=opts["submission_window"]),
            resolution_lag=timedelta(seconds=opts["resolution_lag"]),
            score_days=opts["score_days"],
            score_day_interval=timedelta(seconds=opts["score_day_interval"]),
        )
        if opts["headless"]:
            self._headless(opts, schedule)
        else:
            self._serve(opts, schedule)

    def _headless(self, opts, schedule: DemoSchedule) -> None:
        from demo.runner import run_headless

        _use_fresh_headless_database()
        call_command("migrate", interactive=False, verbosity=0)
        slug = f"headless-{timezone.now():%Y%m%d%H%M%S%f}"
        tournament = demo_create(
            now=timezone.now(), slug=slug, seed=opts["seed"], schedule=schedule,
            rows_per_era=opts["rows_per_era"],
        )
        rounds = run_headless(tournament=tournament, rounds=opts["rounds"])
        self.stdout.write(json.dumps({"tournament": tournament.slug, "rounds": rounds}))

    def _serve(self, opts, schedule: DemoSchedule) -> None:
        from daphne.endpoints import build_endpoint_description_strings
        from daphne.server import Server
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

        from config.asgi import application
        from demo.runner import SchedulerThread

        call_command("migrate", interactive=False, verbosity=0)
        if not Tournament.objects.exists():
            self.stdout.write("Empty database: creating the demo tournament and its 19 modelers…")
            demo_create(now=timezone.now(), seed=opts["seed"], schedule=schedule, rows_per_era=opts["rows_per_era"])
        scheduler = SchedulerThread(interval=settings.ARENA_TICK_SECONDS)
        scheduler.start()
        url = f"http://{opts['host']}:{opts['port']}/"
        self.stdout.write(f"Arena is running at {url}  (Ctrl-C to stop)")
        app = application
        if settings.DEBUG:
            # Serve static files from the same process, as runserver does.
            from channels.routing import ProtocolTypeRouter

            app = ProtocolTypeRouter(
                {"http": ASGIStaticFilesHandler(application.application_mapping["http"]),
                 "websocket": application.application_mapping["websocket"]}
            )
        try:
            Server(
                application=app,
                endpoints=build_endpoint_description_strings(host=opts["host"], port=opts["port"]),
                verbosity=0,
            ).run()
        finally:
            scheduler.stop()
