"""What the platform keeps on disk, and for how long: nobody can fill it.

* Envelopes that did not count (replaced by a later upload of the same model, or uploaded
  again with the same bytes) are deleted from the blob store once their round has closed.
  Their rows stay — with `purged_at` set — so the submission history and every signed
  receipt remain valid statements of what was received and when.
* A sponsor's data files count against ARENA_SPONSOR_STORAGE_BYTES over all their
  tournaments, and so do their files still being checked (any kind: those bytes are on
  disk too) and their targets; an upload that would pass it is refused before it is stored.

An envelope's bytes may be named by more than one row (a client that retried an upload sends
the same bytes again), so a blob is deleted only when no row that still needs it names it.
An envelope from one round is never accepted in another (submissions.submission_upload
refuses it): a blob named by a closed round's rows is never named by an open round's.
"""

import logging
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Q, Sum

from core.errors import TooLarge
from tournaments.blobs import blob_store
from tournaments.kinds import platform_data_kinds
from tournaments.models import (
    DatasetVersion,
    Round,
    RoundState,
    RoundTarget,
    SponsorUpload,
    Submission,
    UploadKind,
    UploadState,
)

log = logging.getLogger("arena.storage")


def round_purge_uncounted(*, round: Round, now: datetime) -> int:
    """Delete the stored envelopes of `round` that did not count; returns how many rows were
    marked purged. Idempotent; does nothing while the round is open."""
    if round.state in (RoundState.SCHEDULED, RoundState.OPEN):
        return 0
    uncounted = Submission.objects.filter(round=round, is_counted=False, purged_at__isnull=True)
    rows = list(uncounted.values_list("id", "cid"))
    if not rows:
        return 0
    cids = {cid for _, cid in rows}
    still_needed = set(
        Submission.objects.filter(cid__in=cids)
        .filter(Q(is_counted=True) | ~Q(round=round))
        .values_list("cid", flat=True)
    )
    still_needed |= set(
        Submission.objects.filter(predictions_cid__in=cids).values_list(
            "predictions_cid", flat=True
        )
    )
    still_needed |= set(DatasetVersion.objects.filter(cid__in=cids).values_list("cid", flat=True))
    still_needed |= set(RoundTarget.objects.filter(cid__in=cids).values_list("cid", flat=True))
    still_needed |= set(
        SponsorUpload.objects.filter(cid__in=cids)
        .exclude(state=UploadState.REJECTED)
        .values_list("cid", flat=True)
    )
    store = blob_store()
    freed = 0
    for cid in sorted(cids - still_needed):
        freed += store.delete(cid)
    # Rows after blobs: a crash in between leaves rows that the next call deletes again
    # (a no-op) and marks.
    marked = uncounted.filter(id__in=[i for i, _ in rows]).update(purged_at=now)
    log.info("%s: deleted %d envelope(s) that did not count (%d rows)", round, freed, marked)
    return marked


def sponsor_storage_used(*, sponsor: User) -> int:
    """Bytes of the data files a sponsor has uploaded, over all their tournaments, and of
    their files still being checked (the DEX market's files, which the platform writes from
    the pools, are not theirs to count). A file that became ready counts once, as its
    DatasetVersion; a rejected one not at all (its bytes are deleted)."""
    used = (
        DatasetVersion.objects.filter(tournament__sponsor=sponsor)
        .exclude(tournament__kind__in=platform_data_kinds())
        .aggregate(total=Sum("size_bytes"))["total"]
    )
    # Still being checked (any kind), or a day's target in force (its RoundTarget keeps no
    # size of its own): those bytes are on disk too.
    pending_or_targets = (
        SponsorUpload.objects.filter(tournament__sponsor=sponsor)
        .filter(Q(state=UploadState.PROCESSING) | Q(state=UploadState.READY, kind=UploadKind.TARGET))
        .exclude(tournament__kind__in=platform_data_kinds())
        .aggregate(total=Sum("size_bytes"))["total"]
    )
    return int(used or 0) + int(pending_or_targets or 0)


def check_sponsor_storage(*, sponsor: User, adding: int) -> None:
    """Refuse (413 `storage_quota`) a data file that would take the sponsor past their quota."""
    quota = settings.ARENA_SPONSOR_STORAGE_BYTES
    if not quota:
        return
    used = sponsor_storage_used(sponsor=sponsor)
    if used + adding > quota:
        raise TooLarge(
            f"this file ({adding:,} bytes) would take your data files to {used + adding:,} bytes; "
            f"a sponsor may store {quota:,} bytes. Ask the operator for more room",
            code="storage_quota",
        )
