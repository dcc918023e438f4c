"""Which rounds: the open one, the latest, the next, and those waiting for the sponsor's data."""

from datetime import datetime

from django.db.models import Count, Q, QuerySet

from tournaments.models import (
    Round,
    RoundState,
    RoundTarget,
    SubmissionState,
    Tournament,
    TournamentState,
)


def round_current_open(*, tournament: Tournament, now: datetime) -> Round | None:
    """The tournament's open round at `now` (RoundQuerySet defines it)."""
    return tournament.rounds.latest_open_at(now)


def round_latest(*, tournament: Tournament) -> Round | None:
    return tournament.rounds.exclude(state=RoundState.SCHEDULED).order_by("-number").first()


def round_scheduled_next(*, tournament: Tournament) -> Round | None:
    return tournament.rounds.filter(state=RoundState.SCHEDULED).order_by("number").first()


def rounds_recent(*, limit: int = 10) -> QuerySet[Round]:
    """Latest rounds that have opened, across active tournaments (home page)."""
    return (
        Round.objects.exclude(state=RoundState.SCHEDULED)
        .filter(tournament__state=TournamentState.ACTIVE)
        .select_related("tournament")
        .annotate(n_submissions=Count("submissions"))
        .order_by("-opens_at", "-id")[:limit]
    )


def rounds_with_counts(*, tournament: Tournament) -> QuerySet[Round]:
    """All rounds of a tournament, newest first, with submission and model counts."""
    return tournament.rounds.annotate(
        n_submissions=Count("submissions"),
        n_models=Count("submissions__model", distinct=True),
        n_valid=Count(
            "submissions",
            filter=Q(submissions__state=SubmissionState.VALID, submissions__is_counted=True),
        ),
    ).order_by("-number")


def rounds_awaiting_live_data(*, tournament: Tournament) -> QuerySet[Round]:
    """Rounds whose live data may still be uploaded or replaced (not yet open)."""
    return tournament.rounds.filter(state=RoundState.SCHEDULED).order_by("number")


def rounds_awaiting_targets(*, tournament: Tournament) -> QuerySet[Round]:
    """Rounds that take score-day targets: closed, or scoring with days left."""
    return tournament.rounds.filter(state__in=[RoundState.CLOSED, RoundState.SCORING]).order_by("number")


def round_targets(*, round: Round) -> QuerySet[RoundTarget]:
    """The targets in force for a round's score days (only files that passed their check)."""
    return round.targets.order_by("day")
