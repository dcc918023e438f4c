"""An upload racing the round's close (services/submissions.py). The upload's INSERT carries
the round's shared lock and inserts only while the round is open: an upload that meets the
close's lock waits for the close to commit, then is refused and stores no row; the close
waits for an upload in flight and counts it. The lock tests need PostgreSQL (two real
connections); the refusal itself is checked on both databases."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from core.errors import Conflict
from tests.builders import predictions_csv, seal_for
from tournaments.models import Round, RoundState, Submission
from tournaments.services.lifecycle import round_close
from tournaments.services.submissions import submission_upload

pytestmark = pytest.mark.django_db(transaction=True)  # two threads, two connections, real commits
row_locks = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks: SQLite locks the whole database"
)


def _sessions_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def _wait_until(check, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def _thread(work) -> threading.Thread:
    """`work` on a thread of its own, with a database connection of its own."""

    def run() -> None:
        try:
            work()
        finally:
            connections.close_all()

    return threading.Thread(target=run)


def _second_waits_for_first(first, first_holds_lock, release_first, second, check_waiting) -> None:
    """Run `first` until it holds its lock, then `second`, which must wait on that lock
    (`check_waiting` runs while it does); then let `first` commit and both finish."""
    holder, waiter = _thread(first), _thread(second)
    holder.start()
    assert first_holds_lock.wait(10)
    waiter.start()
    try:
        assert _wait_until(lambda: _sessions_waiting_on_a_lock() == 1)
        assert waiter.is_alive()
        check_waiting()
    finally:
        release_first.set()
        holder.join(10)
        waiter.join(30)


@row_locks
def test_an_upload_that_meets_the_close_waits_for_it_then_is_refused(open_round, model, modeler, live_ids):
    envelope = seal_for(open_round, model, predictions_csv(live_ids, seed=3))
    close_holds_lock, close_may_commit = threading.Event(), threading.Event()
    outcome: dict = {}

    def close() -> None:
        # What round_close does first: lock the round's row, then change its state.
        with transaction.atomic():
            Round.objects.select_for_update().get(pk=open_round.pk)
            close_holds_lock.set()
            close_may_commit.wait(10)
            Round.objects.filter(pk=open_round.pk).update(state=RoundState.CLOSED)

    def upload() -> None:
        try:
            outcome["submission"] = submission_upload(
                model=model, by=modeler, data=envelope, filename="late.sealed", now=timezone.now()
            )
        except Conflict as exc:
            outcome["refused"] = exc

    def nothing_yet() -> None:
        # The upload read the round as open; its INSERT waits on the close's lock.
        assert outcome == {}

    _second_waits_for_first(close, close_holds_lock, close_may_commit, upload, nothing_yet)
    assert "submission" not in outcome
    assert outcome["refused"].code == "round_closed"
    assert f"round {open_round.number} closed at" in str(outcome["refused"])
    assert Submission.objects.count() == 0


@row_locks
def test_the_close_waits_for_an_upload_in_flight_and_counts_it(open_round, model, modeler, live_ids):
    envelope = seal_for(open_round, model, predictions_csv(live_ids, seed=4))
    uploaded, may_commit = threading.Event(), threading.Event()
    outcome: dict = {}

    def upload_in_a_longer_transaction() -> None:
        # The upload's statement holds the round's shared lock until its transaction commits.
        with transaction.atomic():
            outcome["submission"] = submission_upload(
                model=model, by=modeler, data=envelope, filename="in-flight.sealed",
                now=timezone.now(),
            )
            uploaded.set()
            may_commit.wait(10)

    def close() -> None:
        outcome["closed"] = round_close(
            round=open_round, now=open_round.closes_at + timedelta(seconds=1)
        )

    def not_closed_yet() -> None:
        assert "closed" not in outcome

    _second_waits_for_first(upload_in_a_longer_transaction, uploaded, may_commit, close, not_closed_yet)
    assert outcome["closed"].state != RoundState.OPEN
    counted = Submission.objects.get()
    assert (counted.id, counted.is_counted) == (outcome["submission"].id, True)


def test_an_upload_whose_round_closed_after_it_was_read_is_refused(open_round, model, modeler, live_ids):
    """The INSERT's own check, on both databases: the round was read open (as the upload lane
    reads it), then closed before the row went in."""
    envelope = seal_for(open_round, model, predictions_csv(live_ids, seed=5))
    read_while_open = Round.objects.get(pk=open_round.pk)
    read_while_open.has_key = True
    round_close(round=open_round, now=open_round.closes_at + timedelta(seconds=1))
    with pytest.raises(Conflict) as refused:
        submission_upload(
            model=model, by=modeler, data=envelope, filename="late.sealed",
            now=timezone.now(), open_round=read_while_open,
        )
    assert refused.value.code == "round_closed"
    assert str(refused.value) == (
        f"round {open_round.number} closed at {open_round.closes_at.isoformat()}"
    )
    assert Submission.objects.count() == 0
