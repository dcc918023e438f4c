"""tournaments announces its changes through its notification port (tournaments/signals.py);
the live app's receivers (live/receivers.py, connected in LiveConfig.ready()) turn them into
one publish per tournament per commit and private refreshes, all after the commit."""

from types import SimpleNamespace

import pytest
from django.db import transaction

from live import publish, receivers, tasks
from tournaments import signals
from tournaments.models import ModelSlot, Round, StakeEventKind, Submission
from tournaments.services.model_slots import model_create, stake_change


@pytest.fixture
def sent(monkeypatch) -> dict[str, list]:
    """What live hands on: publish tasks enqueued and pushes delivered (none really sent)."""
    calls: dict[str, list] = {"publish": [], "deliver": []}
    receivers._pending_reasons().clear()  # reasons left by earlier tests' uncommitted changes
    monkeypatch.setattr(
        tasks.leaderboard_publish, "delay", lambda *args: calls["publish"].append(args)
    )
    monkeypatch.setattr(
        publish, "deliver", lambda messages, wait=True: calls["deliver"].append((messages, wait))
    )
    return calls


def test_live_follows_every_notification_of_the_port():
    names = ("round_changed", "round_scored", "round_pnl", "stake_changed", "submission_changed")
    try:
        for name in names:
            assert getattr(signals, name).disconnect(dispatch_uid=f"live.{name}"), name
    finally:
        receivers.connect()
    receivers.connect()  # connecting again (a second ready(), a reloaded module) adds nothing
    for name in names:
        assert len(getattr(signals, name).receivers) == 1, name


def test_one_commit_publishes_once_per_tournament_after_it(
    tournament, modeler, sent, django_capture_on_commit_callbacks
):
    one = model_create(owner=modeler, tournament=tournament, name="one")
    two = model_create(owner=modeler, tournament=tournament, name="two")
    rnd = tournament.rounds.get(number=1)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            stake_change(model=one, amount=5, kind=StakeEventKind.DEPOSIT)
            stake_change(model=two, amount=7, kind=StakeEventKind.DEPOSIT)
            signals.announce(signals.round_changed, sender=Round, round=rnd)
            assert sent == {"publish": [], "deliver": []}  # nothing before the commit
    assert sent["publish"] == [(tournament.id, "round:scheduled+stake")]
    refresh = ([(f"private.weather.{modeler.id}", {"type": "private.refresh"})], False)
    assert sent["deliver"] == [refresh, refresh]  # each stake change, its owner's view


def test_a_change_that_rolls_back_announces_nothing(
    tournament, modeler, sent, django_capture_on_commit_callbacks
):
    slot = model_create(owner=modeler, tournament=tournament, name="one")
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            stake_change(model=slot, amount=5, kind=StakeEventKind.DEPOSIT)
            raise RuntimeError("rolled back")
    assert sent == {"publish": [], "deliver": []}
    assert ModelSlot.objects.get(pk=slot.pk).stake == 0


def test_scores_and_pnl_publish_and_a_submission_refreshes_only_its_owner(
    tournament, modeler, sent, django_capture_on_commit_callbacks
):
    rnd = tournament.rounds.get(number=1)
    slot = ModelSlot.objects.select_related("tournament").get(
        pk=model_create(owner=modeler, tournament=tournament, name="one").pk
    )
    with django_capture_on_commit_callbacks(execute=True):
        signals.announce(signals.round_scored, sender=Round, round=rnd)
    with django_capture_on_commit_callbacks(execute=True):
        signals.announce(signals.round_pnl, sender=Round, round=rnd)
    with django_capture_on_commit_callbacks(execute=True):
        signals.announce(signals.submission_changed, sender=Submission, submission=SimpleNamespace(model=slot))
    assert sent["publish"] == [(tournament.id, "scored"), (tournament.id, "pnl")]
    assert sent["deliver"] == [
        ([(f"private.weather.{modeler.id}", {"type": "private.refresh"})], False)
    ]


def test_a_failing_receiver_is_logged_and_never_fails_the_change(tournament, modeler, caplog):
    slot = model_create(owner=modeler, tournament=tournament, name="one")

    def broken(sender, **kwargs):
        raise RuntimeError("the page is down")

    signals.stake_changed.connect(broken)
    try:
        stake_change(model=slot, amount=5, kind=StakeEventKind.DEPOSIT)
    finally:
        signals.stake_changed.disconnect(broken)
    assert ModelSlot.objects.get(pk=slot.pk).stake == 5
    failures = [r for r in caplog.records if r.name == "django.dispatch"]
    assert [r.getMessage() for r in failures] == [
        "Error calling test_a_failing_receiver_is_logged_and_never_fails_the_change.<locals>.broken "
        "in Signal.send_robust() (the page is down)"
    ]
