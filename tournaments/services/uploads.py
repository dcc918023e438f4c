"""The life of a sponsor's data file: stored → `processing` → `ready` (in force) or `rejected`.

An upload is answered as soon as its bytes are stored (content-addressed) with a
SponsorUpload row in `processing`; the check in the sandbox runs afterwards, in a Celery task
per upload (tournaments.tasks.sponsor_upload_check), and its outcome is written once:

* `ready`: the file takes effect exactly as a synchronous upload did — a new current version
  of the training or validation data, the scheduled round's live data, the day's target;
* `rejected`: with the reason (the same code, message and details a synchronous upload was
  refused with); the version in force stays in force and the stored bytes are deleted.

Until then nothing of the file is in force: DatasetVersion and RoundTarget rows are made
only for files that passed, so a round never opens on live data that is not ready and a day
is never scored against a target that is not.

Safe on retry and crash. The outcome is written under the upload's row lock, and only while
it is still `processing`: a task that runs twice (a redelivery, the sweep's resend) changes
nothing the second time. Every start of a check pushes `retry_at` forward; the scheduler's
sweep (`sponsor_uploads_resume`, every tick) sends the check again for an upload still
processing past it — a lost message, a worker killed mid-check, a crash between storing and
checking. A check is started at most ARENA_UPLOAD_CHECK_ATTEMPTS times. No exception caused
by the file leaves `sponsor_upload_check`: the sandbox turns a hostile file into a refusal,
and anything else that fails (the database, the storage) leaves the upload processing for
the next try.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from arena_client.validation import storable
from django.conf import settings
from django.contrib.auth.models import User
from django.db import DatabaseError, DataError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from core.errors import ArenaError, Conflict, InvalidInput, TooManyRequests
from tournaments.blobs import BlobNotFound, blob_store
from tournaments.kinds import platform_data_kinds
from tournaments.models import (
    DatasetVersion,
    Round,
    RoundState,
    RoundTarget,
    SponsorUpload,
    Submission,
    Tournament,
    UploadKind,
    UploadState,
)
from tournaments.selectors import live_ids
from tournaments.services.decoding import sponsor_file_checked

log = logging.getLogger("arena.uploads")

# Uploads the sweep sends again per scheduler tick (the rest wait for the next tick).
RESUME_BATCH = 50
# After a check failed for a reason that is not the file's, the sweep tries again this soon.
RETRY_AFTER_FAILURE = timedelta(seconds=60)


def _retry_delay() -> timedelta:
    return timedelta(seconds=settings.ARENA_UPLOAD_RETRY_SECONDS)


# --- The rules a file must meet to take effect (checked at upload and again when it applies) --


def live_data_replaceable(round: Round) -> None:
    """Live data belongs to a round until it opens (Conflict otherwise)."""
    if round.state != RoundState.SCHEDULED:
        raise Conflict(f"round {round.number} is {round.state}: live data is fixed once it opens")


def target_day_open(round: Round, day: int) -> None:
    """A day's target may arrive (or be replaced) after the close, until that day is scored."""
    if not 1 <= day <= round.total_score_days:
        raise InvalidInput(f"day must be between 1 and {round.total_score_days}")
    if round.state in (RoundState.SCHEDULED, RoundState.OPEN):
        raise Conflict(f"round {round.number} is {round.state}: targets come after it closes")
    if round.state in (RoundState.RESOLVED, RoundState.SETTLED):
        # Resolved early (a target overdue, lifecycle.round_resolve) or in full.
        raise Conflict(f"round {round.number} is {round.state}: its targets can no longer change")
    if day <= round.scored_days:
        raise Conflict(f"day {day} of round {round.number} is already scored")


def check_pending_uploads(*, sponsor: User) -> None:
    """Refuse (429 `uploads_pending`) a file while the sponsor already has the most files
    being checked: stored bytes waiting for a check are bounded per sponsor. Uploads that
    arrive at the same instant may each pass, as with the modelers' upload limit."""
    limit = settings.ARENA_SPONSOR_PENDING_UPLOADS
    pending = (
        SponsorUpload.objects.filter(tournament__sponsor=sponsor, state=UploadState.PROCESSING)
        .exclude(tournament__kind__in=platform_data_kinds())
        .count()
    )
    if pending >= limit:
        raise TooManyRequests(
            f"{pending} of your files are still being checked (at most {limit} at once): "
            "send this one when one of them is ready or rejected",
            code="uploads_pending",
        )


