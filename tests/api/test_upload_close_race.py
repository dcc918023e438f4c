"""An upload racing the round's close, on PostgreSQL with two real connections: the upload's
INSERT carries the round's shared lock, so an upload that meets the close's lock waits for
the close to commit, then is refused and stores nothing (services/submissions.py)."""

import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from tests.builders import predictions_csv, seal_for
from tournaments.errors import Conflict
from tournaments.models import Round, RoundState, Submission
from tournaments.services.submissions import submission_upload

pytestmark = [
    pytest.mark.django_db(transaction=True),  # two threads, two connections, real commits
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks: SQLite locks the whole database"
    ),
]


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


def test_an_upload_that_meets_the_close_waits_for_it_then_is_refused(open_round, model, modeler, live_ids):
    envelope = seal_for(open_round, model, predictions_csv(live_ids, seed=3))
    close_holds_lock, close_may_commit = threading.Event(), threading.Event()
    outcome: dict = {}

    def close() -> None:
        # What round_close does first: lock the round's row, then change its state.
        try:
            with transaction.atomic():
                Round.objects.select_for_update().get(pk=open_round.pk)
                close_holds_lock.set()
                close_may_commit.wait(10)
                Round.objects.filter(pk=open_round.pk).update(state=RoundState.CLOSED)
        finally:
            connections.close_all()

    def upload() -> None:
        try:
            outcome["submission"] = submission_upload(
                model=model, by=modeler, data=envelope, filename="late.sealed", now=timezone.now()
            )
        except Conflict as exc:
            outcome["refused"] = exc
        finally:
            connections.close_all()

    closer = threading.Thread(target=close)
    closer.start()
    assert close_holds_lock.wait(10)
    uploader = threading.Thread(target=upload)
    uploader.start()
    try:
        # The upload read the round as open, then its INSERT waits on the close's lock.
        assert _wait_until(lambda: _sessions_waiting_on_a_lock() == 1)
        assert uploader.is_alive() and outcome == {}
    finally:
        close_may_commit.set()
        closer.join(10)
        uploader.join(10)
    assert "submission" not in outcome
    assert outcome["refused"].code == "round_closed"
    assert f"round {open_round.number} closed at" in str(outcome["refused"])
    assert Submission.objects.count() == 0


def test_an_upload_before_the_close_is_stored_and_the_close_then_proceeds(open_round, model, modeler, live_ids):
    envelope = seal_for(open_round, model, predictions_csv(live_ids, seed=4))
    stored = submission_upload(
        model=model, by=modeler, data=envelope, filename="early.sealed", now=timezone.now()
    )
    with transaction.atomic():
        Round.objects.select_for_update(nowait=True).get(pk=open_round.pk)  # nothing holds it
    assert list(Submission.objects.values_list("id", "cid")) == [(stored.id, stored.cid)]
