"""A sponsor's file: stored → `processing` → `ready` (in force) or `rejected` (with the reason).

The uploads here go the asynchronous way (`*_receive`, as the API and the dashboard send
them); the check is the Celery task (`check_uploads` runs it, tests/conftest.py) or the
scheduler's sweep. Each test pins one property: a valid file takes effect only once ready,
a hostile one is rejected with its code while the version in force stays, a round never
opens on live data that is not ready nor is scored against a target that is not, a lost
or crashed check is picked up again, and a check that runs twice applies once.
"""

import io
import threading
from datetime import timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.db import connection, connections
from django.utils import timezone

from core.errors import TooLarge
from tests.builders import csv_bytes, make_frame, sealed_predictions
from tests.hostile import HOSTILE_FILES
from tournaments.blobs import blob_store
from tournaments.models import DatasetVersion, RoundState, RoundTarget, SponsorUpload
from tournaments.selectors import dataset_latest
from tournaments.services import uploads
from tournaments.services.datasets import (
    dataset_upload,
    dataset_upload_receive,
    round_target_upload_receive,
)
from tournaments.services.lifecycle import round_close, round_open
from tournaments.services.scheduler import scheduler_tick
from tournaments.services.storage import sponsor_storage_used
from tournaments.services.submissions import submission_upload
from tournaments.tasks import sponsor_upload_check

pytestmark = pytest.mark.django_db

# Codes a sponsor's file the sandbox refuses is reported with (tournaments/services/decoding.py).
SANDBOX_CODES = {"invalid", "too_large", "unreadable_file", "too_slow", "decoder_crashed"}


def _training(tournament, sponsor, data: bytes) -> SponsorUpload:
    return dataset_upload_receive(
        tournament=tournament, by=sponsor, kind="training", data=data, filename="train.csv"
    )


def _live(round, sponsor, data: bytes, filename: str = "live.csv") -> SponsorUpload:
    return dataset_upload_receive(
        tournament=round.tournament,
        by=sponsor,
        kind="live",
        round=round,
        data=data,
        filename=filename,
    )


def _target_csv(ids: list[str]) -> bytes:
    frame = make_frame(n=len(ids), with_target=True, prefix="live", seed=7)[["id", "target"]]
    return csv_bytes(frame)


def test_a_valid_file_is_processing_then_ready_and_becomes_the_current_version(
    tournament, sponsor, check_uploads
):
    data = csv_bytes(make_frame(seed=11))
    upload = _training(tournament, sponsor, data)
    assert (upload.state, upload.attempts, upload.dataset_id) == ("processing", 0, None)
    assert blob_store().get(upload.cid) == data
    # Stored, counted against the quota, but not in force.
    assert dataset_latest(tournament=tournament, kind="training").version == 1
    first = DatasetVersion.objects.get(kind="training")
    assert sponsor_storage_used(sponsor=sponsor) == first.size_bytes + len(data)

    (upload,) = check_uploads()
    assert (upload.state, upload.rows, upload.attempts, upload.error_code) == ("ready", 50, 1, "")
    current = dataset_latest(tournament=tournament, kind="training")
    assert (current.version, current.cid, current.pk) == (2, upload.cid, upload.dataset_id)
    assert upload.checked_at is not None
    # Counted once, now as the version it became.
    assert sponsor_storage_used(sponsor=sponsor) == first.size_bytes + len(data)


def test_a_hostile_file_is_rejected_with_its_code_and_the_version_in_force_stays(
    tournament, sponsor, settings, check_uploads
):
    from tests.sandbox.test_sponsor_uploads import data_bomb

    settings.ARENA_DECODE_DATASET_MEMORY_BYTES = 256 * 1024 * 1024
    before = list(DatasetVersion.objects.values_list("kind", "version", "cid"))
    upload = _training(tournament, sponsor, data_bomb(1000))
    (upload,) = check_uploads()
    assert (upload.state, upload.error_code) == ("rejected", "too_large")
    assert upload.error_message == "train.csv needs more memory to read than is allowed"
    assert list(DatasetVersion.objects.values_list("kind", "version", "cid")) == before
    assert dataset_latest(tournament=tournament, kind="training").version == 1
    # Its bytes are deleted, and no longer counted against the quota.
    assert not blob_store().exists(upload.cid)
    assert sponsor_storage_used(sponsor=sponsor) == DatasetVersion.objects.get().size_bytes


