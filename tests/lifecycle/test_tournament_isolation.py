"""One tournament never stalls another.

A tournament's steps run within a time budget per tick (embedded) or in a task of their own
behind a lease (production); every step reads the clock when it runs, so a round opened
after another tournament's slow step still gets its whole window.
"""

import time
from datetime import datetime, timedelta

import pandas as pd
import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from core.money import tokens_to_wei
from demo.runner import SchedulerThread
from tournaments import tasks
from tournaments.models import Round, RoundState
from tournaments.services import scheduler
from tournaments.services.datasets import dataset_upload
from tournaments.services.lifecycle import round_schedule_next
from tournaments.services.scheduler import tournament_tick
from tournaments.services.tick_lease import tick_lease
from tournaments.services.tournaments import tournament_create

pytestmark = pytest.mark.django_db

WINDOW = timedelta(minutes=30)


def _tournament(sponsor: User, slug: str, first_round_at: datetime):
    tournament = tournament_create(
        sponsor=sponsor,
        name=slug.title(),
        slug=slug,
        first_round_at=first_round_at,
        round_interval=timedelta(days=1),
        submission_window=WINDOW,
        resolution_lag=timedelta(minutes=5),
        score_days=2,
        score_day_interval=timedelta(minutes=10),
        payout_threshold=tokens_to_wei(1000),
        reward_pool=tokens_to_wei(100),
    )
    rnd = round_schedule_next(tournament=tournament, now=first_round_at)
    frame = pd.DataFrame({"id": ["a", "b", "c"], "era": "era1", "feature_a": [0.1, 0.2, 0.3]})
    dataset_upload(
        tournament=tournament,
        by=sponsor,
        kind="live",
        round=rnd,
        data=frame.to_csv(index=False).encode(),
        filename="live.csv",
    )
    return tournament, rnd


@pytest.fixture
def two(sponsor):
    now = timezone.now()
    slow, slow_round = _tournament(sponsor, "slow", now - timedelta(seconds=1))
    other, other_round = _tournament(sponsor, "other", now - timedelta(seconds=1))
    return {"slow": slow, "slow_round": slow_round, "other": other, "other_round": other_round}


class _SlowSteps:
    """Every step of the slow tournament takes `seconds` (and there is always another)."""

    def __init__(self, monkeypatch, slug: str, seconds: float, clock=None, advance=timedelta(0)):
        self.calls = 0
        real = scheduler._round_step

        def step(round: Round, now, report):
            if round.tournament.slug != slug:
                return real(round, now, report)
            self.calls += 1
            time.sleep(seconds)
            if clock is not None:
                clock.now += advance
            return True

        monkeypatch.setattr(scheduler, "_round_step", step)


class _Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_a_slow_step_stops_at_the_budget_and_the_next_round_opens_with_its_whole_window(
    two, monkeypatch
):
    clock = _Clock(two["other_round"].opens_at)
    # Each slow step "takes" 20 simulated minutes: after it, the other round is late.
    slow = _SlowSteps(monkeypatch, "slow", 0.05, clock=clock, advance=timedelta(minutes=20))
    report = tournament_tick(tournament=two["slow"], clock=clock, deadline=time.monotonic() + 0.3)
    assert 1 <= slow.calls <= 7  # stopped by the budget, not by running out of work
    assert report.waiting[-1] == "slow: time budget spent, the rest waits for the next tick"
    opened_at = clock()
    assert opened_at - two["other_round"].opens_at >= timedelta(minutes=20)
    tournament_tick(tournament=two["other"], clock=clock)
    other = Round.objects.get(pk=two["other_round"].pk)
    assert other.state == RoundState.OPEN
    # Opened at the time the step ran (late), so the whole window lies ahead of it.
    assert other.closes_at == opened_at + WINDOW


def test_the_embedded_scheduler_gives_each_tournament_one_budget_and_rotates(two, monkeypatch):
    slow = _SlowSteps(monkeypatch, "slow", 0.1)
    thread = SchedulerThread(interval=1.0, budget=0.5)
    thread.tick()
    other = Round.objects.get(pk=two["other_round"].pk)
    assert other.state == RoundState.OPEN
    assert other.closes_at - timezone.now() > WINDOW - timedelta(seconds=30)
    # The slow tournament was cut at its budget (0.5 s), not left to run its endless work.
    assert 3 <= slow.calls <= 7
    calls_first_tick = slow.calls
    order = []
    monkeypatch.setattr(
        "demo.runner.advance_on_wall_clock",
        lambda *, tournament, budget_seconds: order.append(tournament.slug) or [],
    )
    thread.tick()
    thread.tick()
    assert order == ["other", "slow", "slow", "other"]  # whoever went first goes last next
    assert slow.calls == calls_first_tick


def test_a_tournament_whose_every_step_fails_leaves_the_others_to_open(two, monkeypatch):
    real = scheduler._round_step

    def broken(round, now, report):
        if round.tournament.slug == "slow":
            raise RuntimeError("node timed out")
        return real(round, now, report)

    monkeypatch.setattr(scheduler, "_round_step", broken)
    tasks.scheduler_tick()  # Celery's fan-out (eager here): one tournament_step per tournament
    assert Round.objects.get(pk=two["other_round"].pk).state == RoundState.OPEN
    assert Round.objects.get(pk=two["slow_round"].pk).state == RoundState.SCHEDULED


def test_a_tournament_whose_lease_is_held_is_not_stepped_twice(two):
    with tick_lease(two["other"].pk) as lease:
        assert lease.held
        assert tasks.tournament_step(two["other"].pk) is None  # another worker holds it
        assert Round.objects.get(pk=two["other_round"].pk).state == RoundState.SCHEDULED
        with tick_lease(two["other"].pk) as second:
            assert not second.held
    actions = tasks.tournament_step(two["other"].pk)  # freed when the holder finished
    assert "other#1 opened" in actions
    assert Round.objects.get(pk=two["other_round"].pk).state == RoundState.OPEN


def test_a_lease_expires_so_a_killed_worker_blocks_its_tournament_only_briefly(two, settings):
    settings.ARENA_TOURNAMENT_LEASE_SECONDS = 1
    with tick_lease(two["other"].pk) as lease:
        assert lease.held
        lease._stop.set()  # the holder was killed: its heartbeat stops with it
        time.sleep(1.2)
        assert "other#1 opened" in tasks.tournament_step(two["other"].pk)


def test_a_step_longer_than_the_lease_keeps_it_while_it_runs(two, settings):
    settings.ARENA_TOURNAMENT_LEASE_SECONDS = 1
    with tick_lease(two["other"].pk) as lease:
        assert lease.held
        time.sleep(2.5)  # a long step: the heartbeat renews the lease meanwhile
        assert tasks.tournament_step(two["other"].pk) is None  # no second worker gets in
        assert Round.objects.get(pk=two["other_round"].pk).state == RoundState.SCHEDULED
    assert "other#1 opened" in tasks.tournament_step(two["other"].pk)
