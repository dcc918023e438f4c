"""Reads: every query the views, APIs and services share."""

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache

import numpy as np
import pandas as pd
from arena_client.cid import cid_digest
from arena_client.validation import read_predictions, validate_predictions
from django.db import connection
from django.db.models import Avg, Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import ApiKey
from accounts.selectors import API_KEY_PART, USER_PART, key_with_user_from
from core.errors import Conflict, NotAllowed, NotFound
from core.lean_sql import Part, column, select_list, split_row, table
from core.merkle import MerkleTree, commitment_leaf_hash
from tournaments.blobs import blob_store
from tournaments.kinds import round_fact
from tournaments.models import (
    DatasetKind,
    DatasetVersion,
    ModelSlot,
    Payout,
    Round,
    RoundKey,
    RoundQuerySet,
    RoundState,
    RoundTarget,
    Score,
    SponsorUpload,
    StakeSnapshot,
    Submission,
    SubmissionState,
    Tournament,
    TournamentState,
    UploadKind,
    UploadState,
)
from tournaments.predictions_blob import read_predictions_blob
from tournaments.tables import read_table

UNSETTLED = [RoundState.CLOSED, RoundState.SCORING, RoundState.RESOLVED]

log = logging.getLogger("arena.selectors")


# --- The upload path: SQL rather than QuerySets (core/lean_sql.py) ----------------------


def _has_key_sql() -> str:
    """Whether round r has its public key."""
    return (
        f"EXISTS (SELECT 1 FROM {table(RoundKey)} rk "
        f"WHERE rk.{column(RoundKey, 'round')} = r.{column(Round, 'id')})"
    )


@cache
def _round_open_for_upload_sql(vendor: str) -> str:
    """round_open_for_upload's statement, built once per database vendor."""
    return (
        f"SELECT r.*, {_has_key_sql()} AS has_key FROM {table(Round)} r "
        f"WHERE r.{column(Round, 'id')} = ({RoundQuerySet.latest_open_at_sql('%s')})"
    )


def round_open_for_upload(*, tournament_id: int, now: datetime) -> Round | None:
    """The tournament's open round at `now` (Round.objects.latest_open_at), with `has_key`
    (whether its public key exists), in one statement."""
    rounds = Round.objects.raw(
        _round_open_for_upload_sql(connection.vendor),
        [tournament_id, *RoundQuerySet.latest_open_at_sql_params(now)],
    )
    return next(iter(rounds), None)


@dataclass(frozen=True)
class UploadContext:
    """Everything an API upload checks, read in one statement: the key and its user, the
    model and its tournament (id and slug), and the round open for uploads (None when
    there is none) with `has_key`, and how many envelopes the model has uploaded to that
    round, and whether the envelope's CID was uploaded to another round. Instances carry only
    these fields (core/lean_sql.py)."""

    api_key: ApiKey
    model: ModelSlot | None
    round: Round | None
    uploads: int = 0  # the model's uploads to that round so far (the per-round quota)
    envelope_reused: bool = False  # these bytes were uploaded to another round before


_UPLOAD_PARTS = (
    API_KEY_PART,
    USER_PART,
    Part(ModelSlot, "m", ("id", "owner_id", "tournament_id")),
    Part(Tournament, "t", ("id", "slug")),
    Part(Round, "r", ("id", "tournament_id", "number", "state", "opens_at", "closes_at")),
)


@cache
def _upload_context_sql(vendor: str) -> str:
    """upload_context's statement, built once per database vendor: its text never changes."""
    latest_open = RoundQuerySet.latest_open_at_sql(f"m.{column(ModelSlot, 'tournament')}")
    return (
        f"SELECT {select_list(*_UPLOAD_PARTS)}, {_has_key_sql()}, "
        f"(SELECT COUNT(*) FROM {table(Submission)} s "
        f"WHERE s.{column(Submission, 'round')} = r.{column(Round, 'id')} "
        f"AND s.{column(Submission, 'model')} = m.{column(ModelSlot, 'id')}), "
        f"EXISTS (SELECT 1 FROM {table(Submission)} e "
        f"WHERE e.{column(Submission, 'cid')} = %s "
        f"AND e.{column(Submission, 'round')} <> r.{column(Round, 'id')}) "
        f"{key_with_user_from()} "
        f"LEFT JOIN {table(ModelSlot)} m ON m.{column(ModelSlot, 'id')} = %s "
        f"LEFT JOIN {table(Tournament)} t "
        f"ON t.{column(Tournament, 'id')} = m.{column(ModelSlot, 'tournament')} "
        f"LEFT JOIN {table(Round)} r ON r.{column(Round, 'id')} = ({latest_open}) "
        f"WHERE k.{column(ApiKey, 'key_hash')} = %s"
    )


