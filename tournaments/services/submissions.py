"""Sealed prediction uploads, and opening them once the round has closed.

The platform never receives plaintext predictions: an upload is an HPKE envelope sealed to
the round's public key (format: arena_client.sealing). On upload only what can be checked
without the key is checked (the envelope's header and size); the envelope is stored
content-addressed and a receipt signed. After close, `round_decrypt_submissions` opens each
counted envelope with the round key, applies the prediction rules, and marks it valid or
invalid with the reason. Nothing is deleted: an invalid envelope stays stored under its CID.
"""

import csv
import io
import logging
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from arena_client.sealing import (
    ENVELOPE_OVERHEAD,
    MalformedEnvelopeError,
    SealError,
    check_envelope,
    open_sealed,
    submission_info,
)
from arena_client.validation import (
    PARQUET_MAGIC,
    PredictionFileError,
    ValidatedPredictions,
    read_predictions,
    validate_predictions,
)
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from config.lean_sql import column, insert_row, table
from tournaments import events
from tournaments.blobs import blob_store
from tournaments.errors import Conflict, InvalidInput, NotAllowed, TooLarge
from tournaments.models import ModelSlot, Round, RoundState, Submission, SubmissionState
from tournaments.selectors import live_ids, round_open_for_upload
from tournaments.services.receipts import receipt_sign, submission_receipt
from tournaments.services.round_keys import round_private_key

log = logging.getLogger("arena.submissions")

# What the plaintext of an envelope is called when it is parsed: the platform never sees the
# modeler's file name for it, so the format is told by its first bytes (Parquet's magic).
CSV_NAME = "predictions.csv"
PARQUET_NAME = "predictions.parquet"


def _open_round_for_upload(model: ModelSlot, now: datetime, found: Round | None) -> Round:
    """The round open for uploads now (`found`, when the caller read it already), with
    `has_key`; Conflict, naming the last close and the next opening, when there is none."""
    round = found or round_open_for_upload(tournament_id=model.tournament_id, now=now)
    if round is None or now >= round.closes_at:
        latest = model.tournament.rounds.exclude(state=RoundState.SCHEDULED).order_by("-number").first()
        nxt = model.tournament.rounds.filter(state=RoundState.SCHEDULED).order_by("number").first()
        parts = ["no round is open for submissions"]
        if latest:
            parts.append(f"round {latest.number} closed at {latest.closes_at.isoformat()}")
        if nxt:
            parts.append(f"round {nxt.number} opens at {nxt.opens_at.isoformat()}")
        raise Conflict("; ".join(parts), code="round_closed")
    return round


@cache
def _round_still_open_sql(vendor: str) -> str:
    """The condition an upload's INSERT carries: its round is still open, read under a
    shared row lock (PostgreSQL `FOR SHARE`).

    Uploads hold that lock together (none waits for another) until their statement commits,
    while round_close's exclusive lock (`FOR UPDATE`) waits for every upload holding it. An
    upload arriving after the close took its lock waits for the close to commit, then reads
    the round's new state and inserts nothing: an upload is either committed before the close
    counts the submissions, or refused. One statement, so no transaction around it: the lock,
    the check and the row commit together. (SQLite holds its database write lock for the
    statement, which serializes the same way.)
    """
    lock = " FOR SHARE" if vendor == "postgresql" else ""
    return (
        f"SELECT 1 FROM {table(Round)} "
        f"WHERE {column(Round, 'id')} = %s AND {column(Round, 'state')} = %s{lock}"
    )


def _looks_like_plaintext(data: bytes) -> bool:
    head = data.removeprefix(b"\xef\xbb\xbf")[:32].lstrip().lower()
    return data.startswith(PARQUET_MAGIC) or head.startswith((b"id,", b'"id",', b"id;"))


def _check_envelope(data: bytes) -> None:
    """Refuse, before storing, bytes that can never be opened: everything checkable without
    the round key."""
    limit = settings.ARENA_MAX_PREDICTION_BYTES + ENVELOPE_OVERHEAD
    if len(data) > limit:
        raise TooLarge(
            f"sealed file is {len(data):,} bytes; the limit is {limit:,} bytes "
            f"(predictions up to {settings.ARENA_MAX_PREDICTION_BYTES:,} bytes, sealed)"
        )
    if _looks_like_plaintext(data):
        raise InvalidInput(
            "this is a plaintext predictions file: the platform accepts only predictions sealed "
            "to the round's public key (the site's upload form, `arena submit` and `arena seal` "
            "seal them for you)",
            code="not_sealed",
        )
    try:
        check_envelope(data)
    except MalformedEnvelopeError as exc:
        raise InvalidInput(f"malformed envelope: {exc}", code="malformed_envelope") from None


