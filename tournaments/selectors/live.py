"""The live pages' reads: what the live feed (its events and consumers) publishes and sends.

Plain JSON-ready dicts (wei as decimal strings, non-finite floats as null), so a stored
update, a pushed one and a snapshot are byte-for-byte the same shape.
"""

from collections.abc import Set

import numpy as np
from django.contrib.auth.models import User
from django.db.models import Count, Q

from tournaments.kinds import round_fact
from tournaments.models import (
    LeaderboardFeed,
    LeaderboardUpdate,
    ModelSlot,
    Round,
    RoundState,
    Tournament,
)
from tournaments.selectors.scores import leaderboard, round_scores_latest


def _json_float(value: float | None) -> float | None:
    if value is None or not np.isfinite(value):
        return None
    return float(value)


def live_leaderboard_rows(*, tournament: Tournament, metric: str, last_n: int) -> list[dict]:
    """`leaderboard()` rows for the live page, in rank order."""
    return [
        {
            "model_id": row["model_id"],
            "model": row["model"],
            "owner": row["owner"],
            "stake": str(row["stake"]),
            "score": _json_float(row["score"]),
            "rounds": row["rounds"],
            "rank": row["rank"],
        }
        for row in leaderboard(tournament=tournament, metric=metric, last_n=last_n)
    ]


def live_round_facts(*, round: Round) -> dict:
    """The round's state and counters as the round page and the leaderboard banner show them."""
    counts = round.submissions.aggregate(
        total=Count("id"),
        models=Count("model", distinct=True),
        counted=Count("id", filter=Q(is_counted=True)),
    )
    return {
        "number": round.number,
        "state": round.state,
        "scored_days": round.scored_days,
        "total_score_days": round.total_score_days,
        "meta_corr": _json_float(round.meta_corr),
        "submissions": counts["total"],
        "models": counts["models"],
        "counted": counts["counted"],
        "pnl": round_fact(round, "pnl"),  # the kind's (DEX: book and latest mark)
    }


def live_round_rows(*, round: Round) -> list[dict]:
    """Per model: the latest score day's CORR and MMC (rank by CORR) and the payout if any."""
    payouts = {p.model_id: p for p in round.payouts.all()}
    rows = []
    scores = round_scores_latest(round=round).order_by("-corr", "model__name")
    for rank, s in enumerate(scores, start=1):
        payout = payouts.get(s.model_id)
        rows.append(
            {
                "model_id": s.model_id,
                "model": s.model.name,
                "owner": s.model.owner.username,
                "corr": _json_float(s.corr),
                "mmc": _json_float(s.mmc),
                "pnl_contribution": _json_float(s.pnl_contribution),
                "rank": rank,
                "payout": str(payout.amount) if payout else None,
                "payout_state": payout.state if payout else None,
            }
        )
    return rows


def live_rounds_tracked(*, tournament: Tournament, also: Set[int] = frozenset()) -> list[Round]:
    """Rounds whose numbers can still change (open … resolved), plus the numbers in `also`
    (rounds a client was last shown unsettled, so their settlement is still sent)."""
    live = [RoundState.OPEN, RoundState.CLOSED, RoundState.SCORING, RoundState.RESOLVED]
    return list(
        tournament.rounds.filter(Q(state__in=live) | Q(number__in=also))
        .exclude(state=RoundState.SCHEDULED)
        .order_by("number")
    )


def live_private_status(*, tournament: Tournament, user: User) -> list[dict]:
    """A modeler's own models in a tournament: stake, latest submission and latest score.

    Only for the owner's socket (per-user group): submission states are not public.
    """
    rows = []
    for model in ModelSlot.objects.filter(tournament=tournament, owner=user).order_by("name"):
        sub = model.submissions.select_related("round").order_by("-created_at", "-id").first()
        score = model.scores.select_related("round").order_by("-round__number", "-day").first()
        rows.append(
            {
                "model_id": model.id,
                "model": model.name,
                "stake": str(model.stake),
                "submission": None
                if sub is None
                else {
                    "id": sub.id,
                    "round": sub.round.number,
                    "state": sub.state,
                    "counted": sub.is_counted,
                    "error": sub.error,
                    "created_at": sub.created_at.isoformat(),
                },
                "score": None
                if score is None
                else {
                    "round": score.round.number,
                    "day": score.day,
                    "corr": _json_float(score.corr),
                    "mmc": _json_float(score.mmc),
                },
            }
        )
    return rows


def live_feed(*, tournament: Tournament) -> LeaderboardFeed | None:
    """The tournament's live feed row (version and published state), or None before the first."""
    return LeaderboardFeed.objects.filter(tournament=tournament).first()


def live_updates_since(*, tournament: Tournament, since: int) -> list[LeaderboardUpdate]:
    """Logged updates after version `since`, oldest first."""
    return list(
        LeaderboardUpdate.objects.filter(tournament=tournament, version__gt=since).order_by("version")
    )
