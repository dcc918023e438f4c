"""`python manage.py up`: migrate, create the demo if the database is empty, and run.

Default: serve the site (ASGI) on 127.0.0.1:8000 with the round scheduler in-process on a
compressed clock. `--rounds N --headless`: run N full rounds as fast as possible on a
simulated clock without the server and print one JSON line.
"""

import json
import logging
import os
import shutil
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.utils import timezone

from chain.client import chain_enabled
from core.errors import ArenaError
from demo.services import DemoSchedule, demo_create
from tournaments.models import Tournament

# A CLI command: what only one mode needs (the ASGI server and its routing, the headless
# runner, the DEX demo and its price file) is imported inside the function running that mode.

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
    if settings.ARENA_CHAIN == "embedded":
        # A fresh database needs a fresh chain: the old one holds its tournaments' ids.
        settings.CHAIN_STATE_DIR = settings.VAR_DIR / "headless-chain"
        shutil.rmtree(settings.CHAIN_STATE_DIR, ignore_errors=True)
    return path


def _consistent_embedded_chain(stdout) -> None:
    """Never show stakes the chain no longer has: the database and the embedded chain's
    journal under var/ are kept as a pair, or both start afresh."""
    from chain.client import reset_gateway
    from chain.services import chain_deployment_record

    if settings.ARENA_CHAIN != "embedded":
        chain_deployment_record()
        return
    if not Tournament.objects.exists() and Path(settings.CHAIN_STATE_DIR).exists():
        stdout.write("Empty database: starting a fresh embedded chain to match it.")
        shutil.rmtree(settings.CHAIN_STATE_DIR)
        reset_gateway()
    try:
        chain_deployment_record()
    except ArenaError as exc:
        stdout.write(f"{exc.message}\nThe embedded chain under var/ was lost: starting a fresh demo.")
        call_command("flush", interactive=False, verbosity=0)
        chain_deployment_record()


def _create_dex(*, slug: str, opts) -> Tournament:
    """The DEX tournament beside the classic one; its clock starts when it is ready."""
    from demo.dex import demo_dex_create
    from demo.models import DemoDexMarket
    from demo.services import demo_user

    tournament = demo_dex_create(
        now=timezone.now(), sponsor=demo_user("demo-sponsor"), slug=slug, seed=opts["seed"] + 4,
        price_csv=opts["dex_prices"],
    )
    now = timezone.now()
    Tournament.objects.filter(pk=tournament.pk).update(first_round_at=now)
    DemoDexMarket.objects.filter(tournament=tournament).update(started_at=now)
    tournament.refresh_from_db()
    return tournament


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
        parser.add_argument(
            "--challenge-window", type=float, default=10.0, help="seconds the guardian may veto a settlement"
        )
        parser.add_argument(
            "--dex", action="store_true", help="with --headless: run the DEX tournament instead of the classic one"
        )
        parser.add_argument(
            "--no-dex", action="store_true", help="do not create the DEX tournament beside the classic one"
        )
        parser.add_argument(
            "--dex-prices", type=Path, default=None,
            help="replay this timestamp,token,price CSV in the DEX market (timestamps in Unix seconds or "
            "ISO 8601 dates/datetimes; default: a generated path)",
        )

    def handle(self, *args, **opts):
        if opts["headless"] and opts["rounds"] < 1:
            raise CommandError("--headless needs --rounds N with N >= 1")
        if opts["round_interval"] < opts["submission_window"]:
            raise CommandError("--round-interval must be at least --submission-window")
        if opts["dex_prices"] is not None:
            from market.price_paths import load_price_csv

            try:
                load_price_csv(opts["dex_prices"])  # a bad file is one line here, not a traceback later
            except (OSError, ValueError) as exc:
                raise CommandError(f"--dex-prices {opts['dex_prices']}: {exc}") from None
        schedule = DemoSchedule(
            round_interval=timedelta(seconds=opts["round_interval"]),
            submission_window=timedelta(seconds=opts["submission_window"]),
            resolution_lag=timedelta(seconds=opts["resolution_lag"]),
            score_days=opts["score_days"],
            score_day_interval=timedelta(seconds=opts["score_day_interval"]),
            challenge_window=timedelta(seconds=opts["challenge_window"]),
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
        if opts["dex"]:
            if not chain_enabled():
                raise CommandError("--dex needs a chain (ARENA_CHAIN=embedded, the default, or rpc)")
            tournament = _create_dex(slug=slug, opts=opts)
        else:
            tournament = demo_create(
                now=timezone.now(), slug=slug, seed=opts["seed"], schedule=schedule,
                rows_per_era=opts["rows_per_era"],
            )
        rounds = run_headless(tournament=tournament, rounds=opts["rounds"])
        self.stdout.write(json.dumps({"tournament": tournament.slug, "rounds": rounds}))

    def _serve(self, opts, schedule: DemoSchedule) -> None:
        import uvicorn
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

        from config.asgi import application
        from demo.runner import SchedulerThread

        call_command("migrate", interactive=False, verbosity=0)
        if chain_enabled():
            _consistent_embedded_chain(self.stdout)
        if not Tournament.objects.exists():
            self.stdout.write("Empty database: creating the demo tournament and its 19 modelers…")
            demo = demo_create(
                now=timezone.now(), seed=opts["seed"], schedule=schedule, rows_per_era=opts["rows_per_era"]
            )
            # Setting up wallets and stakes takes a while: round 1 opens now, not back then.
            Tournament.objects.filter(pk=demo.pk).update(first_round_at=timezone.now())
            if chain_enabled() and not opts["no_dex"]:
                self.stdout.write("Creating the DEX tournament: its market, vault and 8 modelers…")
                try:
                    _create_dex(slug="dex", opts=opts)
                except ArenaError as exc:
                    self.stdout.write(f"No DEX tournament: {exc.message}")
        scheduler = SchedulerThread(interval=settings.ARENA_TICK_SECONDS, budget=settings.ARENA_TOURNAMENT_TICK_SECONDS)
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
            # uvicorn rather than daphne: it hands the body to the application as it arrives,
            # so core/body_limit.py refuses an oversized one before it is spooled (daphne
            # buffers every body in full first). No lifespan: Channels' router has none.
            uvicorn.run(app, host=opts["host"], port=opts["port"], lifespan="off", log_level="warning")
        finally:
            scheduler.stop()
