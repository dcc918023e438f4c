"""Data uploads by sponsors: training/validation data, each round's live data and targets.

Every file is read and checked in the sandbox (tournaments.services.decoding) before anything
is stored: a file that breaks the reader is refused with the reason, and the version in force
stays in force."""

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max

from tournaments.blobs import blob_store
from tournaments.errors import Conflict, InvalidInput, NotAllowed, TooLarge
from tournaments.models import (
    DatasetKind,
    DatasetVersion,
    Round,
    RoundState,
    RoundTarget,
    Tournament,
    TournamentKind,
)
from tournaments.selectors import live_ids
from tournaments.services.decoding import sponsor_file_checked
from tournaments.services.storage import check_sponsor_storage


def _sponsor_only(tournament: Tournament, by: User, *, market: bool) -> None:
    if tournament.sponsor_id != by.id:
        raise NotAllowed("only the tournament's sponsor can upload its data")
    if tournament.kind == TournamentKind.DEX and not market:
        # Its data and targets come from the pools (dex.services): a sponsor who could upload
        # a target could choose the winners.
        raise Conflict(
            f"{tournament.slug} is a DEX tournament: its data and targets come from its market, "
            "not from uploads",
            code="market_data_only",
        )


def _check_size(data: bytes) -> None:
    limit = settings.ARENA_MAX_DATASET_BYTES
    if len(data) > limit:
        raise TooLarge(f"file is {len(data)} bytes; the limit is {limit} bytes")


def dataset_upload(
    *,
    tournament: Tournament,
    by: User,
    kind: str,
    data: bytes,
    filename: str,
    round: Round | None = None,
    market: bool = False,
) -> DatasetVersion:
    """Check, store and register a data file. Live data belongs to a scheduled round.
    `market`: the platform uploading a DEX tournament's data from its pools."""
    _sponsor_only(tournament, by, market=market)
    if not market:
        check_sponsor_storage(sponsor=tournament.sponsor, adding=len(data))
    if kind not in DatasetKind.values:
        raise InvalidInput(f"unknown data set kind {kind!r}: use {', '.join(DatasetKind.values)}")
    if (kind == DatasetKind.LIVE) != (round is not None):
        raise InvalidInput("live data is uploaded for a round; training/validation data is not")
    if round is not None and round.tournament_id != tournament.id:
        raise InvalidInput("that round belongs to another tournament")
    _check_size(data)
    summary = sponsor_file_checked(
        job="dataset",
        context={"filename": filename, "require_target": kind != DatasetKind.LIVE},
        data=data,
    )
    cid = blob_store().put(data)
    with transaction.atomic():
        if round is not None:
            round = Round.objects.select_for_update().get(pk=round.pk)
            if round.state != RoundState.SCHEDULED:
                raise Conflict(f"round {round.number} is {round.state}: live data is fixed once it opens")
            # Replacing a scheduled round's live data: the old row goes, the blob stays.
            DatasetVersion.objects.filter(round=round).delete()
        last = (
            DatasetVersion.objects.select_for_update()
            .filter(tournament=tournament, kind=kind)
            .aggregate(v=Max("version"))["v"]
        )
        return DatasetVersion.objects.create(
            tournament=tournament,
            kind=kind,
            round=round,
            version=(last or 0) + 1,
            cid=cid,
            filename=filename,
            size_bytes=len(data),
            rows=summary["rows"],
            n_features=len(summary["feature_names"]),
            n_eras=summary["n_eras"],
            feature_names=summary["feature_names"],
            has_target=summary["has_target"],
        )


def round_target_upload(
    *, round: Round, by: User, day: int, data: bytes, filename: str, market: bool = False
) -> RoundTarget:
    """Register the target for score day `day`; once scored, a day's target cannot change.
    `market`: the platform taking a DEX round's target from its pools."""
    _sponsor_only(round.tournament, by, market=market)
    _check_size(data)
    checked = sponsor_file_checked(
        job="targets", context={"filename": filename, "live_ids": live_ids(round=round)}, data=data
    )
    with transaction.atomic():
        # Decide on the round's current state under its row lock, not on the caller's copy.
        round = Round.objects.select_for_update().get(pk=round.pk)
        if not 1 <= day <= round.total_score_days:
            raise InvalidInput(f"day must be between 1 and {round.total_score_days}")
        if round.state in (RoundState.SCHEDULED, RoundState.OPEN):
            raise Conflict(f"round {round.number} is {round.state}: targets come after it closes")
        if round.state in (RoundState.RESOLVED, RoundState.SETTLED):
            # Resolved early (a target overdue, lifecycle.round_resolve) or in full.
            raise Conflict(f"round {round.number} is {round.state}: its targets can no longer change")
        if day <= round.scored_days:
            raise Conflict(f"day {day} of round {round.number} is already scored")
        cid = blob_store().put(data)
        target, _ = RoundTarget.objects.update_or_create(
            round=round, day=day, defaults={"cid": cid, "rows": checked["rows"]}
        )
    return target