# --- Receiving ----------------------------------------------------------------------------


def upload_receive(
    *,
    tournament: Tournament,
    by: User,
    kind: str,
    data: bytes,
    filename: str,
    round: Round | None = None,
    day: int | None = None,
    dispatch: bool = True,
) -> SponsorUpload:
    """Store the bytes and a `processing` row. The caller has checked who may send what.

    `dispatch`: send the check to a Celery task once the row is committed (the web's way);
    False for a caller that runs `upload_check` itself right away (the synchronous path).
    The blob goes first: a committed row always has its bytes (a crash in between leaves
    an unnamed blob, never a row without its file)."""
    cid = blob_store().put(data)
    now = timezone.now()
    with transaction.atomic():
        upload = SponsorUpload.objects.create(
            tournament=tournament,
            round=round,
            kind=kind,
            day=day,
            uploaded_by=by,
            cid=cid,
            # The name tells CSV from Parquet: a long one keeps its end.
            filename=storable(filename)[-200:],
            size_bytes=len(data),
            created_at=now,
            retry_at=now + _retry_delay(),
        )
        if dispatch:
            upload_id = upload.pk
            transaction.on_commit(lambda: _enqueue_check(upload_id))
    if dispatch:
        # On the embedded profile the task runs in this process as the commit returns.
        upload.refresh_from_db()
    log.info("stored %s: %d bytes, %s", upload, len(data), cid)
    return upload


# How a stored upload's check reaches a worker. The Celery task that runs it
# (tournaments.tasks.sponsor_upload_check) is a thin wrapper over this module, and services
# never import tasks: TournamentsConfig.ready() registers the sender (tasks.send_upload_check).
_check_sender: Callable[[int], None] | None = None


def register_check_sender(send: Callable[[int], None]) -> None:
    """Send upload checks with `send(upload_id)` from now on (called at start-up)."""
    global _check_sender
    _check_sender = send


def _enqueue_check(upload_id: int) -> bool:
    """Hand the check to a worker; False (logged) when it could not be sent."""
    try:
        if _check_sender is None:
            raise RuntimeError("no check sender is registered (TournamentsConfig.ready())")
        _check_sender(upload_id)
    except Exception:  # noqa: BLE001 - the upload is committed: the sweep sends it again
        log.exception(
            "could not send the check of upload %s; the scheduler's sweep will", upload_id
        )
        return False
    return True


# --- Checking and applying ----------------------------------------------------------------


def sponsor_upload_check(*, upload_id: int) -> SponsorUpload | None:
    """Check a stored upload and write its outcome (ready, and in force; or rejected).
    Idempotent: an upload that is not processing (or not there) is returned as it is.
    Never raises for anything the file causes; see the module docstring."""
    upload, _ = upload_check(upload_id=upload_id)
    return upload


def upload_check(
    *, upload_id: int, raise_failures: bool = False
) -> tuple[SponsorUpload | None, ArenaError | None]:
    """The check and its outcome; also returns the refusal if this call rejected the upload.

    `raise_failures`: re-raise a failure that is not the file's (the synchronous callers see
    it as before) instead of leaving the upload for the next try."""
    upload = _claim(upload_id)
    if upload is None or upload.state != UploadState.PROCESSING:
        return upload, None
    try:
        summary = _checked(upload)
    except ArenaError as refusal:
        return _finish(upload_id, refusal=refusal)
    except Exception as failure:
        if raise_failures:
            # The caller sees the failure now; nothing of this upload may take effect behind
            # its back later (the sweep would otherwise finish it).
            try:
                _finish(
                    upload_id,
                    refusal=ArenaError(
                        f"the check of {upload.filename} could not run ({type(failure).__name__})",
                        code="check_failed",
                    ),
                )
            except Exception:  # noqa: BLE001 - the original failure is the one to raise
                log.exception("upload %s: could not record that its check failed", upload_id)
            raise
        # Not the file's doing (a file that breaks the reader is a refusal above): the
        # database, the storage or the sandbox itself. Try again soon, a bounded number of times.
        log.exception("upload %s: the check failed; it is tried again", upload_id)
        SponsorUpload.objects.filter(pk=upload_id, state=UploadState.PROCESSING).update(
            retry_at=timezone.now() + RETRY_AFTER_FAILURE
        )
        return SponsorUpload.objects.filter(pk=upload_id).first(), None
    return _finish(upload_id, summary=summary)


