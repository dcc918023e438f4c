"""Tournament creation and edits (sponsor only)."""

import logging
import math
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from core.errors import ArenaError, Conflict, InvalidInput, NotAllowed
from tournaments.kinds import kind_hooks
from tournaments.ledger import ledger
from tournaments.models import DatasetKind, Tournament, TournamentKind
from tournaments.services.datasets import dataset_upload
from tournaments.services.lifecycle import round_schedule_next

log = logging.getLogger("arena.tournaments")

SCHEDULE_FIELDS = (
    "first_round_at",
    "round_interval",
    "submission_window",
    "resolution_lag",
    "score_days",
    "score_day_interval",
    "challenge_window",
)
RULE_FIELDS = ("payout_threshold", "corr_multiplier", "mmc_multiplier", "payout_cap", "pnl_multiplier")
# A year of daily scores (the site form's limit too); the column is a small integer.
MAX_SCORE_DAYS = 365
EDITABLE_FIELDS = ("name", "description", "state", "token_symbol", "reward_pool") + SCHEDULE_FIELDS + RULE_FIELDS
# Bounds that keep every round able to settle: the staking contract lets anyone abandon a
# round 90 days after its close (or after it opened, if it never closed), which releases
# every stake it holds unburned. A round's horizon — close → last score day → the week a
# withheld target is waited for → the guardian's window — stays well inside that, and so
# does its submission window; far-off dates would also overflow the schedule's arithmetic.
MAX_ROUND_INTERVAL = timedelta(days=366)
MAX_SUBMISSION_WINDOW = timedelta(days=30)
MAX_ROUND_HORIZON = timedelta(days=60)
MAX_FIRST_ROUND_AHEAD = timedelta(days=5 * 366)


def round_horizon(t: Tournament) -> timedelta:
    """The longest a round of `t` may take from its close until it can settle."""
    window = t.challenge_window if t.challenge_window is not None else timedelta(seconds=settings.CHAIN_CHALLENGE_WINDOW)
    return (
        t.resolution_lag
        + (t.score_days - 1) * t.score_day_interval
        + timedelta(seconds=settings.ARENA_TARGET_WAIT_SECONDS)
        + window
    )


def _check_schedule(t: Tournament) -> None:
    problems = []
    for field in ("round_interval", "submission_window", "score_day_interval"):
        if getattr(t, field) <= timedelta(0):
            problems.append(f"{field} must be positive")
    if t.resolution_lag < timedelta(0):
        problems.append("resolution_lag must not be negative")
    if t.submission_window > t.round_interval:
        problems.append("submission_window must not exceed round_interval")
    if t.score_days < 1:
        problems.append("score_days must be at least 1")
    elif t.score_days > MAX_SCORE_DAYS:
        problems.append(f"score_days must be at most {MAX_SCORE_DAYS}")
    if t.round_interval > MAX_ROUND_INTERVAL:
        problems.append(f"round_interval must be at most {MAX_ROUND_INTERVAL.days} days")
    if t.submission_window > MAX_SUBMISSION_WINDOW:
        problems.append(f"submission_window must be at most {MAX_SUBMISSION_WINDOW.days} days")
    if t.first_round_at and t.first_round_at > timezone.now() + MAX_FIRST_ROUND_AHEAD:
        problems.append("first_round_at must be within 5 years from now")
    if not problems and 1 <= t.score_days <= MAX_SCORE_DAYS and round_horizon(t) > MAX_ROUND_HORIZON:
        problems.append(
            f"resolution_lag + (score_days - 1) x score_day_interval + challenge_window + the "
            f"{settings.ARENA_TARGET_WAIT_SECONDS // 86400}-day wait for a late target must be at most "
            f"{MAX_ROUND_HORIZON.days} days, so that every round settles before it could be abandoned "
            "on-chain (90 days after its close)"
        )
    if not 0 < t.payout_cap <= 1:
        problems.append("payout_cap must be above 0 and at most 1 (a burn never exceeds the stake)")
    if not math.isfinite(t.pnl_multiplier) or t.pnl_multiplier < 0:
        problems.append("pnl_multiplier must be a finite number, 0 or more")
    elif t.pnl_multiplier and "pnl" not in kind_hooks(t.kind).extra_score_columns:
        problems.append("pnl_multiplier applies to DEX tournaments only (others have no P&L)")
    if t.payout_threshold <= 0:
        problems.append("payout_threshold must be positive")
    if t.reward_pool < 0:
        problems.append("reward_pool must not be negative")
    if t.challenge_window is not None and t.challenge_window < timedelta(0):
        problems.append("challenge_window must not be negative")
    if problems:
        raise InvalidInput("; ".join(problems), details={"problems": problems})


