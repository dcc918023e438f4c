"""One round of N models end to end, set up and run through the services, phase by phase.

    python -m tests.load.round_scale [--models 200] [--rows 5000] [--database sqlite|postgres]
                                     [--profile] [--profile-out FILE] [--keep]

Django runs in this process against a throwaway database: a SQLite file in a temporary
folder (`--database sqlite`, the default unless DATABASE_URL names PostgreSQL), or a fresh
PostgreSQL database created on the server DATABASE_URL (or TEST_PG_ADMIN_URL) names, default
postgres://postgres@127.0.0.1:5432, and dropped afterwards. Settings are the production
profile's (DEBUG=0, secrets generated for the run) with ARENA_CHAIN=off: money settles in the
database ledger, as the unit tests' conftest does; no Redis, so Celery tasks (the live feed's
publish after each commit) run in this process, as on the embedded profile.

Setup (not timed in the goal, but printed): a sponsor's tournament (one score day), live data
with `--rows` ids, round 1 opened, then per modeler a user, `model_create`, `stake_deposit`,
a predictions file sealed as tests/builders.py `seal_for` does and `submission_upload`; every
owner gets a registered wallet address (Wallet + ChainRegistration rows, as if the model had
been registered on-chain), which is what a settlement leaf needs.

Measured, each on its own:

* close — `round_close` without the opening of the envelopes: counted submissions marked,
  commitments root, stake snapshot, transition, the live feed's publish after commit;
* open + validate — `round_decrypt_submissions`, which `round_close` calls after its commit:
  timed by wrapping the name lifecycle.py calls (the close itself runs unchanged), with the
  HPKE opening in this process, the sandboxed decoder pool (tournaments/sandbox) reading and
  validating each file, and each outcome stored apart;
* score day 1 — `round_score_day` (after the sponsor's `round_target_upload`, not timed);
* resolve — `round_resolve`: payouts from scores, stakes and rules;
* settlement root — the keeper's own leaf builder `chain.services._settlement_for` (owners from
  the registrations, so no chain call) and `chain.settlement.build_settlement`: leaves, Merkle
  root, totals and every proof, exactly what `chain_settlement_step` would propose; no chain;
* settle (database ledger) — `round_settle`: printed, outside the goal (on a chain the root is
  proposed and the leaves applied in batches instead).

Per phase: wall time, this process's CPU, the decoder workers' CPU, PostgreSQL's CPU (its
backends, from /proc) and the peak memory so far (ru_maxrss of this process; of the children,
the largest decoder or sponsor-file worker); inside each phase, the time of its main steps.
`--profile` runs the measured phases under cProfile (slower) and prints the top functions.
"""

import argparse
import cProfile
import functools
import io
import json
import os
import pstats
import resource
import secrets
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from tests.load.common import cpu_used_since, process_cpu_s, processes_cpu_s, workdir

GOAL_S = 60.0
SLUG = "round-scale"
BATCH = 250  # modelers set up per transaction (one live-feed publish per commit)
PG_SERVER_DEFAULT = "postgres://postgres@127.0.0.1:5432/postgres"


# --- The process's settings and database ---------------------------------------------------


def _pg_server_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return url
    return os.environ.get("TEST_PG_ADMIN_URL", PG_SERVER_DEFAULT)


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def configure(database: str, work: Path) -> dict:
    """Environment for the production profile against a fresh database; returns what to
    drop afterwards. Must run before Django is set up."""
    var = work / "var"
    var.mkdir(parents=True, exist_ok=True)
    for name in ("REDIS_URL", "DB_POOL_MAX_SIZE", "CHAIN_RPC_URL"):
        os.environ.pop(name, None)
    dropped = {}
    if database == "postgres":
        import psycopg

        server = _pg_server_url()
        db_name = f"arena_round_scale_{secrets.token_hex(6)}"
        admin = _with_database(server, "postgres").replace("postgres://", "postgresql://", 1)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db_name}"')
        url = _with_database(server, db_name)
        dropped = {"admin": admin, "db_name": db_name}
    else:
        url = f"sqlite:///{var / 'arena.sqlite3'}"
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": url,
            "DEBUG": "0",
            "SECURE_SSL_REDIRECT": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "ARENA_VAR_DIR": str(var),
            "ARENA_KEY_ENCRYPTION_KEY": secrets.token_hex(32),
            "ARENA_RECEIPT_SIGNING_KEY": secrets.token_hex(32),
            "ARENA_CHAIN": "off",
            "ARENA_LOG_LEVEL": "WARNING",
        }
    )
    return dropped