def upload_context(*, key_hash: str, model_id: int, now: datetime, cid: str) -> UploadContext | None:
    """The upload's context (UploadContext) for an envelope named `cid`, or None when no key
    has this hash."""
    # In the order of the statement's placeholders: the CID, the model, the open round's, the key.
    params = [cid, model_id, *RoundQuerySet.latest_open_at_sql_params(now), key_hash]
    with connection.cursor() as cursor:
        cursor.execute(_upload_context_sql(connection.vendor), params)
        row = cursor.fetchone()
    if row is None:
        return None
    api_key, user, model, tournament, round = split_row(row[:-3], *_UPLOAD_PARTS)
    api_key.user = user
    if model is not None:
        model.tournament = tournament
    if round is not None:
        round.tournament = tournament
        round.has_key = bool(row[-3])
    return UploadContext(
        api_key=api_key, model=model, round=round, uploads=int(row[-2] or 0), envelope_reused=bool(row[-1])
    )


def tournament_list(*, include_archived: bool = False) -> QuerySet[Tournament]:
    qs = Tournament.objects.select_related("sponsor")
    if not include_archived:
        qs = qs.exclude(state=TournamentState.ARCHIVED)
    return qs


def round_current_open(*, tournament: Tournament, now: datetime) -> Round | None:
    """The tournament's open round at `now` (RoundQuerySet defines it)."""
    return tournament.rounds.latest_open_at(now)


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
    # By state alone, with no time: a round is moved to open only once its opens_at has come.
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
    """Counted, decrypted predictions as an (M live ids × N models) matrix, rows in live-id order.

    Reads each valid submission's predictions blob (tournaments/predictions_blob.py), written
    when its envelope was opened after close. (Submissions from before sealed uploads have no such blob: their stored file
    is the plaintext itself.)
    """
    ids = live_ids(round=round)
    subs = list(submissions_counted(round=round).order_by("model_id"))
    # Column-major: each model's predictions contiguous, as the scoring engine ranks them.
    matrix = np.empty((len(ids), len(subs)), dtype=np.float64, order="F")
    for j, sub in enumerate(subs):
        if sub.predictions_cid:
            # Checked against its CID and the live ids: a damaged blob fails loudly.
            data = blob_store().get(sub.predictions_cid)
            matrix[:, j] = read_predictions_blob(data, cid=sub.predictions_cid, ids=ids)
        else:
            data = blob_store().get(sub.cid)
            matrix[:, j] = validate_predictions(read_predictions(data, sub.filename), ids).values
    return [s.model for s in subs], matrix


# --- Keys and commitments ----------------------------------------------------------------


def round_encryption(*, round: Round) -> dict:
    """What the round publishes about its keys and commitments (API round detail, round page).

    public_key: hex, from the moment the round opens. private_key: hex, once the round has
    resolved, so anyone can re-open the envelopes and re-check the scoring. commitments_root:
    "0x…" from close on.
    """
    from tournaments.services.round_keys import RoundKeyError, round_private_key_published

    key = RoundKey.objects.filter(round=round).first()
    try:
        published = round_private_key_published(round=round) if key else None
    except RoundKeyError:
        # A misconfigured key-encryption key must not take public pages down; it is logged
        # loudly here and fails the round's decryption step outright.
        log.exception("%s: cannot open the stored round key to publish it", round)
        published = None
    return {
        "public_key": key.public_key if key else None,
        "private_key": published.hex() if published else None,
        "commitments_root": round.commitments_root or None,
        "commitments_count": round.commitments_count,
    }


def commitments_tree(*, round: Round) -> MerkleTree:
    """The Merkle tree over the round's counted envelopes (arena_client.merkle's scheme).

    Leaves are keccak256(keccak256(sha256 digest carried by the CID)). Equal envelopes counted
    for two models would be one leaf (a tree cannot hold a leaf twice), so digests are
    de-duplicated; `len(tree)` is the number of distinct envelopes committed to.
    """
    cids = round.submissions.filter(is_counted=True).values_list("cid", flat=True)
    digests = {cid_digest(cid) for cid in cids}
    return MerkleTree(commitment_leaf_hash(digest) for digest in digests)


