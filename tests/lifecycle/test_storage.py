"""Nobody can fill the disk: envelopes that did not count are deleted once their round has
closed (rows and signed receipts stay), a blob another row still needs is kept, an envelope is
never accepted in a second round, and a sponsor's data files have a quota."""

from datetime import timedelta

import pytest
from arena_client.receipts import verify_receipt

from core.errors import TooLarge
from tests.builders import csv_bytes, make_frame, predictions_csv, seal_for
from tournaments.blobs import BlobNotFound, FileBlobStore, blob_store
from tournaments.models import DatasetVersion, Round, RoundState, Submission
from tournaments.services.datasets import dataset_upload
from tournaments.services.lifecycle import round_close
from tournaments.services.receipts import platform_receipt_public_key, submission_receipt
from tournaments.services.storage import round_purge_uncounted, sponsor_storage_used
from tournaments.services.submissions import submission_upload

pytestmark = pytest.mark.django_db


def _upload(round, model, envelope, minutes: int) -> Submission:
    return submission_upload(
        model=model,
        by=model.owner,
        data=envelope,
        filename="p.sealed",
        now=round.opens_at + timedelta(minutes=minutes),
    )


def test_envelopes_that_did_not_count_are_deleted_after_close_and_receipts_stay_valid(
    open_round, model, live_ids
):
    first = _upload(
        open_round, model, seal_for(open_round, model, predictions_csv(live_ids, seed=1)), 1
    )
    second = _upload(
        open_round, model, seal_for(open_round, model, predictions_csv(live_ids, seed=2)), 2
    )
    last = _upload(
        open_round, model, seal_for(open_round, model, predictions_csv(live_ids, seed=3)), 3
    )
    store = blob_store()
    assert all(store.exists(s.cid) for s in (first, second, last))
    round_close(round=open_round, now=open_round.closes_at)
    rows = {s.pk: s for s in Submission.objects.filter(round=open_round)}
    assert [rows[s.pk].is_counted for s in (first, second, last)] == [False, False, True]
    assert (store.exists(first.cid), store.exists(second.cid), store.exists(last.cid)) == (
        False,
        False,
        True,
    )
    assert rows[first.pk].purged_at == open_round.closes_at and rows[last.pk].purged_at is None
    with pytest.raises(BlobNotFound):
        store.get(first.cid)
    # The rows and their receipts stay: what was received, and when, is still signed.
    for sub in (first, second):
        row = rows[sub.pk]
        verify_receipt(
            platform_receipt_public_key(),
            submission_receipt(submission=row),
            bytes.fromhex(row.receipt_signature),
        )
    assert rows[last.pk].state == "valid"
    # Running it again deletes nothing more.
    assert (
        round_purge_uncounted(round=Round.objects.get(pk=open_round.pk), now=open_round.closes_at)
        == 0
    )


def test_a_blob_that_a_counted_row_names_too_is_kept(open_round, model, live_ids):
    envelope = seal_for(open_round, model, predictions_csv(live_ids))
    retried = _upload(open_round, model, envelope, 1)
    counted = _upload(open_round, model, envelope, 2)  # a client retry: the same bytes again
    assert retried.cid == counted.cid
    round_close(round=open_round, now=open_round.closes_at)
    assert blob_store().exists(counted.cid)
    retried.refresh_from_db()
    assert (retried.is_counted, retried.purged_at) == (False, open_round.closes_at)
    counted.refresh_from_db()
    assert counted.state == "valid"


def test_nothing_is_deleted_while_the_round_is_open(open_round, model, live_ids):
    first = _upload(
        open_round, model, seal_for(open_round, model, predictions_csv(live_ids, seed=1)), 1
    )
    _upload(open_round, model, seal_for(open_round, model, predictions_csv(live_ids, seed=2)), 2)
    assert round_purge_uncounted(round=open_round, now=open_round.opens_at) == 0
    assert blob_store().exists(first.cid)


def test_a_storage_failure_while_deleting_does_not_fail_the_close(
    open_round, model, live_ids, monkeypatch
):
    first = _upload(
        open_round, model, seal_for(open_round, model, predictions_csv(live_ids, seed=1)), 1
    )
    _upload(open_round, model, seal_for(open_round, model, predictions_csv(live_ids, seed=2)), 2)

    def broken(self, cid):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(FileBlobStore, "delete", broken)
    closed = round_close(round=open_round, now=open_round.closes_at)
    assert closed.state == RoundState.CLOSED
    first.refresh_from_db()
    assert first.purged_at is None and blob_store().exists(first.cid)
    monkeypatch.undo()
    assert round_purge_uncounted(round=closed, now=closed.closes_at) == 1
    assert not blob_store().exists(first.cid)


def test_a_sponsor_past_their_storage_quota_is_refused_and_nothing_is_stored(
    tournament, sponsor, settings
):
    used = sponsor_storage_used(sponsor=sponsor)
    assert used == DatasetVersion.objects.get(tournament=tournament).size_bytes > 0
    data = csv_bytes(make_frame(seed=4))
    settings.ARENA_SPONSOR_STORAGE_BYTES = used + len(data) - 1
    before = DatasetVersion.objects.count()
    with pytest.raises(
        TooLarge, match=f"would take your data files to {used + len(data):,} bytes"
    ) as refused:
        dataset_upload(
            tournament=tournament, by=sponsor, kind="training", data=data, filename="t.csv"
        )
    assert refused.value.code == "storage_quota" and refused.value.status == 413
    assert DatasetVersion.objects.count() == before
    settings.ARENA_SPONSOR_STORAGE_BYTES = used + len(data)
    dataset_upload(tournament=tournament, by=sponsor, kind="training", data=data, filename="t.csv")
    assert sponsor_storage_used(sponsor=sponsor) == used + len(data)


def test_an_envelope_lost_from_storage_is_that_submissions_problem_only(
    open_round, model, live_ids, make_user
):
    from tournaments.services.model_slots import model_create

    other = model_create(owner=make_user("other-owner"), tournament=model.tournament, name="other")
    lost = _upload(
        open_round, model, seal_for(open_round, model, predictions_csv(live_ids, seed=1)), 1
    )
    kept = _upload(
        open_round, other, seal_for(open_round, other, predictions_csv(live_ids, seed=2)), 1
    )
    blob_store().delete(lost.cid)  # a storage fault
    round_close(round=open_round, now=open_round.closes_at)
    lost.refresh_from_db()
    kept.refresh_from_db()
    assert (lost.state, lost.problems[0]["code"]) == ("invalid", "storage_lost")
    assert lost.error.startswith("the platform lost this envelope from its storage")
    assert kept.state == "valid"


def test_a_days_target_counts_against_the_sponsors_quota(open_round, sponsor, live_ids, settings):
    from tournaments.services.datasets import round_target_upload

    before = sponsor_storage_used(sponsor=sponsor)
    rnd = round_close(round=open_round, now=open_round.closes_at)
    target = make_frame(n=len(live_ids), with_target=True, prefix="live", seed=7)[["id", "target"]]
    data = csv_bytes(target)
    round_target_upload(round=rnd, by=sponsor, day=1, data=data, filename="t.csv")
    assert sponsor_storage_used(sponsor=sponsor) == before + len(data)
    settings.ARENA_SPONSOR_STORAGE_BYTES = before + len(data) + len(data) - 1
    with pytest.raises(TooLarge) as refused:
        round_target_upload(round=rnd, by=sponsor, day=2, data=data, filename="t.csv")
    assert refused.value.code == "storage_quota"