def drop_database(dropped: dict) -> None:
    if not dropped:
        return
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(dropped["admin"], autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dropped["db_name"]}" WITH (FORCE)')


def start_django() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", "--noinput", verbosity=0)


# --- Measuring -------------------------------------------------------------------------------


class StepTimers:
    """Wall time and calls of named functions, by wrapping the module attribute their caller
    looks up (the code that runs is the project's own, unchanged)."""

    def __init__(self) -> None:
        self.totals: dict[str, list] = {}
        self._lock = threading.Lock()

    def wrap(self, module, attr: str, label: str) -> None:
        original = getattr(module, attr)
        self.totals[label] = [0.0, 0]

        @functools.wraps(original)
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent = time.perf_counter() - t0
                with self._lock:
                    self.totals[label][0] += spent
                    self.totals[label][1] += 1

        setattr(module, attr, timed)

    def snapshot(self) -> dict[str, tuple[float, int]]:
        with self._lock:
            return {label: (v[0], v[1]) for label, v in self.totals.items()}


def install_timers() -> StepTimers:
    from live import publish
    from tournaments import signals
    from tournaments.blobs import FileBlobStore
    from tournaments.services import lifecycle, scoring, submissions

    timers = StepTimers()
    timers.wrap(submissions, "open_sealed", "  HPKE open (this process)")
    timers.wrap(
        submissions,
        "_submissions_finish",
        "  store outcomes (blobs, one transaction per batch, pushes)",
    )
    timers.wrap(submissions, "live_ids", "  live ids")
    timers.wrap(FileBlobStore, "put", "  blob put (write, fsync file and folder)")
    timers.wrap(signals.submission_changed, "send_robust", "  owner's page refresh")
    timers.wrap(scoring, "predictions_matrix", "  read predictions matrix (every blob re-read)")
    timers.wrap(scoring, "_prepared_era", "  rank + meta-model + MMC (prepare_era)")
    timers.wrap(lifecycle, "payouts_for_round", "  payouts_for_round")
    timers.wrap(publish, "leaderboard_publish", "  live-feed publish after commit")
    return timers


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _children_now() -> list[int]:
    """This process's live child processes (the decoder and sponsor-file workers)."""
    from tests.production.stack import descendants

    return [pid for pid in descendants([os.getpid()]) if pid != os.getpid()]


def _live_workers_cpu() -> float:
    """CPU used so far by the workers still running (retired and killed ones are in
    RUSAGE_CHILDREN once waited for; a decoder worker is retired after 500 files)."""
    total = 0.0
    for pid in _children_now():
        try:
            total += process_cpu_s(pid)
        except (OSError, ValueError, IndexError):
            pass  # exited meanwhile: it will be in RUSAGE_CHILDREN
    return total


def _workers_cpu() -> float:
    return _children_cpu() + _live_workers_cpu()


class ChildMemorySampler:
    """The largest peak resident memory (VmHWM, which starts afresh at exec) of any worker,
    sampled from /proc every `interval` s: RUSAGE_CHILDREN's ru_maxrss is no measure of a
    worker, since it also counts the parent's pages the child held between fork and exec."""

    def __init__(self, interval: float = 0.2, rescan: float = 2.0):
        self.interval, self.peak_kib = interval, 0
        # Finding the children scans all of /proc (~40 ms of this process's GIL); the workers
        # live for hundreds of files, so that is done every `rescan` s and each sample reads
        # only the known workers' status.
        self.rescan, self._pids, self._scanned = rescan, [], float("-inf")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self, *, fresh: bool = False) -> None:
        if fresh or time.monotonic() - self._scanned > self.rescan:
            self._pids, self._scanned = _children_now(), time.monotonic()
        for pid in self._pids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_kib = max(self.peak_kib, int(line.split()[1]))
            except (OSError, ValueError):
                continue

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def start(self) -> "ChildMemorySampler":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sample(fresh=True)

    @property
    def peak_mib(self) -> float:
        return self.peak_kib / 1024


def _peak_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


def close_decoder_pools() -> None:
    """Stop the idle decoder workers so their CPU and peak memory reach RUSAGE_CHILDREN (a
    child's usage counts once it has been waited for)."""
    from tournaments.sandbox import pool

    for p in list(pool._pools.values()):
        p.close()


