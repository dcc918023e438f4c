"""A sponsor cannot keep modelers' stakes locked: pausing stops new rounds but never the
scoring and settlement of a round that took submissions; withheld targets are given up after
ARENA_TARGET_WAIT_SECONDS and the round resolves on the days it has; a DEX tournament's data
and targets come from its market only. Driven by the scheduler, as in production."""

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.errors import Conflict
from core.money import tokens_to_wei
from tests.builders import seal_for
from tournaments.models import (
    Payout,
    PayoutState,
    Round,
    RoundState,
    RoundTransition,
    Score,
    Tournament,
    TournamentKind,
    TournamentState,
)
from tournaments.services import lifecycle
from tournaments.services.datasets import dataset_upload, round_target_upload
from tournaments.services.lifecycle import round_schedule_next
from tournaments.services.model_slots import model_create, stake_deposit
from tournaments.services.scheduler import next_due_time, scheduler_tick
from tournaments.services.submissions import submission_upload
from tournaments.services.tournaments import tournament_create

pytestmark = pytest.mark.django_db

ROWS = 40
WAIT = 3600  # ARENA_TARGET_WAIT_SECONDS in these tests


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


@pytest.fixture
def played(settings):
    """Round 1 open with two staked models' sealed predictions; score days at close + 5 min
    and + 15 min."""
    settings.ARENA_TARGET_WAIT_SECONDS = WAIT
    start = timezone.now() - timedelta(hours=3)
    sponsor = User.objects.create_user("sponsor")
    tournament = tournament_create(
        sponsor=sponsor,
        name="Liveness",
        first_round_at=start,
        round_interval=timedelta(days=1),
        submission_window=timedelta(minutes=30),
        resolution_lag=timedelta(minutes=5),
        score_days=2,
        score_day_interval=timedelta(minutes=10),
        payout_threshold=tokens_to_wei(1000),
        reward_pool=tokens_to_wei(100),
    )
    rnd = round_schedule_next(tournament=tournament, now=start)
    ids = [f"id{i:03d}" for i in range(ROWS)]
    rng = np.random.default_rng(5)
    live = pd.DataFrame({"id": ids, "era": "era1", "feature_a": rng.random(ROWS)})
    dataset_upload(
        tournament=tournament,
        by=sponsor,
        kind="live",
        round=rnd,
        data=_csv(live),
        filename="live.csv",
    )
    scheduler_tick(now=start, tournaments=[tournament])
    rnd.refresh_from_db()
    assert rnd.state == RoundState.OPEN
    truth = rng.random(ROWS)
    models = []
    for name, predictions in (("close", truth + 0.1 * rng.random(ROWS)), ("far", rng.random(ROWS))):
        owner = User.objects.create_user(f"{name}-owner")
        slot = stake_deposit(
            model=model_create(owner=owner, tournament=tournament, name=name),
            by=owner,
            amount=tokens_to_wei(10),
        )
        frame = pd.DataFrame({"id": ids, "prediction": np.clip(predictions / 1.1, 0.01, 0.99)})
        submission_upload(
            model=slot,
            by=owner,
            data=seal_for(rnd, slot, _csv(frame)),
            filename="p.sealed",
            now=start + timedelta(minutes=1),
        )
        models.append(slot)
    return {
        "tournament": tournament,
        "sponsor": sponsor,
        "round": rnd,
        "ids": ids,
        "truth": truth,
        "start": start,
        "models": models,
    }


def _target(world, day: int) -> None:
    bins = np.digitize(world["truth"] + 0.01 * day, [0.25, 0.5, 0.75]) / 4
    round_target_upload(
        round=world["round"],
        by=world["sponsor"],
        day=day,
        data=_csv(pd.DataFrame({"id": world["ids"], "target": bins})),
        filename="t.csv",
    )


def _tick(world, minutes_after_start: float):
    return scheduler_tick(
        now=world["start"] + timedelta(minutes=minutes_after_start),
        tournaments=[world["tournament"]],
    )


def _state(world) -> str:
    return Round.objects.get(pk=world["round"].pk).state


def test_a_paused_tournament_finishes_its_open_round_but_opens_no_new_one(played):
    world = played
    Tournament.objects.filter(pk=world["tournament"].pk).update(state=TournamentState.PAUSED)
    world["tournament"].refresh_from_db()
    _tick(world, 31)  # past the close
    assert _state(world) == RoundState.CLOSED
    _target(world, 1)
    _target(world, 2)
    report = _tick(world, 60)
    assert _state(world) == RoundState.SETTLED, report
    assert Payout.objects.filter(round=world["round"], state=PayoutState.SETTLED).count() == 2
    # Round 2 was scheduled before the pause (and has no live data): past its open time it
    # stays scheduled, and no round after it is scheduled.
    _tick(world, 60 * 49)
    rounds = world["tournament"].rounds.order_by("number")
    assert list(rounds.values_list("number", "state")) == [(1, "settled"), (2, "scheduled")]
    assert (
        next_due_time(after=world["start"] + timedelta(days=2), tournaments=[world["tournament"]])
        is None
    )