def test_every_hostile_class_ends_rejected_and_the_rounds_live_data_stays(
    tournament, sponsor, live_frame, live_ids, settings, check_uploads
):
    settings.ARENA_DECODE_DATASET_MEMORY_BYTES = 256 * 1024 * 1024
    settings.ARENA_SPONSOR_PENDING_UPLOADS = len(HOSTILE_FILES)
    rnd = tournament.rounds.get(number=1)
    in_force = dataset_upload(
        tournament=tournament,
        by=sponsor,
        kind="live",
        round=rnd,
        data=csv_bytes(live_frame),
        filename="live.csv",
    )
    for hostile in HOSTILE_FILES:
        name = "live.parquet" if hostile.build(live_ids)[:4] == b"PAR1" else "live.csv"
        _live(rnd, sponsor, hostile.build(live_ids), filename=name)
    checked = check_uploads()
    assert len(checked) == len(HOSTILE_FILES)
    outcomes = {(u.state, u.error_code in SANDBOX_CODES, bool(u.error_message)) for u in checked}
    assert outcomes == {("rejected", True, True)}, [
        (u.filename, u.state, u.error_code) for u in checked
    ]
    rnd.refresh_from_db()
    assert rnd.live_dataset.pk == in_force.pk
    assert SponsorUpload.objects.filter(state="processing").count() == 0


def test_a_round_never_opens_on_live_data_that_is_not_ready(
    tournament, sponsor, live_frame, check_uploads
):
    rnd = tournament.rounds.get(number=1)
    assert rnd.opens_at <= timezone.now()
    _live(rnd, sponsor, csv_bytes(live_frame))
    report = scheduler_tick(now=timezone.now())
    rnd.refresh_from_db()
    assert rnd.state == RoundState.SCHEDULED
    assert "weather#1: live data" in report.waiting

    (upload,) = check_uploads()
    assert upload.state == "ready"
    report = scheduler_tick(now=timezone.now())
    rnd.refresh_from_db()
    assert "weather#1 opened" in report.actions
    assert (rnd.state, rnd.live_dataset.pk) == (RoundState.OPEN, upload.dataset_id)


def test_live_data_still_being_checked_when_its_round_opens_is_rejected_and_the_old_stays(
    tournament, sponsor, live_frame, check_uploads
):
    rnd = tournament.rounds.get(number=1)
    first = dataset_upload(
        tournament=tournament,
        by=sponsor,
        kind="live",
        round=rnd,
        data=csv_bytes(live_frame),
        filename="live.csv",
    )
    _live(rnd, sponsor, csv_bytes(make_frame(with_target=False, prefix="other", seed=3)))
    round_open(round=rnd, now=timezone.now())  # opens on the version in force
    (upload,) = check_uploads()
    assert (upload.state, upload.error_code) == ("rejected", "conflict")
    assert upload.error_message == "round 1 is open: live data is fixed once it opens"
    rnd.refresh_from_db()
    assert rnd.live_dataset.pk == first.pk


def test_a_day_is_never_scored_against_a_target_that_is_not_ready(
    open_round, sponsor, model, live_ids, settings, check_uploads
):
    # The day is due hours after the close; the sweep must not run the check before we do.
    settings.ARENA_UPLOAD_RETRY_SECONDS = 7 * 24 * 3600
    submission_upload(
        model=model,
        by=model.owner,
        data=sealed_predictions(open_round, model, live_ids),
        filename="p.sealed",
    )
    rnd = round_close(round=open_round, now=open_round.closes_at)
    upload = round_target_upload_receive(
        round=rnd, by=sponsor, day=1, data=_target_csv(live_ids), filename="t.csv"
    )
    assert upload.state == "processing"
    due = rnd.score_day_at(1)
    report = scheduler_tick(now=due)
    rnd.refresh_from_db()
    assert (rnd.state, rnd.scored_days) == (RoundState.CLOSED, 0)
    assert "weather#1: target for day 1" in report.waiting
    assert not RoundTarget.objects.exists()

    check_uploads()
    report = scheduler_tick(now=due)
    rnd.refresh_from_db()
    assert "weather#1 scored day 1" in report.actions
    assert (rnd.state, rnd.scored_days) == (RoundState.SCORING, 1)
    assert RoundTarget.objects.get(round=rnd, day=1).cid == upload.cid