def _claim(upload_id: int) -> SponsorUpload | None:
    """Count one more start of the check and push `retry_at` past its longest run; refuse
    the file once it has been started ARENA_UPLOAD_CHECK_ATTEMPTS times without finishing."""
    with transaction.atomic():
        upload = SponsorUpload.objects.select_for_update().filter(pk=upload_id).first()
        if upload is None or upload.state != UploadState.PROCESSING:
            return upload
        limit = settings.ARENA_UPLOAD_CHECK_ATTEMPTS
        if upload.attempts >= limit:
            _reject(
                upload,
                ArenaError(
                    f"the check of {upload.filename} was started {upload.attempts} times and "
                    "never finished: upload the file again, or ask the operator",
                    code="check_failed",
                ),
            )
            return upload
        upload.attempts += 1
        upload.retry_at = timezone.now() + _retry_delay()
        upload.save(update_fields=["attempts", "retry_at"])
    return upload


def _checked(upload: SponsorUpload) -> dict:
    """The sandbox's summary of the stored file, or the refusal (ArenaError) naming what is wrong."""
    try:
        data = blob_store().get(upload.cid)
    except BlobNotFound:
        raise InvalidInput(
            f"the stored copy of {upload.filename} is gone: upload the file again",
            code="file_missing",
        ) from None
    if upload.kind == UploadKind.TARGET:
        context = {"filename": upload.filename, "live_ids": live_ids(round=upload.round)}
        return sponsor_file_checked(job="targets", context=context, data=data)
    context = {"filename": upload.filename, "require_target": upload.kind != UploadKind.LIVE}
    return sponsor_file_checked(job="dataset", context=context, data=data)


def _finish(
    upload_id: int, *, summary: dict | None = None, refusal: ArenaError | None = None
) -> tuple[SponsorUpload | None, ArenaError | None]:
    """Write the outcome once, under the upload's row lock: apply the file (ready) or refuse
    it. A file whose round moved on while it was being checked (live data for a round that
    has opened, a target for a day now scored) is refused with that reason."""
    with transaction.atomic():
        upload = (
            # Only the upload's row: PostgreSQL locks no row of an outer join (`round` is null
            # for training data); the round is locked where the file applies.
            SponsorUpload.objects.select_for_update(of=("self",))
            .select_related("tournament", "round")
            .filter(pk=upload_id)
            .first()
        )
        if upload is None or upload.state != UploadState.PROCESSING:
            return upload, None  # another run wrote it first
        if refusal is None:
            try:
                with transaction.atomic():  # a refusal here leaves nothing half-applied
                    _apply(upload, summary)
            except ArenaError as conflict:
                refusal = conflict
            except DataError:
                # What the file holds is more than the database stores (PostgreSQL refuses
                # a NUL in a column name): the file's fault, so a refusal, not a retry.
                log.exception("%s: its summary could not be stored", upload)
                refusal = InvalidInput(
                    f"{upload.filename} cannot be stored as it is: its column names hold "
                    "characters the database refuses (such as NUL)",
                    code="unstorable",
                )
        if refusal is not None:
            _reject(upload, refusal)
    if refusal is None:
        log.info("%s is ready", upload)
    return upload, refusal


