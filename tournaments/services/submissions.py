"""Prediction uploads: everything is checked before anything is stored."""

from datetime import datetime

from arena_client.validation import PredictionFileError, read_predictions, validate_predictions
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from tournaments.blobs import blob_store
from tournaments.errors import Conflict, InvalidInput, NotAllowed, TooLarge
from tournaments.models import ModelSlot, Round, RoundState, Submission, SubmissionState
from tournaments.selectors import live_ids, round_current_open


def _open_round_for_upload(model: ModelSlot, now: datetime) -> Round:
    round = round_current_open(tournament=model.tournament, now=now)
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


def submission_upload(
    *, model: ModelSlot, by: User, data: bytes, filename: str, now: datetime | None = None
) -> Submission:
    """Validate and store predictions for the open round. A rejected file changes nothing."""
    now = now or timezone.now()
    if model.owner_id != by.id:
        raise NotAllowed("you can only submit for your own models")
    round = _open_round_for_upload(model, now)
    try:
        frame = read_predictions(data, filename, max_bytes=settings.ARENA_MAX_PREDICTION_BYTES)
        validated = validate_predictions(frame, live_ids(round=round))
    except PredictionFileError as exc:
        too_large = exc.problems[0]["code"] == "file_too_large"
        error = TooLarge if too_large else InvalidInput
        raise error(str(exc), details={"problems": exc.problems}) from exc
    cid = blob_store().put(data)
    with transaction.atomic():
        # Re-check under the round's row lock: the round may have closed meanwhile.
        locked = Round.objects.select_for_update().get(pk=round.pk)
        if locked.state != RoundState.OPEN:
            raise Conflict(
                f"round {locked.number} closed at {locked.closes_at.isoformat()}", code="round_closed"
            )
        return Submission.objects.create(
            round=locked,
            model=model,
            uploaded_by=by,
            cid=cid,
            filename=filename,
            size_bytes=len(data),
            rows=len(validated),
            state=SubmissionState.VALID,
            created_at=now,
        )