@dataclass
class Phase:
    name: str
    wall_s: float = 0.0
    cpu_s: float = 0.0
    workers_cpu_s: float = 0.0
    database_cpu_s: float = 0.0
    peak_mib: float = 0.0
    steps: dict = field(default_factory=dict)
    in_goal: bool = True
    inner: list = field(default_factory=list)


class Run:
    """Phases measured one after another; a phase measured inside another (the opening,
    which round_close calls) is shown on its own and taken out of the outer one's figures."""

    def __init__(self, timers: StepTimers, postgres: bool, profiler: cProfile.Profile | None):
        self.timers, self.postgres, self.profiler = timers, postgres, profiler
        self.phases: list[Phase] = []
        self._open: list[Phase] = []
        self.children_memory = ChildMemorySampler()

    def _db_cpu(self) -> dict[int, float]:
        return processes_cpu_s("postgres") if self.postgres else {}

    def measure(self, name: str, fn, *, in_goal: bool = True):
        phase = Phase(name, in_goal=in_goal)
        position = len(self.phases)  # an outer phase is listed before those inside it
        if self._open:
            self._open[-1].inner.append(phase)
        self._open.append(phase)
        steps0 = self.timers.snapshot()
        db0 = self._db_cpu()
        workers0, cpu0 = _workers_cpu(), time.process_time()
        profiling = self.profiler is not None and len(self._open) == 1
        t0 = time.perf_counter()
        if profiling:
            self.profiler.enable()
        try:
            result = fn()
        finally:
            if profiling:
                self.profiler.disable()
            phase.wall_s = time.perf_counter() - t0
            phase.cpu_s = time.process_time() - cpu0
            phase.workers_cpu_s = _workers_cpu() - workers0
            if self.postgres:
                phase.database_cpu_s = cpu_used_since(db0, self._db_cpu())
            phase.peak_mib = _peak_mib(resource.RUSAGE_SELF)
            steps1 = self.timers.snapshot()
            phase.steps = {
                label: (steps1[label][0] - steps0[label][0], steps1[label][1] - steps0[label][1])
                for label in steps1
                if steps1[label][1] > steps0[label][1]
            }
            for inner in phase.inner:
                phase.wall_s -= inner.wall_s
                phase.cpu_s -= inner.cpu_s
                phase.workers_cpu_s -= inner.workers_cpu_s
                phase.database_cpu_s -= inner.database_cpu_s
                for label, (seconds, calls) in inner.steps.items():
                    left = (phase.steps[label][0] - seconds, phase.steps[label][1] - calls)
                    if left[1]:
                        phase.steps[label] = left
                    else:
                        del phase.steps[label]
            self._open.pop()
            self.phases.insert(position, phase)
        return result

    def measure_calls(self, module, attr: str, name: str) -> None:
        """Every call of module.attr (as its callers look it up) measured as phase `name`."""
        original = getattr(module, attr)

        @functools.wraps(original)
        def measured(*args, **kwargs):
            return self.measure(name, lambda: original(*args, **kwargs))

        setattr(module, attr, measured)


# --- Setup -------------------------------------------------------------------------------------


def _owner_address(i: int) -> str:
    from eth_hash.auto import keccak
    from eth_utils import to_checksum_address

    return to_checksum_address(keccak(f"round-scale-owner-{i}".encode())[-20:])


