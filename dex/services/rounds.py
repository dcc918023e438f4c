"""The DEX part of a scheduler tick for one round (tournaments/services/scheduler.py calls
it before the generic step). Every call is idempotent; what cannot run yet waits."""

from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings

from dex.models import DexBook, PnlMark
from dex.services.history import dex_history_catch_up, dex_round_data
from dex.services.marks import dex_round_mark, dex_round_target
from dex.services.trading import TRADING_STATES, dex_rebalance_enqueue_if_due, dex_round_book
from tournaments.models import Round, RoundState, RoundTarget

# A round keeps at most about this many live marks (its chart's points), however long it is.
MARKS_PER_ROUND = 240


def mark_interval(round: Round) -> timedelta:
    """ARENA_DEX_MARK_SECONDS, stretched so a long round is not marked thousands of times."""
    span = round.resolves_at - round.closes_at
    return max(timedelta(seconds=settings.ARENA_DEX_MARK_SECONDS), span / MARKS_PER_ROUND)


def _mark_due(round: Round, now: datetime) -> bool:
    last = PnlMark.objects.filter(round=round).order_by("-at").values_list("at", flat=True).first()
    return last is None or now - last >= mark_interval(round)


def _earlier_round_waiting(round: Round) -> bool:
    return round.tournament.rounds.filter(state=RoundState.SCHEDULED, number__lt=round.number).exists()


def dex_round_step(
    *, round: Round, now: datetime, enqueue_rebalance: Callable[[int], None]
) -> list[str]:
    """Live data when the round is due to open; at close the book (weights, opening marks)
    and its rebalance, scheduled with `enqueue_rebalance(round_id)` (the kind's hook passes
    dex.tasks.rebalance_round_enqueue); each score day's target from the day's mark; live
    marks between."""
    label = f"{round.tournament.slug}#{round.number}"
    done: list[str] = []
    if round.state == RoundState.SCHEDULED:
        if hasattr(round, "live_dataset"):
            return done
        if now >= round.opens_at:
            dex_round_data(round=round, now=now)
            done.append(f"{label}: live data from the pools")
        elif not _earlier_round_waiting(round) and dex_history_catch_up(market=round.tournament.dex):
            # Read ahead while the round waits, so little is left at its open (one slice a
            # tick: a round already due reads its own).
            done.append(f"{label}: pool history read ahead")
        return done
    if round.state not in TRADING_STATES:
        return done
    if not DexBook.objects.filter(round=round).exists():
        dex_round_book(round=round, now=now, enqueue_rebalance=enqueue_rebalance)
        done.append(f"{label}: book opened")
    # A pending rebalance whose run died (worker lost, node down) is started again; not
    # reported as an action, so a rebalance that keeps failing does not spin the tick.
    dex_rebalance_enqueue_if_due(round=round, enqueue_rebalance=enqueue_rebalance)
    day = round.scored_days + 1
    if (
        day <= round.total_score_days
        and now >= round.score_day_at(day)
        and not RoundTarget.objects.filter(round=round, day=day).exists()
    ):
        dex_round_target(round=round, day=day, now=now)
        done.append(f"{label}: target for day {day} from the pools")
    elif _mark_due(round, now):
        dex_round_mark(round=round, now=now)
    return done
