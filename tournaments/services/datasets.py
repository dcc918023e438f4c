"""Data uploads by sponsors: training/validation data, each round's live data and targets.

Who may send what (the tournament's sponsor; never a DEX tournament's, whose data comes from
its pools), the size limit, the storage quota and the round's state are checked when the
file arrives, before anything is stored. The file itself is read and checked in the sandbox
(tournaments.services.decoding) by the upload pipeline (tournaments.services.uploads): a file
that breaks the reader is refused with the reason, and the version in force stays in force.

Two ways in, one pipeline:

* `dataset_upload_receive` / `round_target_upload_receive` store the file and answer at once
  with its SponsorUpload row in `processing`; a Celery task checks it (the API and the site).
* `dataset_upload` / `round_target_upload` store it and run the same check inline, returning
  the DatasetVersion / RoundTarget or raising the refusal, as uploads always did: for callers
  that need the result now — the DEX market (market=True), the demo, a tournament's launch
  with its first training file, tests' fixtures and the load scripts.
"""

from django.conf import settings
from django.contrib.auth.models import User

from core.errors import Conflict, InvalidInput, NotAllowed, TooLarge
from tournaments.kinds import kind_hooks
from tournaments.models import (
    DatasetKind,
    DatasetVersion,
    Round,
    RoundTarget,
    SponsorUpload,
    Tournament,
    UploadKind,
    UploadState,
)
from tournaments.services.storage import check_sponsor_storage
from tournaments.services.uploads import (
    check_pending_uploads,
    discard_unused_blob,
    live_data_replaceable,
    target_day_open,
    upload_check,
    upload_receive,
)


def _sponsor_only(tournament: Tournament, by: User, *, market: bool) -> None:
    if tournament.sponsor_id != by.id:
        raise NotAllowed("only the tournament's sponsor can upload its data")
    if kind_hooks(tournament.kind).platform_data and not market:
        # Its data and targets come from its market (a DEX kind's pools): a sponsor who could
        # upload a target could choose the winners.
        raise Conflict(
            f"{tournament.slug} is a {tournament.get_kind_display()} tournament: its data and "
            "targets come from its market, "
            "not from uploads",
            code="market_data_only",
        )


def _check_size(data: bytes) -> None:
    limit = settings.ARENA_MAX_DATASET_BYTES
    if len(data) > limit:
        raise TooLarge(f"file is {len(data)} bytes; the limit is {limit} bytes")


def _dataset_receive(
    *,
    tournament: Tournament,
    by: User,
    kind: str,
    data: bytes,
    filename: str,
    round: Round | None,
    market: bool,
    dispatch: bool,
) -> SponsorUpload:
    _sponsor_only(tournament, by, market=market)
    if not market:
        check_sponsor_storage(sponsor=tournament.sponsor, adding=len(data))
    if kind not in DatasetKind.values:
        raise InvalidInput(f"unknown data set kind {kind!r}: use {', '.join(DatasetKind.values)}")
    if (kind == DatasetKind.LIVE) != (round is not None):
        raise InvalidInput("live data is uploaded for a round; training/validation data is not")
    if round is not None:
        if round.tournament_id != tournament.id:
            raise InvalidInput("that round belongs to another tournament")
        # Refused before anything is stored; checked again when the file applies.
        live_data_replaceable(Round.objects.get(pk=round.pk))
    _check_size(data)
    if not market:
        check_pending_uploads(sponsor=tournament.sponsor)
    return upload_receive(
        tournament=tournament,
        by=by,
        kind=kind,
        data=data,
        filename=filename,
        round=round,
        dispatch=dispatch,
    )


def _target_receive(
    *, round: Round, by: User, day: int, data: bytes, filename: str, market: bool, dispatch: bool
) -> SponsorUpload:
    _sponsor_only(round.tournament, by, market=market)
    # Refused before anything is stored; checked again when the file applies.
    target_day_open(Round.objects.select_related("tournament").get(pk=round.pk), day)
    _check_size(data)
    if not market:
        check_sponsor_storage(sponsor=round.tournament.sponsor, adding=len(data))
        check_pending_uploads(sponsor=round.tournament.sponsor)
    return upload_receive(
        tournament=round.tournament,
        by=by,
        kind=UploadKind.TARGET,
        data=data,
        filename=filename,
        round=round,
        day=day,
        dispatch=dispatch,
    )


def dataset_upload_receive(
    *,
    tournament: Tournament,
    by: User,
    kind: str,
    data: bytes,
    filename: str,
    round: Round | None = None,
) -> SponsorUpload:
    """Store a data file and send it to be checked; returns its upload, `processing` (or,
    where tasks run in-process, already ready or rejected). Live data belongs to a
    scheduled round. Who, what, size, quota and round state are refused here, at once."""
    return _dataset_receive(
        tournament=tournament,
        by=by,
        kind=kind,
        data=data,
        filename=filename,
        round=round,
        market=False,
        dispatch=True,
    )


def round_target_upload_receive(
    *, round: Round, by: User, day: int, data: bytes, filename: str
) -> SponsorUpload:
    """Store the target for score day `day` and send it to be checked (as
    dataset_upload_receive). Once scored, a day's target cannot change."""
    return _target_receive(
        round=round, by=by, day=day, data=data, filename=filename, market=False, dispatch=True
    )


def _checked_now(upload: SponsorUpload) -> SponsorUpload:
    """Run the pipeline's check inline; raise the refusal (nothing of the file is kept)."""
    upload, refusal = upload_check(upload_id=upload.pk, raise_failures=True)
    if refusal is not None:
        # Now, not after the commit: a caller's transaction that this refusal rolls back
        # (a tournament's launch) would otherwise leave the bytes behind.
        discard_unused_blob(upload.cid)
        raise refusal
    if upload.state != UploadState.READY:  # pragma: no cover - a fresh row is ours alone
        raise Conflict(f"upload {upload.pk} is {upload.state}", code="upload_not_ready")
    return upload


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
    """Check, store and register a data file now (the synchronous path, see the module
    docstring). Live data belongs to a scheduled round.
    `market`: the platform uploading a DEX tournament's data from its pools."""
    upload = _dataset_receive(
        tournament=tournament,
        by=by,
        kind=kind,
        data=data,
        filename=filename,
        round=round,
        market=market,
        dispatch=False,
    )
    return _checked_now(upload).dataset


def round_target_upload(
    *, round: Round, by: User, day: int, data: bytes, filename: str, market: bool = False
) -> RoundTarget:
    """Register the target for score day `day` now (the synchronous path); once scored, a
    day's target cannot change. `market`: the platform taking a DEX round's target from its
    pools."""
    upload = _target_receive(
        round=round, by=by, day=day, data=data, filename=filename, market=market, dispatch=False
    )
    _checked_now(upload)
    return RoundTarget.objects.get(round_id=upload.round_id, day=upload.day)