def submission_inclusion_proof(*, submission: Submission) -> dict:
    """Proof that a counted submission's envelope is under its round's commitments root.

    Conflict while the round is open (nothing is committed yet) and for a submission that was
    not counted; the tree is rebuilt from the counted rows and must give the stored root.
    """
    round = submission.round
    if round.state in (RoundState.SCHEDULED, RoundState.OPEN):
        raise Conflict(
            f"round {round.number} is {round.state}: its submissions are committed when it "
            f"closes at {round.closes_at.isoformat()}",
            code="round_not_closed",
        )
    if not submission.is_counted:
        raise Conflict(
            f"submission {submission.id} was not counted at close (a later upload to round "
            f"{round.number} replaced it): only counted submissions are committed",
            code="not_counted",
        )
    if not round.commitments_root:
        raise Conflict(
            f"round {round.number} closed before commitments were recorded", code="no_commitments"
        )
    tree = commitments_tree(round=round)
    root = "0x" + tree.root.hex()
    if root != round.commitments_root:
        raise RuntimeError(
            f"{round}: the counted submissions give root {root}, not the recorded "
            f"{round.commitments_root}"
        )
    digest = cid_digest(submission.cid)
    leaf = commitment_leaf_hash(digest)
    return {
        "submission": submission,
        "digest": "0x" + digest.hex(),
        "leaf": "0x" + leaf.hex(),
        "proof": ["0x" + node.hex() for node in tree.proof(leaf)],
        "root": root,
        "count": len(tree),
    }


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


# --- Site pages --------------------------------------------------------------------------
# Composite reads for the server-rendered pages (tournaments/views.py): one call per page.


def dataset_for_download(*, tournament: Tournament, dataset_id: int, by) -> DatasetVersion:
    """A downloadable data file. A scheduled round's live data stays with its sponsor until it opens."""
    dataset = (
        DatasetVersion.objects.select_related("round").filter(tournament=tournament, pk=dataset_id).first()
    )
    if dataset is None:
        raise NotFound(f"no data set {dataset_id} in {tournament.slug}")
    hidden = dataset.round is not None and dataset.round.state == RoundState.SCHEDULED
    if hidden and tournament.sponsor_id != getattr(by, "id", None):
        raise NotFound(f"round {dataset.round.number}'s live data is published when the round opens")
    return dataset


def dataset_content(*, dataset: DatasetVersion) -> bytes:
    """The stored bytes of a data file (its CID was checked when it was stored)."""
    return blob_store().get(dataset.cid)


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


def round_scheduled_next(*, tournament: Tournament) -> Round | None:
    return tournament.rounds.filter(state=RoundState.SCHEDULED).order_by("number").first()


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


def rounds_awaiting_live_data(*, tournament: Tournament) -> QuerySet[Round]:
    """Rounds whose live data may still be uploaded or replaced (not yet open)."""
    return tournament.rounds.filter(state=RoundState.SCHEDULED).order_by("number")


def rounds_awaiting_targets(*, tournament: Tournament) -> QuerySet[Round]:
    """Rounds that take score-day targets: closed, or scoring with days left."""
    return tournament.rounds.filter(state__in=[RoundState.CLOSED, RoundState.SCORING]).order_by("number")


def round_targets(*, round: Round) -> QuerySet[RoundTarget]:
    """The targets in force for a round's score days (only files that passed their check)."""
    return round.targets.order_by("day")


def sponsor_uploads(
    *,
    tournament: Tournament,
    by,
    state: str | None = None,
    kind: str | None = None,
    round_number: int | None = None,
) -> QuerySet[SponsorUpload]:
    """The sponsor's uploads to a tournament, newest first (NotAllowed for anyone else)."""
    if tournament.sponsor_id != getattr(by, "id", None):
        raise NotAllowed("only the tournament's sponsor can see its uploads")
    uploads = tournament.uploads.select_related("tournament", "round", "dataset", "dataset__round")
    if state:
        uploads = uploads.filter(state=state)
    if kind:
        uploads = uploads.filter(kind=kind)
    if round_number is not None:
        uploads = uploads.filter(round__number=round_number)
    return uploads.order_by("-created_at", "-id")


def sponsor_upload(*, tournament: Tournament, upload_id: int, by) -> SponsorUpload:
    upload = sponsor_uploads(tournament=tournament, by=by).filter(pk=upload_id).first()
    if upload is None:
        raise NotFound(f"no upload {upload_id} in {tournament.slug}")
    return upload


# Uploads the dashboard lists: every one still processing, and the latest others.
DASHBOARD_UPLOADS = 20


