"""Reads: every query the views, APIs and services share."""

from datetime import datetime
from functools import lru_cache

import numpy as np
import pandas as pd
from django.db.models import Avg, Count, Q, QuerySet

from tournaments.blobs import blob_store
from tournaments.models import (
    DatasetKind,
    DatasetVersion,
    ModelSlot,
    Payout,
    Round,
    RoundState,
    Score,
    StakeSnapshot,
    Submission,
    SubmissionState,
    Tournament,
    TournamentState,
)
from tournaments.tables import read_table

UNSETTLED = [RoundState.CLOSED, RoundState.SCORING, RoundState.RESOLVED]


def tournament_list(*, include_archived: bool = False) -> QuerySet[Tournament]:
    qs = Tournament.objects.select_related("sponsor")
    if not include_archived:
        qs = qs.exclude(state=TournamentState.ARCHIVED)
    return qs


def round_current_open(*, tournament: Tournament, now: datetime) -> Round | None:
    return (
        tournament.rounds.filter(state=RoundState.OPEN, opens_at__lte=now)
        .order_by("-number")
        .first()
    )


def round_latest(*, tournament: Tournament) -> Round | None:
    return tournament.rounds.exclude(state=RoundState.SCHEDULED).order_by("-number").first()


def dataset_latest(*, tournament: Tournament, kind: str) -> DatasetVersion | None:
    return tournament.datasets.filter(kind=kind).order_by("-version").first()


def datasets_current(*, tournament: Tournament) -> list[DatasetVersion]:
    """Latest training and validation data, plus the live data of the open round."""
    found = [
        d
        for kind in (DatasetKind.TRAINING, DatasetKind.VALIDATION)
        if (d := dataset_latest(tournament=tournament, kind=kind))
    ]
    live = (
        tournament.datasets.filter(kind=DatasetKind.LIVE, round__state=RoundState.OPEN)
        .order_by("-version")
        .first()
    )
    if live:
        found.append(live)
    return found


@lru_cache(maxsize=64)
def _table_by_cid(cid: str, filename: str) -> pd.DataFrame:
    return read_table(blob_store().get(cid), filename)


def dataset_frame(dataset: DatasetVersion) -> pd.DataFrame:
    """The parsed data file (cached per content id: blobs are immutable)."""
    return _table_by_cid(dataset.cid, dataset.filename)


def live_ids(*, round: Round) -> list[str]:
    live = DatasetVersion.objects.filter(round=round).first()
    if live is None:
        return []
    return dataset_frame(live)["id"].astype(str).tolist()


def submission_latest(*, round: Round, model: ModelSlot) -> Submission | None:
    return round.submissions.filter(model=model).order_by("-created_at", "-id").first()


def submissions_counted(*, round: Round) -> QuerySet[Submission]:
    return round.submissions.filter(is_counted=True, state=SubmissionState.VALID).select_related("model")


def predictions_matrix(*, round: Round) -> tuple[list[ModelSlot], np.ndarray]:
    """Counted predictions as an (M live ids × N models) matrix, rows in live-id order."""
    ids = live_ids(round=round)
    subs = list(submissions_counted(round=round).order_by("model_id"))
    matrix = np.empty((len(ids), len(subs)), dtype=np.float64)
    for j, sub in enumerate(subs):
        frame = _table_by_cid(sub.cid, sub.filename)
        series = pd.Series(
            pd.to_numeric(frame["prediction"]).to_numpy(dtype=float), index=frame["id"].astype(str)
        )
        matrix[:, j] = series.reindex(ids).to_numpy()
    return [s.model for s in subs], matrix


def stake_snapshot_map(*, round: Round) -> dict[int, int]:
    return dict(StakeSnapshot.objects.filter(round=round).values_list("model_id", "amount"))


def stake_locked(*, model: ModelSlot) -> int:
    """Stake snapshotted by rounds that are closed but not yet settled."""
    amounts = StakeSnapshot.objects.filter(model=model, round__state__in=UNSETTLED).values_list(
        "amount", flat=True
    )
    return max(amounts, default=0)


def round_scores_latest(*, round: Round) -> QuerySet[Score]:
    return round.scores.filter(day=round.scored_days).select_related("model", "model__owner")


def leaderboard(
    *, tournament: Tournament, metric: str = "corr", last_n: int = 4
) -> list[dict]:
    """Rank models by the mean of `metric` over the last `last_n` rounds with scores.

    Each round contributes its latest score day. Rows: model, owner, stake, mean score,
    rounds counted, rank (1 = best).
    """
    if metric not in ("corr", "mmc", "payout"):
        raise ValueError(f"unknown leaderboard metric {metric!r}: use corr, mmc or payout")
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
        if rounds:
            for model_id, value in Score.objects.filter(cond).values_list("model_id", metric):
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
