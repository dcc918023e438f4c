"""Scores: a round's latest score day and summary, the leaderboard, a model's history."""

import numpy as np
from django.db.models import Avg, Count, Q, QuerySet

from tournaments.models import ModelSlot, Payout, Round, Score, SubmissionState, Tournament


def round_scores_latest(*, round: Round) -> QuerySet[Score]:
    return round.scores.filter(day=round.scored_days).select_related("model", "model__owner")


def round_summary(*, round: Round) -> dict:
    counts = round.submissions.aggregate(
        total=Count("id"),
        valid=Count("id", filter=Q(state=SubmissionState.VALID, is_counted=True)),
    )
    mean_corr = round.scores.filter(day=round.scored_days).aggregate(v=Avg("corr"))["v"]
    return {
        "submissions": counts["total"],
        "valid_submissions": counts["valid"],
        "mean_corr": mean_corr,
    }


def leaderboard(
    *, tournament: Tournament, metric: str = "corr", last_n: int = 4
) -> list[dict]:
    """Rank models by the mean of `metric` over the last `last_n` rounds with scores.

    Each round contributes its latest score day. Rows: model, owner, stake, mean score,
    rounds counted, rank (1 = best).
    """
    if metric not in ("corr", "mmc", "payout", "pnl"):
        raise ValueError(f"unknown leaderboard metric {metric!r}: use corr, mmc, payout or pnl")
    rounds = list(
        tournament.rounds.filter(scored_days__gt=0).order_by("-number")[: max(1, last_n)]
    )
    per_model: dict[int, list[float]] = {}
    if metric == "payout":
        for p in Payout.objects.filter(round__in=rounds):
            stake = p.stake_at_risk
            per_model.setdefault(p.model_id, []).append(p.amount / stake if stake else 0.0)
    else:
        cond = Q()
        for r in rounds:
            cond |= Q(round=r, day=r.scored_days)
        # "pnl": the P&L contribution, which only DEX rounds have.
        field = "pnl_contribution" if metric == "pnl" else metric
        if rounds:
            scores = Score.objects.filter(cond).exclude(**{f"{field}__isnull": True})
            for model_id, value in scores.values_list("model_id", field):
                per_model.setdefault(model_id, []).append(value)
    models = {m.id: m for m in ModelSlot.objects.filter(id__in=per_model).select_related("owner")}
    rows = [
        {
            "model_id": mid,
            "model": models[mid].name,
            "owner": models[mid].owner.username,
            "stake": models[mid].stake,
            "score": float(np.mean(values)),
            "rounds": len(values),
        }
        for mid, values in per_model.items()
    ]
    rows.sort(key=lambda r: (-r["score"], r["model"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return rows


def model_score_history(*, model: ModelSlot) -> list[dict]:
    """Per round: the latest day's corr and mmc, and the payout if resolved."""
    payouts = {p.round_id: p for p in model.payouts.all()}
    history = []
    for r in model.tournament.rounds.filter(scored_days__gt=0).order_by("number"):
        score = r.scores.filter(model=model, day=r.scored_days).first()
        if score is None:
            continue
        payout = payouts.get(r.id)
        history.append(
            {
                "round": r.number,
                "corr": score.corr,
                "mmc": score.mmc,
                "day": score.day,
                "payout": payout.amount if payout else None,
            }
        )
    return history


def scores_of_model(*, model: ModelSlot) -> QuerySet[Score]:
    """Every score day of a model, newest round and day first."""
    return model.scores.select_related("round").order_by("-round__number", "-day")
