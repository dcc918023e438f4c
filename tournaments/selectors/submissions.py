"""Submissions: a model's latest and its uploads, the counted ones and their predictions."""

import numpy as np
from arena_client.validation import read_predictions, validate_predictions
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Exists, OuterRef, Q, QuerySet

from core.errors import NotAllowed
from tournaments.blobs import blob_store
from tournaments.models import ModelSlot, Round, Submission, SubmissionState
from tournaments.predictions_blob import read_predictions_blob
from tournaments.selectors.datasets import live_ids


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


def submissions_of_model(*, model: ModelSlot, by: User | AnonymousUser) -> QuerySet[Submission]:
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