def test_a_paused_tournaments_scheduled_round_does_not_open(played):
    world = played
    _tick(world, 31)
    _target(world, 1)
    _target(world, 2)
    _tick(world, 60)
    _tick(world, 60 * 24 + 1)  # round 2 is scheduled (it waits for its live data)
    second = world["tournament"].rounds.get(number=2)
    dataset_upload(
        tournament=world["tournament"],
        by=world["sponsor"],
        kind="live",
        round=second,
        data=_csv(pd.DataFrame({"id": world["ids"], "era": "era2", "feature_a": 0.5})),
        filename="live.csv",
    )
    Tournament.objects.filter(pk=world["tournament"].pk).update(state=TournamentState.PAUSED)
    _tick(world, 60 * 24 + 2)
    assert world["tournament"].rounds.get(number=2).state == RoundState.SCHEDULED
    Tournament.objects.filter(pk=world["tournament"].pk).update(state=TournamentState.ACTIVE)
    _tick(world, 60 * 24 + 3)
    assert world["tournament"].rounds.get(number=2).state == RoundState.OPEN


def test_a_withheld_target_is_given_up_and_the_round_resolves_on_the_days_it_has(played):
    world = played
    _tick(world, 31)
    _target(world, 1)
    _tick(world, 36)  # day 1 (close + 5 min) scored
    assert Round.objects.get(pk=world["round"].pk).scored_days == 1
    # Day 2 is due at close + 15 min; the sponsor never uploads it.
    report = _tick(world, 30 + 15 + WAIT / 60 - 1)
    assert _state(world) == RoundState.SCORING
    assert f"{world['tournament'].slug}#1: target for day 2" in report.waiting
    due = next_due_time(
        after=world["start"] + timedelta(minutes=31 + 15), tournaments=[world["tournament"]]
    )
    assert due == world["round"].closes_at + timedelta(minutes=15, seconds=WAIT)
    report = _tick(world, 30 + 15 + WAIT / 60)
    assert f"{world['tournament'].slug}#1 resolved: day 2 was not scored in time" in report.actions
    assert _state(world) == RoundState.SETTLED
    resolved = RoundTransition.objects.get(round=world["round"], to_state=RoundState.RESOLVED)
    assert resolved.detail == (
        f"day 2 was not scored within {WAIT} s of its time (no target, or it could not be "
        "scored): resolved on 1 of 2 score days, 2 payouts"
    )
    # Payouts come from day 1's scores, and they are applied.
    for payout in Payout.objects.filter(round=world["round"]):
        day1 = Score.objects.get(round=world["round"], model=payout.model, day=1)
        assert (payout.corr, payout.mmc) == (day1.corr, day1.mmc)
        assert payout.state == PayoutState.SETTLED
    # A late target for day 2 is refused.
    with pytest.raises(Conflict, match="round 1 is settled: its targets can no longer change"):
        _target(world, 2)


def test_a_round_with_no_target_at_all_resolves_with_no_payouts(played):
    world = played
    _tick(world, 31)
    assert _tick(world, 30 + 5 + WAIT / 60 - 1).waiting == [
        f"{world['tournament'].slug}#1: target for day 1"
    ]
    _tick(world, 30 + 5 + WAIT / 60)
    assert _state(world) == RoundState.SETTLED
    assert not Payout.objects.filter(round=world["round"]).exists()
    detail = RoundTransition.objects.get(round=world["round"], to_state=RoundState.RESOLVED).detail
    assert detail.endswith("resolved on 0 of 2 score days, 0 payouts")
    for model in world["models"]:
        model.refresh_from_db()
        assert model.stake == tokens_to_wei(10)  # nothing burned, nothing paid


def test_a_dex_tournaments_data_and_targets_come_from_its_market_only(played):
    world = played
    Tournament.objects.filter(pk=world["tournament"].pk).update(kind=TournamentKind.DEX)
    world["tournament"].refresh_from_db()
    world["round"].tournament.refresh_from_db()
    _tick(world, 31)
    message = (
        "liveness is a DEX tournament: its data and targets come from its market, not from uploads"
    )
    with pytest.raises(Conflict, match=message) as refused:
        _target(world, 1)
    assert refused.value.code == "market_data_only"
    with pytest.raises(Conflict, match=message):
        dataset_upload(
            tournament=world["tournament"],
            by=world["sponsor"],
            kind="training",
            data=b"id,era,feature_a,target\nx,e,0.5,0.5\n",
            filename="train.csv",
        )


