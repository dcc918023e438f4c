"""Sealed prediction uploads, and opening them once the round has closed.

The platform never receives plaintext predictions: an upload is an HPKE envelope sealed to
the round's public key (format: arena_client.sealing). On upload only what can be checked
without the key is checked (the envelope's header and size); the envelope is stored
content-addressed and a receipt signed. After close, `round_decrypt_submissions` opens each
counted envelope with the round key, applies the prediction rules, and marks it valid or
invalid with the reason. Nothing is deleted: an invalid envelope stays stored under its CID.
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

import numpy as np
from arena_client.cid import cid_for_bytes
from arena_client.sealing import (
    ENVELOPE_OVERHEAD,
    MalformedEnvelopeError,
    SealError,
    check_envelope,
    open_sealed,
    submission_info,
)
from arena_client.validation import PARQUET_MAGIC, storable
from django.conf import settings
from django.contrib.auth.models import User
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from core.errors import Conflict, InvalidInput, NotAllowed, TooLarge, TooManyRequests
from core.lean_sql import column, insert_row, table
from tournaments import signals
from tournaments.blobs import BlobNotFound, blob_store
from tournaments.models import ModelSlot, Round, RoundState, Submission, SubmissionState
from tournaments.predictions_blob import predictions_blob
from tournaments.round_keys import round_private_key
from tournaments.sandbox import DecodeContext, DecodeLimits, Outcome, decode_pool
from tournaments.selectors import live_ids, round_open_for_upload
from tournaments.services.decoding import failure, prediction_limits
from tournaments.services.receipts import receipt_sign, submission_receipt

log = logging.getLogger("arena.submissions")


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


def _check_upload_quota(model: ModelSlot, round: Round, uploads_so_far: int | None) -> None:
    """At most ARENA_MAX_UPLOADS_PER_ROUND envelopes per model and round, so nobody can fill
    the disk. Checked before the blob is written; uploads of one model in flight at the same
    moment may each pass it, so the bound holds to within the uploads a key sends at once."""
    limit = settings.ARENA_MAX_UPLOADS_PER_ROUND
    if uploads_so_far is None:
        uploads_so_far = Submission.objects.filter(round_id=round.pk, model_id=model.pk).count()
    if uploads_so_far >= limit:
        raise TooManyRequests(
            f"model {model.name!r} has uploaded {limit} files to round {round.number}, the most "
            f"a model may; the last one uploaded counts. Round {round.number} closes at "
            f"{round.closes_at.isoformat()}",
            code="upload_limit",
        )


def submission_upload(
    *,
    model: ModelSlot,
    by: User,
    data: bytes,
    filename: str,
    now: datetime | None = None,
    open_round: Round | None = None,
    uploads_so_far: int | None = None,
    envelope_reused: bool | None = None,
) -> Submission:
    """Store a sealed envelope for the open round and sign its receipt.

    `data` is the envelope (arena_client.sealing.seal of the predictions file, with
    submission_info(tournament slug, round number, model id)). `open_round`, when the
    caller has read it already (selectors.upload_context), saves reading it again, and so
    do `uploads_so_far`, the model's uploads to that round, and `envelope_reused`, whether
    these bytes went to another round, read with it. A refused
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
    _check_upload_quota(model, round, uploads_so_far if open_round is not None else None)
    if open_round is None or envelope_reused is None:
        envelope_reused = (
            Submission.objects.filter(cid=cid_for_bytes(data)).exclude(round_id=round.pk).exists()
        )
    if envelope_reused:
        # A fresh seal is never the same twice; these bytes were sent to another round, where
        # they may already have been deleted (services/storage.py) or published.
        raise Conflict(
            f"this envelope was already uploaded to another round; seal the predictions for "
            f"round {round.number} (the site's form, `arena submit` and `arena seal` do)",
            code="envelope_reused",
        )
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
    # Model.save() without the compiler (core/lean_sql.py), and only while the round is
    # still open: it may have closed since it was read above.
    if not insert_row(
        submission,
        only_if=_round_still_open_sql(connection.vendor),
        only_if_params=[round.pk, RoundState.OPEN.value],
    ):
        raise Conflict(f"round {round.number} closed at {round.closes_at.isoformat()}", code="round_closed")
    signals.announce(signals.submission_changed, sender=Submission, submission=submission)
    return submission


# --- After close -------------------------------------------------------------------------


@dataclass
class _Outcome:
    state: str
    error: str = ""
    problems: list = field(default_factory=list)
    values: np.ndarray | None = None


def _invalid(code: str, message: str) -> _Outcome:
    problem = {"code": code, "message": message, "count": 1, "examples": []}
    return _Outcome(SubmissionState.INVALID, message, [problem])


def _judged(decoded: Outcome, limits: DecodeLimits, live_count: int) -> _Outcome:
    """A sandbox outcome as a submission's state: every way a file can fail is `invalid`
    with a code its owner can act on."""
    if decoded.status == "ok" and decoded.result.get("valid"):
        values = np.frombuffer(decoded.body, dtype="<f8")
        if len(values) != live_count:
            return _invalid("decoder_crashed", "the decoder returned a wrong number of values")
        return _Outcome(SubmissionState.VALID, values=values)
    if decoded.status == "ok":
        return _Outcome(SubmissionState.INVALID, decoded.result["message"], decoded.result["problems"])
    code, message = failure(decoded, limits)
    if code == "too_large":
        message += f"; a predictions file for {live_count:,} live ids needs a small fraction of that"
    return _invalid(code, message)