def tournament_create(
    *,
    sponsor: User,
    name: str,
    slug: str = "",
    description: str = "",
    first_round_at: datetime | None = None,
    kind: str = TournamentKind.DATASET,
    **options,
) -> Tournament:
    unknown = set(options) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(sorted(unknown))}")
    if not name.strip():
        raise InvalidInput("a tournament needs a name")
    slug = slug or slugify(name)[:60]
    if not slug:
        # A name of only symbols slugifies to nothing; a tournament needs an address.
        raise InvalidInput(f"could not derive a slug from the name {name.strip()!r}: send a slug")
    tournament = Tournament(
        sponsor=sponsor,
        name=name.strip(),
        slug=slug,
        description=description,
        kind=kind,
        first_round_at=first_round_at or timezone.now(),
        **options,
    )
    _check_schedule(tournament)
    # The pool is what the ledger was funded with (on a chain after the commit, mirrored
    # back by the indexer), never a number written here.
    pool, tournament.reward_pool = tournament.reward_pool, 0
    try:
        with transaction.atomic():
            tournament.save()
            _fund_pool(tournament, pool)
    except IntegrityError:
        raise Conflict(f"a tournament with slug '{tournament.slug}' already exists") from None
    return tournament


def _fund_pool(tournament: Tournament, amount: int) -> None:
    """Fund the tournament's pool through the ledger: on a dev chain from the sponsor's
    custodial wallet (test tokens), after the commit; on a real chain the sponsor calls
    fund() from their own wallet and the indexer mirrors it. A failure is logged: the
    tournament stands and the funding can be redone."""
    if amount <= 0:
        return
    try:
        ledger().fund_pool(tournament=tournament, amount=amount)
    except ArenaError as exc:
        log.warning("%s: reward pool not funded: %s", tournament.slug, exc.message)


def tournament_update(*, tournament: Tournament, by: User, **changes) -> Tournament:
    if tournament.sponsor_id != by.id:
        raise NotAllowed("only the tournament's sponsor can edit it")
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput(f"field(s) cannot be edited: {', '.join(sorted(unknown))}")
    if kind_hooks(tournament.kind).schedule_fixed and set(changes) & set(SCHEDULE_FIELDS):
        # (A DEX vault trades one round at a time; the schedule checked at creation keeps it so.)
        raise InvalidInput(
            f"a {tournament.get_kind_display()} tournament's schedule is fixed when it is created "
            "(its vault trades one round at a time)"
        )
    wanted_pool = int(changes.pop("reward_pool")) if "reward_pool" in changes else None
    money = ledger()
    # The ledger's session (a chain's gateway) before the row lock, never inside it.
    with money.session(), transaction.atomic():
        tournament = Tournament.objects.select_for_update().get(pk=tournament.pk)
        added_to_pool = 0
        if wanted_pool is not None:
            # Against the ledger's pool (on a chain the contract's, not the lagging mirror),
            # under the row lock: a retried edit to the same amount adds nothing.
            added_to_pool = wanted_pool - money.pool(tournament_id=tournament.pk)
            if added_to_pool < 0:
                raise InvalidInput(
                    "the reward pool is money promised to modelers: it can grow by funding, "
                    "not shrink"
                )
        for field, value in changes.items():
            setattr(tournament, field, value)
        _check_schedule(tournament)
        tournament.save()
        _fund_pool(tournament, added_to_pool)
    return tournament


def tournament_launch(
    *,
    sponsor: User,
    training_data: bytes,
    training_filename: str,
    now: datetime | None = None,
    **fields,
) -> Tournament:
    """Create a tournament with its training data and schedule its first round, all or nothing.

    The data file is checked before anything is stored (dataset_upload); if it is rejected,
    or the slug is taken, no tournament row remains. Scheduling round 1 right away lets the
    sponsor upload its live data before it opens.
    """
    with transaction.atomic():
        tournament = tournament_create(sponsor=sponsor, **fields)
        dataset_upload(
            tournament=tournament,
            by=sponsor,
            kind=DatasetKind.TRAINING,
            data=training_data,
            filename=training_filename,
        )
        round_schedule_next(tournament=tournament, now=now or timezone.now())
    return tournament