def test_a_dex_dashboard_offers_no_upload_and_the_api_refuses_one(played, client, make_key):
    world = played
    Tournament.objects.filter(pk=world["tournament"].pk).update(kind=TournamentKind.DEX)
    _tick(world, 31)
    client.force_login(world["sponsor"])
    page = client.get(f"/tournaments/{world['tournament'].slug}/dashboard/").content.decode()
    assert "Data and targets from the market" in page
    assert "Upload target" not in page and "Upload live data" not in page
    key = make_key(world["sponsor"], "read", "sponsor")
    body = "id,target\n" + "".join(f"{i},0.5\n" for i in world["ids"])
    response = client.post(
        f"/api/tournaments/{world['tournament'].slug}/rounds/1/targets/1",
        {"file": SimpleUploadedFile("t.csv", body.encode())},
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "market_data_only"


def test_a_schedule_edit_after_open_moves_no_score_day(played, client, make_key):
    """score days are frozen when the round opens: a sponsor's PATCH of the schedule (here
    within the bounds) cannot push a closed round's score days, or its overdue time, out."""
    world = played
    _tick(world, 31)
    before = Round.objects.get(pk=world["round"].pk)
    due = (before.score_day_at(1), before.score_day_at(2))
    key = make_key(world["sponsor"], "read", "sponsor")
    response = client.patch(
        f"/api/tournaments/{world['tournament'].slug}",
        {"schedule": {"score_day_interval": 86400, "resolution_lag": 86400}},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 200, response.content
    after = Round.objects.get(pk=world["round"].pk)
    assert (after.score_day_at(1), after.score_day_at(2)) == due
    _target(world, 1)
    _tick(world, 36)
    assert _tick(world, 30 + 15 + WAIT / 60).actions == [
        f"{world['tournament'].slug}#1 resolved: day 2 was not scored in time",
        f"{world['tournament'].slug}#1 settled",
    ]


def test_a_day_that_keeps_failing_to_score_is_given_up_too(played, monkeypatch):
    """A target is in, but scoring the day raises every tick (a storage fault, a bug): after
    ARENA_TARGET_WAIT_SECONDS the round resolves on the days it has all the same."""
    world = played
    _tick(world, 31)
    _target(world, 1)

    def broken(**kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(lifecycle, "score_round_day", broken)
    report = _tick(world, 36)
    assert any("step failed (OSError" in line for line in report.waiting)
    assert _state(world) == RoundState.CLOSED
    _tick(world, 30 + 5 + WAIT / 60)
    assert _state(world) == RoundState.SETTLED
    assert not Payout.objects.filter(round=world["round"]).exists()


def test_schedules_that_could_not_settle_in_time_are_refused(played, client, make_key):
    world = played
    key = make_key(world["sponsor"], "read", "sponsor")
    url = f"/api/tournaments/{world['tournament'].slug}"
    for schedule, message in (
        ({"resolution_lag": 70 * 86400}, "must be at most 60 days"),
        ({"score_day_interval": 86400 * 61}, "must be at most 60 days"),
        (
            {"submission_window": 40 * 86400, "round_interval": 41 * 86400},
            "submission_window must be at most 30 days",
        ),
        ({"round_interval": 400 * 86400}, "round_interval must be at most 366 days"),
    ):
        response = client.patch(
            url,
            {"schedule": schedule},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )
        assert response.status_code == 400, (schedule, response.content)
        assert message in response.json()["error"]["message"], response.json()


def test_a_tick_survives_a_tournament_whose_schedule_overflows(played, make_user):
    from tournaments.services.tournaments import tournament_create

    world = played
    other = tournament_create(
        sponsor=make_user("second-sponsor"),
        name="Second",
        first_round_at=world["start"],
        round_interval=timedelta(days=1),
        submission_window=timedelta(minutes=30),
        resolution_lag=timedelta(minutes=5),
        score_days=1,
        score_day_interval=timedelta(minutes=10),
        payout_threshold=tokens_to_wei(1000),
    )
    # A schedule no check would accept now, as if stored before the bounds existed.
    Tournament.objects.filter(pk=world["tournament"].pk).update(
        round_interval=timedelta(days=10**9 // 86400 * 3000)
    )
    report = scheduler_tick(now=world["start"] + timedelta(days=2))
    assert any("scheduling failed (OverflowError" in line for line in report.waiting), (
        report.waiting
    )
    assert other.rounds.count() >= 1


def test_a_dex_tournaments_schedule_cannot_be_edited(played, client, make_key):
    world = played
    Tournament.objects.filter(pk=world["tournament"].pk).update(kind=TournamentKind.DEX)
    key = make_key(world["sponsor"], "read", "sponsor")
    response = client.patch(
        f"/api/tournaments/{world['tournament'].slug}",
        {"schedule": {"resolution_lag": 600}},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 400
    assert (
        "a DEX tournament's schedule is fixed when it is created"
        in response.json()["error"]["message"]
    )