def _undecryptable(submission: Submission, round: Round, error: SealError) -> _Outcome:
    return _invalid(
        "decryption_failed",
        f"cannot be opened with the key of round {round.number} for model "
        f"{submission.model_id}: {error}",
    )


def _storable(value):
    """Every string in `value` (nested lists and dicts) made storable: a message quoting a
    user's cell must not fail the UPDATE (PostgreSQL refuses NUL in text and jsonb)."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, dict):
        return {storable(str(key)): _storable(item) for key, item in value.items()}
    return value


# Outcomes finished per transaction: one commit, and their blobs written side by side, per
# batch instead of per file (docs/performance.md, the 5,000-model round).
FINISH_BATCH = 64
BLOB_WRITERS = 8


def _submissions_finish(batch: list[tuple[Submission, _Outcome]], now: datetime) -> int:
    """Store a batch of outcomes; returns how many rows were still `received` and are now
    settled. The predictions blobs are written (and fsynced, several at once) before the one
    transaction that names them, so a crash leaves either finished rows with their blobs or
    `received` rows to redo, whose blobs — content-addressed — are simply written again."""
    values = [outcome.values for _, outcome in batch if outcome.values is not None]
    store = blob_store()
    with ThreadPoolExecutor(min(BLOB_WRITERS, len(values) or 1), thread_name_prefix="blobs") as writers:
        cids = iter(list(writers.map(store.put, map(predictions_blob, values))))
    with transaction.atomic():
        return sum(
            _submission_record(submission, outcome, next(cids) if outcome.values is not None else "", now)
            for submission, outcome in batch
        )


def _submission_record(submission: Submission, outcome: _Outcome, predictions_cid: str, now: datetime) -> bool:
    rows = len(outcome.values) if outcome.values is not None else 0
    pending = Submission.objects.filter(pk=submission.pk, state=SubmissionState.RECEIVED)
    fields = {"rows": rows, "predictions_cid": predictions_cid, "checked_at": now}
    try:
        # A savepoint: one row the database refuses must not undo the batch's others.
        with transaction.atomic():
            updated = pending.update(
                state=outcome.state,
                error=_storable(outcome.error),
                problems=_storable(outcome.problems),
                **fields,
            )
    except DatabaseError:
        # What the reader said about the file cannot be stored; the file is still invalid.
        log.exception("submission %s: its outcome could not be stored", submission.pk)
        fallback = _invalid("unreadable_file", "the file's problems could not be stored")
        updated = pending.update(
            state=fallback.state, error=fallback.error, problems=fallback.problems, **fields
        )
    if updated:
        # Its owner's page shows valid/invalid.
        signals.announce(signals.submission_changed, sender=Submission, submission=submission)
    return bool(updated)


def round_decrypt_submissions(*, round: Round, now: datetime) -> int:
    """Open and check the counted envelopes of a closed round; return how many were settled.

    Each counted submission still `received` is opened with the round key and the info that
    binds it to (tournament, round, model); its plaintext is then read and checked with the
    client's rules in a sandboxed worker (tournaments.sandbox), so a file that breaks the
    reader, exhausts its memory or spins its CPU is that submission's `invalid` with a code and
    a message, never the round's failure. Valid ones get their predictions stored as a
    float64 blob for scoring (tournaments/predictions_blob.py). Idempotent and resumable:
    rows are finished in batches of FINISH_BATCH, one transaction each, every row by a
    conditional update, so a crash halfway keeps the finished batches and the next call does
    the rest. Refuses (Conflict, from round_private_key) while the round is still open. A
    missing envelope is a storage failure, not the modeler's: logged as an error, and that
    submission is `invalid` (`storage_lost`) so that the round still moves on.
    """
    pending = list(
        Submission.objects.filter(round=round, is_counted=True, state=SubmissionState.RECEIVED)
        .select_related("model__tournament")
        .order_by("id")
    )
    if not pending:
        return 0
    round = Round.objects.select_related("tournament").get(pk=round.pk)
    private_key = round_private_key(round=round)
    ids = live_ids(round=round)
    limits = prediction_limits()
    context = DecodeContext.of({"live_ids": ids, "max_bytes": settings.ARENA_MAX_PREDICTION_BYTES})
    undecryptable: list[tuple[Submission, _Outcome]] = []

    def plaintexts():
        for submission in pending:
            try:
                envelope = blob_store().get(submission.cid)
            except BlobNotFound:
                # The platform lost it (a storage fault): the operator is told loudly, and
                # only this submission goes unscored — the rest of the round goes on.
                log.error("%s: the envelope of submission %s (%s) is missing from storage", round, submission.pk, submission.cid)
                undecryptable.append(
                    (submission, _invalid("storage_lost", "the platform lost this envelope from its storage; it is not scored and nothing is burned (the operator has been alerted)"))
                )
                continue
            info = submission_info(round.tournament.slug, round.number, submission.model_id)
            try:
                yield submission, open_sealed(envelope, private_key, info)
            except SealError as exc:
                undecryptable.append((submission, _undecryptable(submission, round, exc)))

    settled = 0
    batch: list[tuple[Submission, _Outcome]] = []
    pool = decode_pool(limits)
    for submission, decoded in pool.decode_many("predictions", context, plaintexts()):
        batch.append((submission, _judged(decoded, limits, len(ids))))
        if len(batch) >= FINISH_BATCH:
            settled += _submissions_finish(batch, now)
            batch = []
    settled += _submissions_finish(batch + undecryptable, now)
    invalid = Submission.objects.filter(
        round=round, is_counted=True, state=SubmissionState.INVALID
    ).count()
    log.info("%s: opened %d counted submissions (%d invalid in all)", round, settled, invalid)
    return settled
