"""Composite reads for the server-rendered pages (tournaments/views.py) and their API twins:
one call per page, built from the other selectors."""

from datetime import datetime

from django.contrib.auth.models import AnonymousUser, User
from django.utils import timezone

from core.errors import NotAllowed
from tournaments.kinds import round_fact
from tournaments.models import DatasetVersion, ModelSlot, Round, RoundKey, Submission, Tournament
from tournaments.selectors.commitments import round_encryption
from tournaments.selectors.datasets import datasets_current
from tournaments.selectors.rounds import (
    round_current_open,
    round_scheduled_next,
    round_targets,
    rounds_with_counts,
)
from tournaments.selectors.scores import model_score_history, round_scores_latest, round_summary
from tournaments.selectors.stakes import stake_locked


def tournament_page(*, tournament: Tournament, now: datetime) -> dict:
    """Everything the public tournament page shows."""
    return {
        "current_round": round_current_open(tournament=tournament, now=now),
        "next_round": round_scheduled_next(tournament=tournament),
        "rounds": list(rounds_with_counts(tournament=tournament)[:50]),
        "datasets": datasets_current(tournament=tournament),
        "n_models": tournament.model_slots.count(),
    }


def round_page(*, round: Round) -> dict:
    """Transitions, counts, per-day meta-model corr, per-model scores and payouts of a round."""
    scores = list(round_scores_latest(round=round).order_by("-corr", "model__name"))
    payouts = list(
        round.payouts.select_related("model", "model__owner").order_by("-amount", "model__name")
    )
    return {
        "transitions": list(round.transitions.all()),
        "summary": round_summary(round=round),
        "n_models": round.submissions.values("model").distinct().count(),
        "score_days": list(round.score_days.all()),
        "scores": scores,
        "payouts": payouts,
        "live_dataset": DatasetVersion.objects.filter(round=round).first(),
        "targets": list(round_targets(round=round)),
        "encryption": round_encryption(round=round),
        "trading": round_fact(round, "trading"),  # the kind's (DEX: book, mark, weights)
    }


def model_rounds(*, model: ModelSlot) -> list[dict]:
    """Per round the model took part in: its submissions, latest score and payout."""
    submissions: dict[int, list[Submission]] = {}
    for sub in model.submissions.order_by("-created_at", "-id"):
        submissions.setdefault(sub.round_id, []).append(sub)
    scores = {}
    for score in model.scores.order_by("round_id", "day"):
        scores[score.round_id] = score  # the last day wins
    payouts = {p.round_id: p for p in model.payouts.all()}
    round_ids = set(submissions) | set(scores) | set(payouts)
    return [
        {
            "round": r,
            "submissions": submissions.get(r.id, []),
            "score": scores.get(r.id),
            "payout": payouts.get(r.id),
        }
        for r in Round.objects.filter(id__in=round_ids).order_by("-number")
    ]


def model_page(*, model: ModelSlot) -> dict:
    """The public model profile: stake, score history (oldest first) and per-round results."""
    return {
        "history": model_score_history(model=model),
        "rounds": model_rounds(model=model),
        "stake_locked": stake_locked(model=model),
    }


def model_private(*, model: ModelSlot, by: User | AnonymousUser) -> dict:
    """The owner's view of a model: the public page plus submissions and stake events."""
    if model.owner_id != getattr(by, "id", None):
        raise NotAllowed("you can only manage your own models")
    open_round = round_current_open(tournament=model.tournament, now=timezone.now())
    key = RoundKey.objects.filter(round=open_round).first() if open_round else None
    return model_page(model=model) | {
        "stake_events": list(model.stake_events.select_related("round")[:50]),
        "open_round": open_round,
        "open_round_key": key.public_key if key else None,
    }