def test_a_hostile_target_is_rejected_and_the_days_target_stays(
    open_round, sponsor, live_ids, check_uploads
):
    from tests.sandbox.test_sponsor_uploads import target_with_lying_metadata

    rnd = round_close(round=open_round, now=open_round.closes_at)
    round_target_upload_receive(
        round=rnd, by=sponsor, day=1, data=_target_csv(live_ids), filename="t.csv"
    )
    (good,) = check_uploads()
    round_target_upload_receive(
        round=rnd,
        by=sponsor,
        day=1,
        data=target_with_lying_metadata(live_ids),
        filename="t.parquet",
    )
    (bad,) = check_uploads()
    assert (bad.state, bad.error_code) == ("rejected", "invalid")
    assert bad.error_message == (
        "could not read t.parquet: Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)"
    )
    assert RoundTarget.objects.get(round=rnd, day=1).cid == good.cid


def test_an_upload_whose_check_was_never_sent_is_picked_up_by_the_scheduler(
    tournament, sponsor, settings
):
    # A crash between storing and checking: the row is committed, the task never ran (in a
    # test the commit's callback never fires, which is exactly that).
    settings.ARENA_UPLOAD_RETRY_SECONDS = 30
    upload = _training(tournament, sponsor, csv_bytes(make_frame(seed=12)))
    assert upload.retry_at == upload.created_at + timedelta(seconds=30)
    early = scheduler_tick(now=upload.retry_at - timedelta(seconds=1))
    upload.refresh_from_db()
    assert upload.state == "processing"
    assert not any("upload" in action for action in early.actions)

    report = scheduler_tick(now=upload.retry_at)
    assert "sent 1 upload check(s) again" in report.actions
    upload.refresh_from_db()
    assert (upload.state, upload.attempts) == ("ready", 1)
    assert dataset_latest(tournament=tournament, kind="training").version == 2
    # Once finished, later ticks leave it alone.
    assert (
        "sent 1 upload check(s) again"
        not in scheduler_tick(now=upload.retry_at + timedelta(hours=1)).actions
    )


def test_a_check_that_died_halfway_is_resumed_and_applied_once(tournament, sponsor, settings):
    # The worker started the check (counted, retry_at pushed forward) and was killed before
    # writing an outcome: the sweep sends it again once retry_at has passed.
    settings.ARENA_UPLOAD_RETRY_SECONDS = 30
    upload = _training(tournament, sponsor, csv_bytes(make_frame(seed=13)))
    claimed = uploads._claim(upload.pk)
    assert (claimed.state, claimed.attempts) == ("processing", 1)
    assert uploads.sponsor_uploads_resume(now=timezone.now()) == 0  # still within its time
    assert uploads.sponsor_uploads_resume(now=claimed.retry_at) == 1
    upload.refresh_from_db()
    assert (upload.state, upload.attempts) == ("ready", 2)
    assert list(
        DatasetVersion.objects.filter(kind="training").values_list("version", flat=True)
    ) == [2, 1]


def test_the_sweep_counts_only_the_checks_it_could_send(tournament, sponsor, monkeypatch, caplog):
    # The broker refuses (or no sender is registered): the upload stays processing, nothing
    # is counted as sent, and the next sweep tries again once the broker is back.
    upload = _training(tournament, sponsor, csv_bytes(make_frame(seed=17)))
    claimed = uploads._claim(upload.pk)

    def refused(upload_id: int) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(uploads, "_check_sender", refused)
    assert uploads.sponsor_uploads_resume(now=claimed.retry_at) == 0
    assert f"could not send the check of upload {upload.pk}" in caplog.text
    upload.refresh_from_db()
    assert (upload.state, upload.attempts) == ("processing", 1)
    monkeypatch.undo()
    assert uploads.sponsor_uploads_resume(now=upload.retry_at) == 1
    upload.refresh_from_db()
    assert (upload.state, upload.attempts) == ("ready", 2)