def sponsor_dashboard(*, tournament: Tournament, by) -> dict:
    """What a sponsor needs to keep rounds running: data per round, targets per closed round,
    and the uploads being checked or refused (with the reason).

    Only the tournament's sponsor may see it (NotAllowed otherwise).
    """
    if tournament.sponsor_id != getattr(by, "id", None):
        raise NotAllowed("only the tournament's sponsor can see its dashboard")
    rounds = list(rounds_with_counts(tournament=tournament).select_related("live_dataset"))
    targets: dict[int, list[int]] = {}
    for round_id, day in RoundTarget.objects.filter(round__tournament=tournament).values_list(
        "round_id", "day"
    ):
        targets.setdefault(round_id, []).append(day)
    checking_live: set[int] = set()
    checking_days: dict[int, list[int]] = {}
    pending = tournament.uploads.filter(state=UploadState.PROCESSING, round__isnull=False)
    for round_id, kind, day in pending.values_list("round_id", "kind", "day"):
        if kind == UploadKind.LIVE:
            checking_live.add(round_id)
        else:
            checking_days.setdefault(round_id, []).append(day)
    for r in rounds:
        r.target_days = sorted(targets.get(r.id, []))
        r.live_checking = r.id in checking_live
        r.target_days_checking = sorted(set(checking_days.get(r.id, [])))
    uploads = sponsor_uploads(tournament=tournament, by=by)
    recent = list(uploads.filter(state=UploadState.PROCESSING)) + list(
        uploads.exclude(state=UploadState.PROCESSING)[:DASHBOARD_UPLOADS]
    )
    return {
        "rounds": rounds,
        "scheduled_rounds": rounds_awaiting_live_data(tournament=tournament),
        "target_rounds": rounds_awaiting_targets(tournament=tournament),
        "datasets": list(
            tournament.datasets.filter(round__isnull=True).order_by("kind", "-version")
        ),
        "uploads": recent,
        "uploads_processing": sum(u.state == UploadState.PROCESSING for u in recent),
    }


def models_of_owner(*, owner) -> list[dict]:
    """A modeler's models with stake, latest submission and latest scores."""
    rows = []
    for model in ModelSlot.objects.filter(owner=owner).select_related("tournament").order_by(
        "tournament__name", "name"
    ):
        latest_sub = (
            model.submissions.select_related("round").order_by("-created_at", "-id").first()
        )
        latest_score = (
            model.scores.select_related("round").order_by("-round__number", "-day").first()
        )
        rows.append({"model": model, "submission": latest_sub, "score": latest_score})
    return rows


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


def model_private(*, model: ModelSlot, by) -> dict:
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


def model_page(*, model: ModelSlot) -> dict:
    """The public model profile: stake, score history (oldest first) and per-round results."""
    return {
        "history": model_score_history(model=model),
        "rounds": model_rounds(model=model),
        "stake_locked": stake_locked(model=model),
    }


# --- REST API ----------------------------------------------------------------------------
# Reads the API needs beyond the ones above (tournaments/apis/).


def model_list(*, owner, tournament: Tournament | None = None) -> QuerySet[ModelSlot]:
    """A modeler's models (optionally in one tournament), by tournament and name."""
    qs = ModelSlot.objects.filter(owner=owner).select_related("tournament", "owner")
    if tournament is not None:
        qs = qs.filter(tournament=tournament)
    return qs.order_by("tournament__slug", "name")


def submissions_of_model(*, model: ModelSlot, by) -> QuerySet[Submission]:
    """A model's uploads, newest first; owner only (NotAllowed otherwise).

    Each carries `replaced`: a later upload to the same round supersedes it, so it will not
    (or did not) count.
    """
    if model.owner_id != getattr(by, "id", None):
        raise NotAllowed("only the model's owner can see its submissions")
    later = Submission.objects.filter(round=OuterRef("round"), model=OuterRef("model")).filter(
        Q(created_at__gt=OuterRef("created_at")) | Q(created_at=OuterRef("created_at"), id__gt=OuterRef("id"))
    )
    return (
        model.submissions.select_related("round", "round__tournament")
        .annotate(replaced=Exists(later))
        .order_by("-created_at", "-id")
    )


def scores_of_model(*, model: ModelSlot) -> QuerySet[Score]:
    """Every score day of a model, newest round and day first."""
    return model.scores.select_related("round").order_by("-round__number", "-day")


# --- Live pages --------------------------------------------------------------------------
# What tournaments/events.py publishes and tournaments/consumers.py sends: plain JSON-ready
# dicts (wei as decimal strings, non-finite floats as null) so a stored update, a pushed one
# and a snapshot are byte-for-byte the same shape.


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


def live_rounds_tracked(*, tournament: Tournament, also: set[int] = frozenset()) -> list[Round]:
    """Rounds whose numbers can still change (open … resolved), plus the numbers in `also`
    (rounds a client was last shown unsettled, so their settlement is still sent)."""
    live = [RoundState.OPEN, RoundState.CLOSED, RoundState.SCORING, RoundState.RESOLVED]
    return list(
        tournament.rounds.filter(Q(state__in=live) | Q(number__in=also))
        .exclude(state=RoundState.SCHEDULED)
        .order_by("number")
    )


def live_private_status(*, tournament: Tournament, user) -> list[dict]:
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


def live_feed(*, tournament: Tournament):
    """The tournament's live feed row (version and published state), or None before the first."""
    from tournaments.models import LeaderboardFeed

    return LeaderboardFeed.objects.filter(tournament=tournament).first()


def live_updates_since(*, tournament: Tournament, since: int):
    """Logged updates after version `since`, oldest first."""
    from tournaments.models import LeaderboardUpdate

    return list(
        LeaderboardUpdate.objects.filter(tournament=tournament, version__gt=since).order_by("version")
    )
