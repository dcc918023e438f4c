"""One scheduler tick: move every due round one step along its life.

Celery beat starts a tick every second in production: the shared part (chain index, lost
upload checks) and then one task per tournament, so a slow or failing tournament delays only
itself (tournaments/tasks.py). `manage.py up` runs the same parts in-process, each tournament
within a time budget per tick (demo/runner.py), or all at one simulated moment (headless).
Each step is an idempotent service, so overlapping or repeated ticks are harmless; a step
that cannot run yet (no live data, no target) waits.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q

from core.errors import ArenaError
from tournaments.kinds import kind_hooks
from tournaments.ledger import ledger
from tournaments.models import (
    Round,
    RoundState,
    RoundTarget,
    Tournament,
    TournamentState,
)
from tournaments.services.lifecycle import (
    next_round_opens_at,
    round_close,
    round_open,
    round_resolve,
    round_schedule_next,
    round_score_day,
    round_settle,
    target_overdue_at,
)
from tournaments.services.uploads import sponsor_uploads_resume

log = logging.getLogger("arena.scheduler")


@dataclass
class TickReport:
    actions: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)


def _round_step(round: Round, now: datetime, report: TickReport) -> bool:
    """Advance `round` by one step if due. Returns True if something changed."""
    label = f"{round.tournament.slug}#{round.number}"
    if round.state == RoundState.SCHEDULED and round.tournament.state != TournamentState.ACTIVE:
        return False  # a paused tournament opens no round; those already open run their course
    kind_step = kind_hooks(round.tournament.kind).round_step
    if kind_step is not None:
        # The kind's own work first (a DEX market: live data, targets and trading).
        report.actions += kind_step(round, now)
    if round.state == RoundState.SCHEDULED and now >= round.opens_at:
        if not hasattr(round, "live_dataset"):
            report.waiting.append(f"{label}: live data")
            return False
        round_open(round=round, now=now)
        report.actions.append(f"{label} opened")
        return True
    if round.state == RoundState.OPEN and now >= round.closes_at:
        round_close(round=round, now=now)
        report.actions.append(f"{label} closed")
        return True
    if round.state in (RoundState.CLOSED, RoundState.SCORING):
        day = round.scored_days + 1
        if day <= round.total_score_days:
            if now < round.score_day_at(day):
                return False
            if now >= target_overdue_at(round):
                # No target in time, or a day that failed to score for as long: given up,
                # so that nothing can hold the round's stakes.
                round_resolve(round=round, now=now)
                report.actions.append(f"{label} resolved: day {day} was not scored in time")
                return True
            if not RoundTarget.objects.filter(round=round, day=day).exists():
                report.waiting.append(f"{label}: target for day {day}")
                return False
            round_score_day(round=round, day=day, now=now)
            report.actions.append(f"{label} scored day {day}")
            return True
        round_resolve(round=round, now=now)
        report.actions.append(f"{label} resolved")
        return True
    if round.state == RoundState.RESOLVED:
        ledger().prepare_settlement(round=round)
        if round_settle(round=round, now=now).state != RoundState.SETTLED:
            report.waiting.append(f"{label}: settlement (challenge window or chain)")
            return False
        report.actions.append(f"{label} settled")
        return True
    return False


def _sync_ledger(report: TickReport) -> None:
    """Mirror the ledger first (chain events), so closes snapshot the stakes it holds now."""
    if mirrored := ledger().sync():
        report.actions.append(f"indexed {mirrored} chain events")


def tournaments_in_play(tournaments: list[Tournament] | None = None):
    """The active tournaments, and any other (paused, archived) with a round that has opened
    and is not settled: pausing stops new rounds, never the scoring or settlement of those
    that took submissions and stakes."""
    in_flight = Round.objects.filter(tournament=OuterRef("pk")).exclude(
        state__in=(RoundState.SCHEDULED, RoundState.SETTLED)
    )
    qs = Tournament.objects.filter(Q(state=TournamentState.ACTIVE) | Exists(in_flight)).order_by("pk")
    return qs if tournaments is None else qs.filter(pk__in=[t.pk for t in tournaments])


def _resume_uploads(now: datetime, report: TickReport) -> None:
    """Send the check again for sponsor uploads whose check was lost (services/uploads.py)."""
    try:
        if sent := sponsor_uploads_resume(now=now):
            report.actions.append(f"sent {sent} upload check(s) again")
    except Exception:  # noqa: BLE001 - the rounds go on; the sweep runs again next tick
        log.exception("could not resume the uploads still processing")


def scheduler_shared_tick(*, now: datetime, report: TickReport | None = None) -> TickReport:
    """The part of a tick that is no tournament's own: mirror the chain, resume lost checks."""
    report = report if report is not None else TickReport()
    try:
        _sync_ledger(report)
    except Exception:  # noqa: BLE001 - a node that is down must not stop the rounds' other steps
        log.exception("indexing chain events failed")
        report.waiting.append("chain index: failed (retried next tick)")
    _resume_uploads(now, report)
    return report


