"""A late scheduler never eats a submission window: a round opened late gets its whole
window from the moment it opens, and slots missed while the scheduler was stopped are
skipped, not opened one after another."""

from datetime import timedelta

import pandas as pd
import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from core.money import tokens_to_wei
from tournaments.models import RoundState, RoundTransition
from tournaments.services.datasets import dataset_upload
from tournaments.services.lifecycle import round_schedule_next
from tournaments.services.scheduler import scheduler_tick
from tournaments.services.tournaments import tournament_create

pytestmark = pytest.mark.django_db

WINDOW = timedelta(minutes=30)


@pytest.fixture
def world():
    start = timezone.now() - timedelta(days=10)
    sponsor = User.objects.create_user("sponsor")
    tournament = tournament_create(
        sponsor=sponsor,
        name="Late",
        first_round_at=start,
        round_interval=timedelta(days=1),
        submission_window=WINDOW,
        resolution_lag=timedelta(minutes=5),
        score_days=2,
        score_day_interval=timedelta(minutes=10),
        payout_threshold=tokens_to_wei(1000),
        reward_pool=tokens_to_wei(100),
    )
    return {"tournament": tournament, "sponsor": sponsor, "start": start}


def _live(world, rnd) -> None:
    frame = pd.DataFrame({"id": ["a", "b", "c"], "era": "era1", "feature_a": [0.1, 0.2, 0.3]})
    dataset_upload(
        tournament=world["tournament"],
        by=world["sponsor"],
        kind="live",
        round=rnd,
        data=frame.to_csv(index=False).encode(),
        filename="live.csv",
    )


def test_a_round_opened_late_gets_its_whole_window_and_does_not_close_in_the_same_tick(world):
    rnd = round_schedule_next(tournament=world["tournament"], now=world["start"])
    _live(world, rnd)
    late = world["start"] + timedelta(hours=2)  # four windows after the open time
    scheduler_tick(now=late, tournaments=[world["tournament"]])
    rnd.refresh_from_db()
    assert rnd.state == RoundState.OPEN
    assert rnd.opens_at == world["start"]  # the slot stays, so later rounds keep theirs
    assert rnd.closes_at == late + WINDOW
    assert rnd.score_day_at(1) == late + WINDOW + timedelta(minutes=5)
    opened = RoundTransition.objects.get(round=rnd, to_state=RoundState.OPEN)
    assert opened.detail == f"7200 s late: open until {(late + WINDOW).isoformat()}"
    scheduler_tick(now=late + WINDOW - timedelta(seconds=1), tournaments=[world["tournament"]])
    rnd.refresh_from_db()
    assert rnd.state == RoundState.OPEN
    scheduler_tick(now=late + WINDOW, tournaments=[world["tournament"]])
    rnd.refresh_from_db()
    assert rnd.state == RoundState.CLOSED


def test_a_tick_a_moment_late_changes_no_time(world):
    rnd = round_schedule_next(tournament=world["tournament"], now=world["start"])
    _live(world, rnd)
    scheduler_tick(now=world["start"] + timedelta(seconds=30), tournaments=[world["tournament"]])
    rnd.refresh_from_db()
    assert rnd.state == RoundState.OPEN
    assert (rnd.opens_at, rnd.closes_at) == (world["start"], world["start"] + WINDOW)


def test_slots_missed_while_the_scheduler_was_stopped_are_skipped(world, caplog):
    first = round_schedule_next(tournament=world["tournament"], now=world["start"])
    # The scheduler comes back 5 days and 1 hour later: rounds 2–5's slots have passed.
    back = world["start"] + timedelta(days=5, hours=1)
    second = round_schedule_next(tournament=world["tournament"], now=back)
    assert (first.number, second.number) == (1, 2)
    assert second.opens_at == world["start"] + timedelta(days=5)
    assert "4 round slot(s) passed while no round was scheduled" in caplog.text
    # The round after it is in the next slot, not in one of the missed ones.
    assert round_schedule_next(tournament=world["tournament"], now=back) is not None
    third = world["tournament"].rounds.get(number=3)
    assert third.opens_at == world["start"] + timedelta(days=6)
