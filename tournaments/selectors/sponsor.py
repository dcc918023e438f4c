"""The sponsor's own reads: its uploads and the dashboard that keeps its rounds running.
Each refuses (NotAllowed) anyone but the tournament's sponsor."""

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from core.errors import NotAllowed, NotFound
from tournaments.models import RoundTarget, SponsorUpload, Tournament, UploadKind, UploadState
from tournaments.selectors.rounds import (
    rounds_awaiting_live_data,
    rounds_awaiting_targets,
    rounds_with_counts,
)


def sponsor_uploads(
    *,
    tournament: Tournament,
    by: User | AnonymousUser,
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


def sponsor_upload(*, tournament: Tournament, upload_id: int, by: User | AnonymousUser) -> SponsorUpload:
    upload = sponsor_uploads(tournament=tournament, by=by).filter(pk=upload_id).first()
    if upload is None:
        raise NotFound(f"no upload {upload_id} in {tournament.slug}")
    return upload


# Uploads the dashboard lists: every one still processing, and the latest others.
DASHBOARD_UPLOADS = 20


def sponsor_dashboard(*, tournament: Tournament, by: User | AnonymousUser) -> dict:
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