def test_a_retried_task_does_not_apply_twice(tournament, sponsor):
    upload = _training(tournament, sponsor, csv_bytes(make_frame(seed=14)))
    assert sponsor_upload_check.delay(upload.pk).get() == "ready"
    assert sponsor_upload_check.delay(upload.pk).get() == "ready"
    upload.refresh_from_db()
    assert upload.attempts == 1
    assert DatasetVersion.objects.filter(kind="training").count() == 2
    assert sponsor_upload_check.delay(10**9).get() is None  # gone: nothing to do


def test_two_checks_at_once_apply_the_file_once(tournament, sponsor, monkeypatch):
    # A redelivered task runs while the first is still reading the file: whichever writes
    # first wins, under the upload's row lock; the other finds it finished.
    upload = _training(tournament, sponsor, csv_bytes(make_frame(seed=15)))
    real_check = uploads._checked
    duplicate = []

    def check_with_a_duplicate_running(row):
        summary = real_check(row)
        if not duplicate:
            duplicate.append("running")
            duplicate[0] = uploads.sponsor_upload_check(upload_id=row.pk).state
        return summary

    monkeypatch.setattr(uploads, "_checked", check_with_a_duplicate_running)
    assert sponsor_upload_check.delay(upload.pk).get() == "ready"
    assert duplicate == ["ready"]
    upload.refresh_from_db()
    assert upload.attempts == 2
    assert list(
        DatasetVersion.objects.filter(kind="training").values_list("version", flat=True)
    ) == [2, 1]


def test_a_check_that_keeps_failing_is_rejected_after_its_attempts(
    tournament, sponsor, settings, monkeypatch
):
    # Not the file's fault (the storage, the sandbox itself): no exception leaves the task,
    # the upload waits for another try, and after ARENA_UPLOAD_CHECK_ATTEMPTS it is refused.
    settings.ARENA_UPLOAD_CHECK_ATTEMPTS = 2

    def broken(row):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(uploads, "_checked", broken)
    upload = _training(tournament, sponsor, csv_bytes(make_frame(seed=16)))
    for attempt in (1, 2):
        before = timezone.now()
        assert sponsor_upload_check.delay(upload.pk).get() == "processing"
        upload.refresh_from_db()
        assert upload.attempts == attempt
        assert before + uploads.RETRY_AFTER_FAILURE <= upload.retry_at
    assert sponsor_upload_check.delay(upload.pk).get() == "rejected"
    upload.refresh_from_db()
    assert (upload.error_code, upload.attempts) == ("check_failed", 2)
    assert upload.error_message == (
        "the check of train.csv was started 2 times and never finished: upload the file "
        "again, or ask the operator"
    )
    assert dataset_latest(tournament=tournament, kind="training").version == 1


def test_a_stored_file_that_went_missing_is_rejected(tournament, sponsor, check_uploads):
    upload = _training(tournament, sponsor, csv_bytes(make_frame(seed=17)))
    blob_store().delete(upload.cid)
    (upload,) = check_uploads()
    assert (upload.state, upload.error_code) == ("rejected", "file_missing")
    assert upload.error_message == "the stored copy of train.csv is gone: upload the file again"


def test_files_being_checked_count_against_the_storage_quota(
    tournament, sponsor, settings, check_uploads
):
    used = sponsor_storage_used(sponsor=sponsor)
    first, second = csv_bytes(make_frame(seed=18)), csv_bytes(make_frame(seed=19))
    settings.ARENA_SPONSOR_STORAGE_BYTES = used + len(first) + len(second) - 1
    _training(tournament, sponsor, first)
    with pytest.raises(TooLarge) as refused:
        _training(tournament, sponsor, second)
    assert refused.value.code == "storage_quota"
    assert SponsorUpload.objects.filter(state="processing").count() == 1  # nothing stored
    # A file refused by its check frees its room.
    _training(tournament, sponsor, b"not,a,data,set\n")
    settings.ARENA_SPONSOR_STORAGE_BYTES = used + len(first) + len(second) + 20
    for upload in check_uploads():
        assert upload.state in ("ready", "rejected")
    settings.ARENA_SPONSOR_STORAGE_BYTES = used + len(first) + len(second)
    assert _training(tournament, sponsor, second).state == "processing"


