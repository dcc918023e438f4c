"""Drive the platform's clock: a simulated one for headless runs, the wall clock otherwise."""

import logging
import threading
import time
from datetime import datetime

from django.db import close_old_connections
from django.utils import timezone

from demo.dex import demo_dex_step
from demo.services import demo_step
from tournaments.fields import wei_to_tokens
from tournaments.models import Round, RoundState, Tournament
from tournaments.selectors import round_summary
from tournaments.services.scheduler import next_due_time, scheduler_tick

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
        from dex.selectors import round_pnl_facts

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
    """The embedded profile's scheduler: ticks on the wall clock inside the server process."""

    def __init__(self, interval: float = 1.0):
        super().__init__(name="arena-scheduler", daemon=True)
        self.interval = interval
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        while not self._stop_event.is_set():
            started = time.monotonic()
            try:
                close_old_connections()
                for line in advance(now=timezone.now()):
                    log.info("%s", line)
            except Exception:  # noqa: BLE001 - keep ticking; the failed step retries next tick
                log.exception("scheduler tick failed")
            self._stop_event.wait(max(0.0, self.interval - (time.monotonic() - started)))
