"""Drive the platform's clock: a simulated one for headless runs, the wall clock otherwise."""

import logging
import threading
import time
from datetime import datetime

from django.db import close_old_connections
from django.utils import timezone

from core.money import wei_to_tokens
from demo.dex import demo_dex_step
from demo.services import demo_step
from dex.selectors import round_pnl_facts
from tournaments.models import Round, RoundState, Tournament
from tournaments.selectors import round_summary
from tournaments.services.scheduler import (
    next_due_time,
    scheduler_shared_tick,
    scheduler_tick,
    tournament_tick,
    tournaments_in_play,
)

log = logging.getLogger("arena.runner")


def advance(*, now: datetime, tournaments: list[Tournament] | None = None, max_passes: int = 20) -> list[str]:
    """Let the simulated people and the scheduler act until nothing more is due at `now`."""
    done: list[str] = []
    for _ in range(max_passes):
        acted = demo_step(now=now, tournaments=tournaments)
        acted += demo_dex_step(now=now, tournaments=tournaments)
        acted += scheduler_tick(now=now, tournaments=tournaments).actions
        if not acted:
            break
        done += acted
    return done


def advance_on_wall_clock(*, tournament: Tournament, budget_seconds: float, max_passes: int = 20) -> list[str]:
    """One tournament's share of an embedded tick: its simulated people and its rounds, each
    step at the time it runs, and nothing started after `budget_seconds`."""
    deadline = time.monotonic() + budget_seconds
    done: list[str] = []
    for _ in range(max_passes):
        acted = demo_step(now=timezone.now(), tournaments=[tournament])
        acted += demo_dex_step(now=timezone.now(), tournaments=[tournament], deadline=deadline)
        acted += tournament_tick(tournament=tournament, clock=timezone.now, deadline=deadline).actions
        done += acted
        if not acted or time.monotonic() >= deadline:
            break
    return done


def round_report(round: Round) -> dict:
    """The headless JSON for one round: its state, counts and every model's final numbers."""
    payouts = {p.model_id: p for p in round.payouts.all()}
    models = []
    for score in round.scores.filter(day=round.scored_days).select_related("model").order_by("model__name"):
        payout = payouts.get(score.model_id)
        stake = payout.stake_at_risk if payout else round.stake_snapshots.get(model=score.model).amount
        models.append(
            {
                "name": score.model.name,
                "corr": score.corr,
                "mmc": score.mmc,
                "pnl_contribution": score.pnl_contribution,
                "stake": float(wei_to_tokens(stake)),
                "payout": float(wei_to_tokens(payout.amount)) if payout else None,
                "payout_wei": str(payout.amount) if payout else None,
            }
        )
    chain = getattr(round, "chain", None)
    settlement = None
    if chain is not None:
        settlement = {
            "commitments_root": chain.commitments_root,
            "commitments_tx": chain.commitments_tx,
            "root": chain.settlement_root,
            "leaves": chain.leaf_count,
            "proposed_tx": chain.proposed_tx,
            "finalized_tx": chain.finalized_tx,
            "apply_txs": chain.apply_txs,
            "completed": chain.completed,
        }
    pnl = None
    if hasattr(round, "dex"):
        pnl = round_pnl_facts(round=round)
        pnl.pop("weights")
    return {
        "settlement": settlement,
        "pnl": pnl,
        "number": round.number,
        "state": round.state,
        "valid_submissions": round_summary(round=round)["valid_submissions"],
        "meta_corr": round.meta_corr,
        "scored_days": round.scored_days,
        "models": models,
    }


def run_headless(*, tournament: Tournament, rounds: int, max_events: int = 100_000) -> list[dict]:
    """Run until `rounds` rounds are settled, jumping the clock from one due moment to the next."""
    now = tournament.first_round_at
    for _ in range(max_events):
        for line in advance(now=now, tournaments=[tournament]):
            log.info("[%s] %s", now.isoformat(timespec="seconds"), line)
        settled = tournament.rounds.filter(state=RoundState.SETTLED, number__lte=rounds).count()
        if settled >= rounds:
            break
        nxt = next_due_time(after=now, tournaments=[tournament])
        if nxt is None:
            raise RuntimeError("the schedule has nothing more to do but rounds are unsettled")
        now = nxt
    else:
        raise RuntimeError(f"{rounds} rounds did not settle within {max_events} clock steps")
    return [round_report(r) for r in tournament.rounds.filter(number__lte=rounds).order_by("number")]


class SchedulerThread(threading.Thread):
    """The embedded profile's scheduler: ticks on the wall clock inside the server process.

    One thread (py-evm and SQLite take one writer at a time anyway), but no tournament starts
    a step after `budget` seconds of a tick and the tournament served first rotates, so a slow
    tournament delays the others by one budget plus the step it is in (a step is not cut
    short; production runs each tournament in a task of its own), and never eats their
    windows: every step reads the clock when it runs.
    """

    def __init__(self, interval: float = 1.0, budget: float = 5.0):
        super().__init__(name="arena-scheduler", daemon=True)
        self.interval = interval
        self.budget = budget
        self._stop_event = threading.Event()
        self._turn = 0

    def stop(self) -> None:
        self._stop_event.set()

    def tick(self) -> list[str]:
        done = scheduler_shared_tick(now=timezone.now()).actions
        in_play = list(tournaments_in_play())
        if in_play:
            first = self._turn % len(in_play)
            self._turn += 1
            for tournament in in_play[first:] + in_play[:first]:
                try:
                    done += advance_on_wall_clock(tournament=tournament, budget_seconds=self.budget)
                except Exception:  # noqa: BLE001 - one tournament's failure stays its own
                    log.exception("%s: tick failed", tournament.slug)
        return done

    def run(self) -> None:
        while not self._stop_event.is_set():
            started = time.monotonic()
            try:
                close_old_connections()  # between ticks, as a request's end would
                for line in self.tick():
                    log.info("%s", line)
            except Exception:  # noqa: BLE001 - keep ticking; the failed step retries next tick
                log.exception("scheduler tick failed")
            self._stop_event.wait(max(0.0, self.interval - (time.monotonic() - started)))