def _apply(upload: SponsorUpload, summary: dict) -> None:
    now = timezone.now()
    if upload.kind == UploadKind.TARGET:
        round = (
            Round.objects.select_for_update().select_related("tournament").get(pk=upload.round_id)
        )
        target_day_open(round, upload.day)
        RoundTarget.objects.update_or_create(
            round=round, day=upload.day, defaults={"cid": upload.cid, "rows": summary["rows"]}
        )
    else:
        if upload.round_id is not None:
            round = (
                Round.objects.select_for_update()
                .select_related("tournament")
                .get(pk=upload.round_id)
            )
            live_data_replaceable(round)
            # Replacing a scheduled round's live data: the old row goes, the blob stays.
            DatasetVersion.objects.filter(round=round).delete()
        else:
            # Versions are numbered one after another per kind: one upload at a time.
            Tournament.objects.select_for_update().get(pk=upload.tournament_id)
        last = DatasetVersion.objects.filter(
            tournament_id=upload.tournament_id, kind=upload.kind
        ).aggregate(v=Max("version"))["v"]
        upload.dataset = DatasetVersion.objects.create(
            tournament_id=upload.tournament_id,
            kind=upload.kind,
            round_id=upload.round_id,
            version=(last or 0) + 1,
            cid=upload.cid,
            filename=upload.filename,
            size_bytes=upload.size_bytes,
            rows=summary["rows"],
            n_features=len(summary["feature_names"]),
            n_eras=summary["n_eras"],
            feature_names=summary["feature_names"],
            has_target=summary["has_target"],
        )
    upload.state = UploadState.READY
    upload.rows = summary["rows"]
    upload.checked_at = now
    upload.save(update_fields=["state", "rows", "dataset", "checked_at"])


def _storable(value):
    """Every string in `value` (nested lists and dicts) made storable: a reason quoting the
    file (a duplicate id with a NUL in it) must not fail the UPDATE that records it."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, list | tuple):
        return [_storable(item) for item in value]
    if isinstance(value, dict):
        return {storable(str(key)): _storable(item) for key, item in value.items()}
    return value


def _reject(upload: SponsorUpload, refusal: ArenaError) -> None:
    """Mark refused with its reason (call under the upload's row lock); its bytes are
    deleted once that is committed, unless another row names them."""
    upload.state = UploadState.REJECTED
    upload.error_code = refusal.code[:40]
    upload.error_message = _storable(refusal.message)
    upload.error_details = _storable(refusal.details)
    upload.checked_at = timezone.now()
    fields = ["state", "error_code", "error_message", "error_details", "checked_at"]
    try:
        with transaction.atomic():
            upload.save(update_fields=fields)
    except DatabaseError:
        # The reason still cannot be stored: the file is refused all the same.
        log.exception("%s: its reason could not be stored", upload)
        upload.error_message = "the file was refused; its problems could not be stored"
        upload.error_details = None
        upload.save(update_fields=fields)
    log.info("%s rejected: %s (%s)", upload, refusal.message, refusal.code)
    cid = upload.cid
    transaction.on_commit(lambda: discard_unused_blob(cid))


def discard_unused_blob(cid: str) -> bool:
    """Delete a refused file's bytes unless a row still names them (the same bytes sent
    again, or stored for another purpose). A storage failure is logged: a leftover blob
    costs disk, never correctness."""
    needed = (
        DatasetVersion.objects.filter(cid=cid).exists()
        or RoundTarget.objects.filter(cid=cid).exists()
        or SponsorUpload.objects.filter(cid=cid).exclude(state=UploadState.REJECTED).exists()
        or Submission.objects.filter(Q(cid=cid) | Q(predictions_cid=cid)).exists()
    )
    if needed:
        return False
    try:
        return blob_store().delete(cid)
    except OSError:
        log.exception("could not delete the refused file %s", cid)
        return False


# --- The sweep ----------------------------------------------------------------------------


def sponsor_uploads_resume(*, now: datetime) -> int:
    """Send the check again for every upload still processing past its `retry_at` (called by
    each scheduler tick); returns how many were sent. Each is claimed by moving `retry_at`
    first, so overlapping ticks send it once."""
    due = list(
        SponsorUpload.objects.filter(state=UploadState.PROCESSING, retry_at__lte=now)
        .order_by("retry_at", "id")
        .values_list("id", flat=True)[:RESUME_BATCH]
    )
    sent = 0
    for upload_id in due:
        claimed = SponsorUpload.objects.filter(
            pk=upload_id, state=UploadState.PROCESSING, retry_at__lte=now
        ).update(retry_at=now + _retry_delay())
        if claimed:
            log.warning(
                "upload %s is still processing past its time: its check is sent again", upload_id
            )
            sent += _enqueue_check(upload_id)
    return sent
