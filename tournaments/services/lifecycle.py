"""The round's life: scheduled → open → closed → scoring → resolved → settled.

Every transition takes the round's row lock, checks the state, and changes nothing if the
transition already happened — so a scheduler that fires twice, or resumes after a crash,
is harmless. Each transition is logged in RoundTransition with its time.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, transaction

from core.errors import Conflict
from tournaments import signals
from tournaments.ledger import ledger
from tournaments.models import (
    ROUND_STATE_ORDER,
    ModelSlot,
    Round,
    RoundState,
    RoundTransition,
    StakeSnapshot,
    Submission,
    SubmissionState,
    Tournament,
    TournamentState,
)
from tournaments.round_keys import round_key_create
from tournaments.services.commitments import round_commitments_record
from tournaments.services.payouts import payouts_for_round
from tournaments.services.scoring import score_round_day
from tournaments.services.storage import round_purge_uncounted
from tournaments.services.submissions import round_decrypt_submissions

log = logging.getLogger("arena.lifecycle")


def _past(state: str, target: str) -> bool:
    return ROUND_STATE_ORDER.index(state) >= ROUND_STATE_ORDER.index(target)


def _transition(round: Round, to_state: str, now: datetime, detail: str = "") -> None:
    RoundTransition.objects.create(
        round=round, from_state=round.state, to_state=to_state, at=now, detail=detail[:300]
    )
    log.info("%s: %s -> %s %s", round, round.state, to_state, detail)
    round.state = to_state
    round.save(update_fields=["state"])


def _locked(round: Round) -> Round:
    return Round.objects.select_for_update().select_related("tournament").get(pk=round.pk)


# A round opened later than this share of its submission window after its open time gets the
# whole window from the moment it opens; a scheduler tick's usual lag changes nothing.
LATE_OPEN_SHARE = 0.05


def next_round_opens_at(tournament: Tournament, last: Round | None) -> datetime:
    """When the round after `last` is due to open: one interval after it (the first round at
    the tournament's first_round_at)."""
    return tournament.first_round_at if last is None else last.opens_at + tournament.round_interval


def round_schedule_next(*, tournament: Tournament, now: datetime) -> Round | None:
    """Create the next round whose open time has come or is the next one ahead.

    Keeps exactly one future round scheduled so pages can show when it opens.
    """
    if tournament.state != TournamentState.ACTIVE:
        return None
    with transaction.atomic():
        Tournament.objects.select_for_update().get(pk=tournament.pk)
        last = tournament.rounds.order_by("-number").first()
        number = (last.number + 1) if last else 1
        opens_at = next_round_opens_at(tournament, last)
        if last is not None and last.opens_at > now:
            return None  # a future round is already waiting
        # A scheduler that was stopped for several intervals does not make up the missed
        # rounds one after another: the next round takes the latest slot that has begun.
        missed = (now - opens_at) // tournament.round_interval if now > opens_at else 0
        if missed:
            log.warning(
                "%s: %d round slot(s) passed while no round was scheduled; round %d takes the one at %s",
                tournament.slug, missed, number, (opens_at + missed * tournament.round_interval).isoformat(),
            )
            opens_at += missed * tournament.round_interval
        closes_at = opens_at + tournament.submission_window
        resolves_at = (
            closes_at
            + tournament.resolution_lag
            + (tournament.score_days - 1) * tournament.score_day_interval
        )
        return Round.objects.create(
            tournament=tournament,
            number=number,
            opens_at=opens_at,
            closes_at=closes_at,
            resolves_at=resolves_at,
        )


def round_open(*, round: Round, now: datetime) -> Round:
    """Open for submissions: needs the live data; freezes the tournament's rules. With a
    chain the round opens there first, so a release requested from then on waits for it."""
    money = ledger()
    with money.session(), transaction.atomic():
        round = _locked(round)
        if _past(round.state, RoundState.OPEN):
            return round
        if now < round.opens_at:
            raise Conflict(f"round {round.number} opens at {round.opens_at.isoformat()}")
        if not hasattr(round, "live_dataset"):
            raise Conflict(f"round {round.number} has no live data yet", code="no_live_data")
        detail = ""
        t = round.tournament
        late = now - round.opens_at
        if late > t.submission_window * LATE_OPEN_SHARE:
            # Opened late (the scheduler was behind, or the live data came late): modelers
            # still get the whole submission window, and the score days move with the close.
            # The open time stays as scheduled, so later rounds keep their slots.
            round.closes_at = now + t.submission_window
            round.resolves_at = round.closes_at + t.resolution_lag + (t.score_days - 1) * t.score_day_interval
            detail = f"{late.total_seconds():.0f} s late: open until {round.closes_at.isoformat()}"
        money.round_opened(round=round)
        round.rules = round.tournament.rules_snapshot() | {
            # The score schedule is frozen too (Round.score_day_at reads it from here).
            "resolution_lag_seconds": t.resolution_lag.total_seconds(),
            "score_day_interval_seconds": t.score_day_interval.total_seconds(),
        }
        round.save(update_fields=["rules", "closes_at", "resolves_at"])
        round_key_create(round=round, now=now)  # the public key modelers seal to
        _transition(round, RoundState.OPEN, now, detail)
    signals.announce(signals.round_changed, sender=Round, round=round)
    return round


def round_close(*, round: Round, now: datetime) -> Round:
    """Lock submissions: the last one received per model counts and is committed to (Merkle
    root); stakes are snapshotted. Then the counted envelopes are opened and checked. With a
    chain, its latest block is noted: the stakes at risk are read from the contract there."""
    money = ledger()
    with money.session(), transaction.atomic():
        round = _locked(round)
        if _past(round.state, RoundState.CLOSED):
            return round
        if round.state != RoundState.OPEN:
            raise Conflict(f"round {round.number} is {round.state}, not open")
        if now < round.closes_at:
            raise Conflict(f"round {round.number} closes at {round.closes_at.isoformat()}")
        latest_ids = []
        seen: set[int] = set()
        for sub in (
            Submission.objects.filter(
                round=round,
                state__in=[SubmissionState.RECEIVED, SubmissionState.VALID],
                created_at__lt=round.closes_at,
            )
            .order_by("model_id", "-created_at", "-id")
            .only("id", "model_id")
        ):
            if sub.model_id not in seen:
                seen.add(sub.model_id)
                latest_ids.append(sub.id)
        Submission.objects.filter(id__in=latest_ids).update(is_counted=True)
        round_commitments_record(round=round)
        money.round_commitments_after_commit(round=round)  # published before decryption
        StakeSnapshot.objects.bulk_create(
            [
                StakeSnapshot(round=round, model=m, amount=m.stake)
                # Row-locked: a release in flight finishes first or waits for the snapshot.
                for m in ModelSlot.objects.select_for_update().filter(id__in=seen).order_by("pk")
            ]
        )
        money.round_closed(round=round)
        _transition(round, RoundState.CLOSED, now, f"{len(latest_ids)} submissions counted")
    # Outside the close's transaction: the close and its commitments stand even if opening
    # fails (e.g. a missing key-encryption key); scoring retries it before day 1.
    round_decrypt_submissions(round=round, now=now)
    _purge_uncounted(round, now)
    signals.announce(signals.round_changed, sender=Round, round=round)
    return round


def _purge_uncounted(round: Round, now: datetime) -> None:
    """Free the envelopes that did not count. A storage failure here is logged, never the
    round's: resolving the round tries again."""
    try:
        round_purge_uncounted(round=round, now=now)
    except (OSError, DatabaseError):
        log.exception("%s: could not delete the envelopes that did not count", round)


def round_score_day(*, round: Round, day: int, now: datetime) -> Round:
    """Score day `day` against its target; the first day moves closed → scoring."""
    with transaction.atomic():
        round = _locked(round)
        if round.scored_days >= day:
            return round
        if round.state not in (RoundState.CLOSED, RoundState.SCORING):
            raise Conflict(f"round {round.number} is {round.state}: it cannot be scored")
        if day != round.scored_days + 1:
            raise Conflict(f"day {round.scored_days + 1} of round {round.number} must be scored first")
        score_round_day(round=round, day=day, now=now)
        round.scored_days = day
        round.save(update_fields=["scored_days", "meta_corr"])
        if round.state == RoundState.CLOSED:
            _transition(round, RoundState.SCORING, now)
    signals.announce(signals.round_scored, sender=Round, round=round)
    return round


def target_overdue_at(round: Round) -> datetime:
    """When the round's next score day is given up: its due time plus
    ARENA_TARGET_WAIT_SECONDS. A sponsor (or a stalled market) that withholds targets, or a
    day that keeps failing to score, then cannot keep the round's stakes locked: the round
    resolves on the days it has."""
    return round.score_day_at(round.scored_days + 1) + timedelta(seconds=settings.ARENA_TARGET_WAIT_SECONDS)


def round_resolve(*, round: Round, now: datetime) -> Round:
    """After the final score day: payouts from final scores, stakes and frozen rules.

    Also once a missing target is overdue (target_overdue_at): payouts then come from the
    last day that was scored, and a round with no scored day resolves with none (every
    stake at risk is released whole)."""
    money = ledger()
    with money.session(), transaction.atomic():
        round = _locked(round)
        if _past(round.state, RoundState.RESOLVED):
            return round
        complete = round.state == RoundState.SCORING and round.scored_days >= round.total_score_days
        cut_short = (
            round.state in (RoundState.CLOSED, RoundState.SCORING)
            and round.scored_days < round.total_score_days
            and now >= target_overdue_at(round)
        )
        if not (complete or cut_short):
            raise Conflict(
                f"round {round.number} has {round.scored_days} of {round.total_score_days} score days"
            )
        # The ledger's own stakes at risk (on a chain: read at the close block, after the
        # commitments post a task normally did already) must be in before any payout.
        money.stakes_at_risk_fixed(round=round)
        payouts = payouts_for_round(round=round)
        detail = f"{len(payouts)} payouts"
        if cut_short:
            detail = (
                f"day {round.scored_days + 1} was not scored within "
                f"{settings.ARENA_TARGET_WAIT_SECONDS} s of its time (no target, or it could not "
                f"be scored): resolved on {round.scored_days} of {round.total_score_days} score "
                f"days, {detail}"
            )
        _transition(round, RoundState.RESOLVED, now, detail)
    _purge_uncounted(round, now)
    signals.announce(signals.round_changed, sender=Round, round=round)
    return round


def round_settle(*, round: Round, now: datetime) -> Round:
    """Apply payouts: rewards from the reward pool, burns from stake — exactly once.

    With a chain, settlement is one Merkle root: each call advances propose → (challenge
    window) → finalize → apply, and the round turns settled once every leaf is applied.
    Without one (ARENA_CHAIN=off) the database ledger applies the payouts directly.
    """
    # Lock order: the ledger's session (a chain's gateway) before the database (web requests
    # that touch both take them in that order too), so the two locks never wait on each other.
    money = ledger()
    with money.session(), transaction.atomic():
        round = _locked(round)
        if _past(round.state, RoundState.SETTLED):
            return round
        if round.state != RoundState.RESOLVED:
            raise Conflict(f"round {round.number} is {round.state}, not resolved")
        detail = money.settle(round=round, now=now)
        if detail is None:
            return round  # waiting (a challenge window, the chain); the next tick resumes
        _transition(round, RoundState.SETTLED, now, detail)
    signals.announce(signals.round_changed, sender=Round, round=round)
    return round