def tournament_tick(
    *,
    tournament: Tournament,
    clock: Callable[[], datetime],
    deadline: float | None = None,
    max_steps: int = 1000,
    report: TickReport | None = None,
    after_step: Callable[[], object] | None = None,
) -> TickReport:
    """Move one tournament's due rounds along, each step at `clock()`'s time.

    With a wall clock, each step reads the time afresh, so a round opened after a slow step
    still gets its whole window from the moment it opens. `deadline` (a time.monotonic()
    value) bounds the tick: no step starts after it, and the rest waits for the next tick.
    Every failure stays inside this tournament: it is logged and retried next tick.
    `after_step` runs after each step that changed something (a lease's renewal).
    """
    report = report if report is not None else TickReport()
    label = tournament.slug

    def out_of_time() -> bool:
        if deadline is not None and time.monotonic() >= deadline:
            report.waiting.append(f"{label}: time budget spent, the rest waits for the next tick")
            return True
        return False

    try:
        if tournament.state == TournamentState.ACTIVE and round_schedule_next(tournament=tournament, now=clock()):
            report.actions.append(f"{label}: scheduled a round")
    except Exception as exc:  # noqa: BLE001 - one tournament's schedule must not stop the others
        log.exception("%s: scheduling the next round failed", label)
        report.waiting.append(f"{label}: scheduling failed ({type(exc).__name__}: {exc})")
    rounds = tournament.rounds.exclude(state=RoundState.SETTLED).select_related("tournament")
    for round in rounds.order_by("number"):
        for _ in range(max_steps):
            if out_of_time():
                return report
            try:
                if not _round_step(round, clock(), report):
                    break
                if after_step is not None:
                    after_step()
                round.refresh_from_db()
            except ArenaError as exc:
                log.warning("%s: %s", round, exc.message)
                report.waiting.append(f"{round}: {exc.message}")
                break
            except Exception as exc:  # noqa: BLE001 - one broken round must not stop the rest
                # (a node timeout, a revert): logged with its traceback, retried next tick.
                log.exception("%s: step failed", round)
                report.waiting.append(f"{round}: step failed ({type(exc).__name__}: {exc})")
                break
    return report


def scheduler_tick(
    *, now: datetime, tournaments: list[Tournament] | None = None, max_steps: int = 1000
) -> TickReport:
    """Advance every due round of the tournaments in play (or only of `tournaments`), all at
    the one moment `now` (a simulated clock, tests). Production runs one task per tournament
    instead (tournaments/tasks.py) and the embedded profile gives each a time budget
    (demo/runner.py), both on the wall clock."""
    report = scheduler_shared_tick(now=now)
    for tournament in tournaments_in_play(tournaments):
        tournament_tick(tournament=tournament, clock=lambda: now, max_steps=max_steps, report=report)
    return report


def _settlement_due(round: Round, after: datetime) -> datetime:
    """When a resolved round can take its next settlement step (end of the veto window)."""
    state = getattr(round, "chain", None)
    if state is not None and state.window_ends_at:
        return max(state.window_ends_at, after + timedelta(seconds=1))
    return after + timedelta(seconds=1)


def next_due_time(
    *, after: datetime, tournaments: list[Tournament] | None = None
) -> datetime | None:
    """The earliest scheduled moment after `after` (for a simulated clock to jump to)."""
    candidates = []
    for tournament in tournaments_in_play(tournaments):
        active = tournament.state == TournamentState.ACTIVE
        if active:
            candidates.append(next_round_opens_at(tournament, tournament.rounds.order_by("-number").first()))
        for r in tournament.rounds.exclude(state=RoundState.SETTLED):
            if r.state == RoundState.SCHEDULED:
                if active:
                    candidates.append(r.opens_at)
            elif r.state == RoundState.OPEN:
                candidates.append(r.closes_at)
            elif r.state == RoundState.RESOLVED:
                candidates.append(_settlement_due(r, after))
            elif r.scored_days < r.total_score_days:
                candidates.append(r.score_day_at(r.scored_days + 1))
                candidates.append(target_overdue_at(r))  # in case the target never comes
    future = [c for c in candidates if c > after]
    return min(future) if future else None