def setup_round(n_models: int, n_rows: int, say) -> dict:
    """Round 1 open with `n_rows` live ids and `n_models` staked models, each with a sealed
    upload; returns the round, the sponsor and the figures of each setup step."""
    from django.contrib.auth.models import User
    from django.db import transaction
    from django.utils import timezone

    from chain.models import ChainRegistration, Wallet
    from core.money import tokens_to_wei
    from tests.builders import csv_bytes, make_frame, predictions_csv, seal_for
    from tournaments.services.datasets import dataset_upload
    from tournaments.services.lifecycle import round_open, round_schedule_next
    from tournaments.services.model_slots import model_create, stake_deposit
    from tournaments.services.submissions import submission_upload
    from tournaments.services.tournaments import tournament_create

    figures = {}
    t0 = time.perf_counter()
    start = timezone.now().replace(microsecond=0) - timedelta(days=1)
    sponsor = User.objects.create_user(username="scale-sponsor", password=None)
    tournament = tournament_create(
        sponsor=sponsor,
        name="Round Scale",
        slug=SLUG,
        first_round_at=start,
        round_interval=timedelta(days=7),
        submission_window=timedelta(hours=1),
        resolution_lag=timedelta(hours=1),
        score_days=1,
        score_day_interval=timedelta(days=1),
        reward_pool=tokens_to_wei(10_000_000),
    )
    rnd = round_schedule_next(tournament=tournament, now=start)
    live = make_frame(n=n_rows, with_target=False, seed=3, prefix="live")
    dataset_upload(
        tournament=tournament,
        by=sponsor,
        kind="live",
        round=rnd,
        data=csv_bytes(live),
        filename="live.csv",
    )
    rnd = round_open(round=rnd, now=start)
    ids = live["id"].tolist()
    figures["tournament, live data, open"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    modelers = []
    for first in range(0, n_models, BATCH):
        with transaction.atomic():
            for i in range(first, min(first + BATCH, n_models)):
                owner = User.objects.create_user(username=f"scale-{i:05d}", password=None)
                model = model_create(
                    owner=owner, tournament=tournament, name=f"scale-model-{i:05d}"
                )
                model = stake_deposit(model=model, by=owner, amount=tokens_to_wei(10 + i % 91))
                modelers.append((owner, model))
        say(f"  models and stakes: {len(modelers)}/{n_models}", end="\r")
    wallets = [
        Wallet(user=owner, address=_owner_address(i)) for i, (owner, _) in enumerate(modelers)
    ]
    Wallet.objects.bulk_create(wallets, batch_size=1000)
    ChainRegistration.objects.bulk_create(
        [
            ChainRegistration(kind="model", object_id=m.pk, address=w.address)
            for (_, m), w in zip(modelers, wallets, strict=True)
        ],
        batch_size=1000,
    )
    figures["users, models, stakes, wallets"] = time.perf_counter() - t0

    uploaded_at = rnd.opens_at + timedelta(minutes=5)
    sealing = uploading = 0.0
    envelope_bytes = 0
    for first in range(0, n_models, BATCH):
        with transaction.atomic():
            for i in range(first, min(first + BATCH, n_models)):
                owner, model = modelers[i]
                t = time.perf_counter()
                envelope = seal_for(rnd, model, predictions_csv(ids, seed=1000 + i))
                sealing += time.perf_counter() - t
                envelope_bytes += len(envelope)
                t = time.perf_counter()
                submission_upload(
                    model=model,
                    by=owner,
                    data=envelope,
                    filename="predictions.csv.sealed",
                    now=uploaded_at,
                )
                uploading += time.perf_counter() - t
        say(f"  sealed and uploaded: {min(first + BATCH, n_models)}/{n_models}", end="\r")
    say(" " * 60, end="\r")
    figures["seal predictions (CSV + HPKE, as a client)"] = sealing
    figures["submission_upload"] = uploading
    close_decoder_pools()  # the sponsor-file worker: its usage is setup's, not the round's
    return {
        "round": rnd,
        "sponsor": sponsor,
        "ids": ids,
        "figures": figures,
        "envelope_kib": envelope_bytes / max(n_models, 1) / 1024,
    }


def upload_target(rnd, sponsor, ids) -> None:
    import numpy as np
    import pandas as pd

    from tests.builders import csv_bytes
    from tournaments.services.datasets import round_target_upload

    rng = np.random.default_rng(7)
    target = pd.DataFrame({"id": ids, "target": rng.integers(0, 5, len(ids)) / 4})
    round_target_upload(round=rnd, by=sponsor, day=1, data=csv_bytes(target), filename="target.csv")


def settlement_root(rnd):
    """The root the keeper would propose: its own leaf builder (owners from the model
    registrations, so the gateway is never called) over the round's payouts."""
    from chain.services import _settlement_for
    from core.merkle import verify_proof

    settlement = _settlement_for(rnd, None)
    leaf = settlement.leaves[0] if settlement.leaves else None
    proof_ok = leaf is None or verify_proof(
        leaf.hash, settlement.proof_for(leaf.model_id), settlement.root
    )
    return settlement, proof_ok


# --- The round ---------------------------------------------------------------------------------


def run_round(run: Run, setup: dict, n_models: int) -> dict:
    from tournaments.models import Payout, PayoutState, Round, Score, Submission
    from tournaments.services import lifecycle
    from tournaments.services.lifecycle import (
        round_close,
        round_resolve,
        round_score_day,
        round_settle,
    )

    rnd = setup["round"]
    checks = {}

    # round_close opens the envelopes after its commit: that call is measured as its own phase.
    run.measure_calls(lifecycle, "round_decrypt_submissions", "open every envelope + validate")
    rnd = run.measure(
        "close (commit + stake snapshot)", lambda: round_close(round=rnd, now=rnd.closes_at)
    )
    states = dict.fromkeys(("valid", "invalid", "received"), 0)
    for state in Submission.objects.filter(round=rnd, is_counted=True).values_list(
        "state", flat=True
    ):
        states[state] = states.get(state, 0) + 1
    checks["counted and committed"] = (Round.objects.get(pk=rnd.pk).commitments_count, n_models)
    checks["valid after opening"] = (states["valid"], n_models)

    upload_target(rnd, setup["sponsor"], setup["ids"])  # the sponsor's step: not timed
    rnd = run.measure(
        "score day 1", lambda: round_score_day(round=rnd, day=1, now=rnd.score_day_at(1))
    )
    checks["scores"] = (Score.objects.filter(round=rnd, day=1).count(), n_models)

    rnd = run.measure("resolve (payouts)", lambda: round_resolve(round=rnd, now=rnd.resolves_at))
    checks["payouts"] = (Payout.objects.filter(round=rnd).count(), n_models)

    settlement, proof_ok = run.measure("settlement root", lambda: settlement_root(rnd))
    amounts = list(Payout.objects.filter(round=rnd).values_list("amount", flat=True))
    checks["leaves"] = (settlement.leaf_count, n_models)
    checks["leaf totals = payouts"] = (
        (settlement.total_rewards, settlement.total_burns),
        (sum(a for a in amounts if a > 0), -sum(a for a in amounts if a < 0)),
    )
    checks["a proof verifies"] = (proof_ok, True)

    settle_at = rnd.resolves_at + timedelta(minutes=1)
    run.measure(
        "settle (database ledger)", lambda: round_settle(round=rnd, now=settle_at), in_goal=False
    )
    checks["payouts settled"] = (
        Payout.objects.filter(round=rnd, state=PayoutState.SETTLED).count(),
        n_models,
    )
    return {"root": "0x" + settlement.root.hex(), "checks": checks, "states": states}


# --- Report ------------------------------------------------------------------------------------


def report(args, run: Run, setup: dict, result: dict, vendor: str, setup_s: float) -> bool:
    print(
        f"Round of {args.models:,} models × {args.rows:,} live rows on {vendor} "
        f"(ARENA_CHAIN=off, decoder workers {args.decode_workers}, {os.cpu_count()} cores"
        f"{', under cProfile' if args.profile else ''}); envelopes {setup['envelope_kib']:.0f} KiB each"
    )
    print(f"  setup (not in the goal): {setup_s:.1f} s")
    for label, seconds in setup["figures"].items():
        print(f"    {label:<46} {seconds:8.1f} s")
    print(
        f"  {'phase':<36} {'wall s':>8} {'CPU s':>7} {'workers':>8} {'db CPU':>7} {'peak MiB':>9}"
    )
    for p in run.phases:
        mark = "" if p.in_goal else "  (not in the goal)"
        print(
            f"  {p.name:<36} {p.wall_s:8.2f} {p.cpu_s:7.2f} {p.workers_cpu_s:8.2f} "
            f"{p.database_cpu_s:7.2f} {p.peak_mib:9.0f}{mark}"
        )
        for label, (seconds, calls) in sorted(p.steps.items(), key=lambda kv: -kv[1][0]):
            print(f"      {label.strip():<50} {seconds:7.2f} s in {calls:,} call(s)")
    total = sum(p.wall_s for p in run.phases if p.in_goal)
    met = total <= GOAL_S
    print(
        f"  close → settlement root: {total:.2f} s (goal ≤ {GOAL_S:.0f} s: {'met' if met else 'MISSED'})"
    )
    close_decoder_pools()  # every worker waited for: RUSAGE_CHILDREN is complete
    print(
        "  CPU s: this process (all its threads); workers: the decoder processes; db CPU: "
        "PostgreSQL's backends; peak MiB: this process's ru_maxrss so far"
    )
    print(
        f"  peak memory: this process {_peak_mib(resource.RUSAGE_SELF):.0f} MiB (ru_maxrss); largest "
        f"worker {run.children_memory.peak_mib:.0f} MiB (VmHWM sampled every 0.2 s; "
        f"RUSAGE_CHILDREN ru_maxrss says {_peak_mib(resource.RUSAGE_CHILDREN):.0f} MiB, which "
        f"counts the parent's pages a child held between fork and exec)"
    )
    print(f"  settlement root {result['root']}; submissions {result['states']}")
    failed = [name for name, (got, want) in result["checks"].items() if got != want]
    for name, (got, want) in result["checks"].items():
        print(f"  check {name}: {got} (expected {want}){'' if got == want else '  FAILED'}")
    print(
        json.dumps(
            {
                "models": args.models,
                "rows": args.rows,
                "database": vendor,
                "profiled": args.profile,
                "setup_s": round(setup_s, 1),
                "setup": {k: round(v, 2) for k, v in setup["figures"].items()},
                "phases": {
                    p.name: {
                        "wall_s": round(p.wall_s, 2),
                        "cpu_s": round(p.cpu_s, 2),
                        "workers_cpu_s": round(p.workers_cpu_s, 2),
                        "database_cpu_s": round(p.database_cpu_s, 2),
                        "in_goal": p.in_goal,
                        "steps": {k.strip(): round(v[0], 2) for k, v in p.steps.items()},
                    }
                    for p in run.phases
                },
                "round_s": round(total, 2),
                "met": met,
                "peak_mib": round(_peak_mib(resource.RUSAGE_SELF)),
                "peak_worker_mib": round(run.children_memory.peak_mib),
                "children_ru_maxrss_mib": round(_peak_mib(resource.RUSAGE_CHILDREN)),
                "root": result["root"],
                "checks_failed": failed,
            }
        )
    )
    return not failed


def print_profile(profiler: cProfile.Profile, limit: int, out: str | None) -> None:
    if out:
        profiler.dump_stats(out)
        print(f"profile written to {out}")
    for order in ("cumulative", "tottime"):
        buffer = io.StringIO()
        stats = pstats.Stats(profiler, stream=buffer).strip_dirs().sort_stats(order)
        stats.print_stats(limit)
        print(
            f"--- cProfile of the measured phases, top {limit} by {order} (this process's main thread)"
        )
        print(buffer.getvalue().split("\n", 6)[-1].rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--rows", type=int, default=5000)
    default_db = (
        "postgres" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    )
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgres"],
        default=default_db,
        help="a throwaway SQLite file, or a fresh PostgreSQL database "
        "(on DATABASE_URL's server) dropped afterwards",
    )
    parser.add_argument(
        "--decode-workers",
        type=int,
        default=None,
        help="ARENA_DECODE_WORKERS for the run (default: the settings', 2 here)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the measured phases under cProfile and print the top functions",
    )
    parser.add_argument("--profile-out", help="also write the cProfile stats to this file")
    parser.add_argument("--profile-top", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (and database)")
    args = parser.parse_args()
    if not 1 <= args.models <= 20_000 or not 10 <= args.rows <= 100_000:
        parser.error("--models 1..20000 and --rows 10..100000 keep the run bounded")
    if args.decode_workers is not None:
        os.environ["ARENA_DECODE_WORKERS"] = str(args.decode_workers)
    work = workdir("round-scale")
    dropped = configure(args.database, work)
    tty = sys.stdout.isatty()

    def say(text: str, end: str = "\n") -> None:
        if tty or end == "\n":
            print(text, end=end, flush=True)

    try:
        t0 = time.perf_counter()
        start_django()
        from django.conf import settings
        from django.db import connection

        args.decode_workers = settings.ARENA_DECODE_WORKERS
        migrated = time.perf_counter() - t0
        t0 = time.perf_counter()
        setup = setup_round(args.models, args.rows, say)
        setup["figures"] = {"migrate": migrated, **setup["figures"]}
        setup_s = migrated + time.perf_counter() - t0
        profiler = cProfile.Profile() if args.profile or args.profile_out else None
        run = Run(install_timers(), connection.vendor == "postgresql", profiler)
        run.children_memory.start()
        try:
            result = run_round(run, setup, args.models)
        finally:
            run.children_memory.stop()
        ok = report(args, run, setup, result, connection.vendor, setup_s)
        if profiler:
            print_profile(profiler, args.profile_top, args.profile_out)
    finally:
        close_decoder_pools()
        if args.keep:
            print(
                f"work folder kept: {work}"
                + (f", database {dropped['db_name']}" if dropped else "")
            )
        else:
            drop_database(dropped)
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