def test_the_synchronous_path_goes_through_the_same_pipeline(tournament, sponsor):
    dataset = dataset_upload(
        tournament=tournament,
        by=sponsor,
        kind="validation",
        data=csv_bytes(make_frame(seed=20)),
        filename="v.csv",
    )
    assert (dataset.upload.state, dataset.upload.attempts, dataset.upload.rows) == ("ready", 1, 50)
    # The launch's training file came the same way.
    training = DatasetVersion.objects.get(kind="training")
    assert training.upload.state == "ready"


@pytest.mark.django_db(transaction=True)  # two threads, two connections, real commits
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks: SQLite locks the whole database"
)
def test_two_workers_checking_one_upload_at_once_apply_it_once(tournament, sponsor, monkeypatch):
    # Stored without sending its task (here the commit is real: an eager task would run now).
    upload = uploads.upload_receive(
        tournament=tournament,
        by=sponsor,
        kind="training",
        data=csv_bytes(make_frame(seed=21)),
        filename="train.csv",
        dispatch=False,
    )
    real_check = uploads._checked
    both_checked = threading.Barrier(2, timeout=30)

    def check_then_meet(row):
        summary = real_check(row)
        both_checked.wait()  # both have read the file; now both try to write the outcome
        return summary

    monkeypatch.setattr(uploads, "_checked", check_then_meet)
    states = []

    def work() -> None:
        try:
            states.append(uploads.sponsor_upload_check(upload_id=upload.pk).state)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=work) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert states == ["ready", "ready"]
    upload.refresh_from_db()
    assert upload.attempts == 2
    assert list(
        DatasetVersion.objects.filter(kind="training").values_list("version", flat=True)
    ) == [2, 1]


def _parquet(columns: dict) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table(columns), out)
    return out.getvalue()


def test_a_reason_quoting_a_nul_is_stored_escaped(tournament, sponsor, check_uploads):
    # PostgreSQL refuses NUL in text and jsonb: the reason is recorded all the same.
    data = _parquet(
        {
            "id": ["a\x00b", "a\x00b"],
            "era": ["1", "1"],
            "feature_0": [0.1, 0.2],
            "target": [0.1, 0.2],
        }
    )
    dataset_upload_receive(
        tournament=tournament, by=sponsor, kind="training", data=data, filename="t.parquet"
    )
    (upload,) = check_uploads()
    assert (upload.state, upload.error_code) == ("rejected", "invalid")
    assert upload.error_message == "1 duplicate id(s); first: a\\x00b"
    assert upload.error_details == {"duplicate_ids": 1, "first": ["a\\x00b"]}


def test_a_file_the_database_cannot_store_is_rejected_not_retried(
    tournament, sponsor, check_uploads
):
    data = _parquet(
        {"id": ["a", "b"], "era": ["1", "1"], "feature_\x00x": [0.1, 0.2], "target": [0.1, 0.2]}
    )
    dataset_upload_receive(
        tournament=tournament, by=sponsor, kind="training", data=data, filename="t.parquet"
    )
    (upload,) = check_uploads()
    if connection.vendor == "postgresql":
        assert (upload.state, upload.error_code, upload.attempts) == ("rejected", "unstorable", 1)
        assert upload.error_message == (
            "t.parquet cannot be stored as it is: its column names hold characters the "
            "database refuses (such as NUL)"
        )
        assert dataset_latest(tournament=tournament, kind="training").version == 1
    else:  # SQLite stores it
        assert upload.state == "ready"


def test_a_synchronous_check_that_cannot_run_raises_and_never_applies_later(
    tournament, sponsor, monkeypatch
):
    def broken(row):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(uploads, "_checked", broken)
    with pytest.raises(OSError):
        dataset_upload(
            tournament=tournament,
            by=sponsor,
            kind="validation",
            data=csv_bytes(make_frame(seed=22)),
            filename="v.csv",
        )
    upload = SponsorUpload.objects.get(kind="validation")
    assert (upload.state, upload.error_code) == ("rejected", "check_failed")
    assert upload.error_message == "the check of v.csv could not run (OSError)"
    monkeypatch.undo()
    assert uploads.sponsor_uploads_resume(now=upload.retry_at + timedelta(days=1)) == 0
    assert not DatasetVersion.objects.filter(kind="validation").exists()