def submission_upload(
    *,
    model: ModelSlot,
    by: User,
    data: bytes,
    filename: str,
    now: datetime | None = None,
    open_round: Round | None = None,
) -> Submission:
    """Store a sealed envelope for the open round and sign its receipt.

    `data` is the envelope (arena_client.sealing.seal of the predictions file, with
    submission_info(tournament slug, round number, model id)). `open_round`, when the
    caller has read it already (selectors.upload_context), saves reading it again. A refused
    upload stores nothing; the previous upload still counts.
    """
    now = now or timezone.now()
    if model.owner_id != by.id:
        raise NotAllowed("you can only submit for your own models")
    round = _open_round_for_upload(model, now, open_round)
    if not round.has_key:
        raise Conflict(
            f"round {round.number} has no public key, so nothing can be sealed for it",
            code="no_round_key",
        )
    _check_envelope(data)
    cid = blob_store().put(data)  # idempotent; an orphan blob after a refusal below is harmless
    round.tournament = model.tournament  # the receipt names it; same row, already loaded
    submission = Submission(
        round=round,
        model=model,
        uploaded_by=by,
        cid=cid,
        filename=filename[:200],
        size_bytes=len(data),
        state=SubmissionState.RECEIVED,
        created_at=now,
    )
    submission.receipt_signature = receipt_sign(receipt=submission_receipt(submission=submission)).hex()
    # Model.save() without the compiler (config/lean_sql.py), and only while the round is
    # still open: it may have closed since it was read above.
    if not insert_row(
        submission,
        only_if=_round_still_open_sql(connection.vendor),
        only_if_params=[round.pk, RoundState.OPEN.value],
    ):
        raise Conflict(f"round {round.number} closed at {round.closes_at.isoformat()}", code="round_closed")
    events.submission_changed(submission)
    return submission


# --- After close -------------------------------------------------------------------------


@dataclass
class _Outcome:
    state: str
    error: str = ""
    problems: list = field(default_factory=list)
    validated: ValidatedPredictions | None = None


def _canonical_predictions(validated: ValidatedPredictions) -> bytes:
    """`id,prediction` in live-id order; Python's repr is the shortest text that reads back
    as exactly the same float64."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "prediction"])
    writer.writerows(zip(validated.ids, map(repr, validated.values.tolist()), strict=True))
    return out.getvalue().encode()


def _open_and_check(
    submission: Submission, round: Round, private_key: bytes, ids: list[str]
) -> _Outcome:
    # A missing blob raises BlobNotFound: that is a storage failure, not the modeler's fault,
    # so it stops the run instead of marking the submission invalid.
    envelope = blob_store().get(submission.cid)
    info = submission_info(round.tournament.slug, round.number, submission.model_id)
    try:
        plaintext = open_sealed(envelope, private_key, info)
    except SealError as exc:
        message = (
            f"cannot be opened with the key of round {round.number} for model "
            f"{submission.model_id}: {exc}"
        )
        problem = {"code": "decryption_failed", "message": message, "count": 1, "examples": []}
        return _Outcome(SubmissionState.INVALID, message, [problem])
    name = PARQUET_NAME if plaintext.startswith(PARQUET_MAGIC) else CSV_NAME
    try:
        frame = read_predictions(plaintext, name, max_bytes=settings.ARENA_MAX_PREDICTION_BYTES)
        validated = validate_predictions(frame, ids)
    except PredictionFileError as exc:
        return _Outcome(SubmissionState.INVALID, exc.message, exc.problems)
    return _Outcome(SubmissionState.VALID, validated=validated)


def round_decrypt_submissions(*, round: Round, now: datetime) -> int:
    """Open and check the counted envelopes of a closed round; return how many were settled.

    Each counted submission still `received` is opened with the round key and the info that
    binds it to (tournament, round, model), then checked with the same rules as the client's;
    valid ones get their predictions stored as a canonical CSV blob for scoring, invalid ones
    the reason. Idempotent and resumable: each row is finished on its own by a conditional
    update, so a crash halfway keeps the finished ones and the next call does the rest.
    Refuses (Conflict, from round_private_key) while the round is still open.
    """
    pending = list(
        Submission.objects.filter(round=round, is_counted=True, state=SubmissionState.RECEIVED)
        .select_related("model")
        .order_by("id")
    )
    if not pending:
        return 0
    round = Round.objects.select_related("tournament").get(pk=round.pk)
    private_key = round_private_key(round=round)
    ids = live_ids(round=round)
    settled = 0
    for submission in pending:
        outcome = _open_and_check(submission, round, private_key, ids)
        predictions_cid = ""
        rows = 0
        if outcome.validated is not None:
            predictions_cid = blob_store().put(_canonical_predictions(outcome.validated))
            rows = len(outcome.validated)
        updated = Submission.objects.filter(
            pk=submission.pk, state=SubmissionState.RECEIVED
        ).update(
            state=outcome.state,
            error=outcome.error,
            problems=outcome.problems,
            rows=rows,
            predictions_cid=predictions_cid,
            checked_at=now,
        )
        if updated:
            settled += 1
            events.submission_changed(submission)  # its owner's page shows valid/invalid
    invalid = Submission.objects.filter(
        round=round, is_counted=True, state=SubmissionState.INVALID
    ).count()
    log.info("%s: opened %d counted submissions (%d invalid in all)", round, settled, invalid)
    return settled
