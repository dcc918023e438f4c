"""Fixtures for the website tests, built through the services wherever they exist.

A tournament is launched with generated data (50 ids × 3 features), round 1 gets its live
data and is opened with the lifecycle service; modelers register and stake through the
model-slot services. Scores and payouts come from the scoring engine in production; page
tests write those rows directly so that the rendered numbers are known exactly.
"""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from tests.builders import csv_bytes, make_frame, sealed_predictions
from tournaments.fields import tokens_to_wei
from tournaments.models import (
    ModelSlot,
    Payout,
    Round,
    RoundState,
    RoundTransition,
    Score,
    ScoreDay,
    Tournament,
)
from tournaments.services.lifecycle import round_close
from tournaments.services.model_slots import model_create, stake_deposit
from tournaments.services.submissions import submission_upload
from tournaments.services.tournaments import tournament_launch

# Users, live data, the open round and the staked model come from tests/conftest.py; the
# builders from tests/builders.py. Only what the pages need beyond that lives here.


@pytest.fixture
def tournament(sponsor) -> Tournament:
    """The shared tournament, but with markup in its description: pages must escape it."""
    return tournament_launch(
        sponsor=sponsor,
        name="Weather Signals",
        slug="weather",
        description="Predict tomorrow's <weather> from today's readings.",
        first_round_at=timezone.now() - timedelta(minutes=1),
        round_interval=timedelta(days=1),
        submission_window=timedelta(hours=12),
        resolution_lag=timedelta(hours=1),
        score_days=2,
        score_day_interval=timedelta(hours=1),
        payout_threshold=tokens_to_wei(100),
        reward_pool=tokens_to_wei(500),
        token_symbol="WTHR",
        training_data=csv_bytes(make_frame()),
        training_filename="train.csv",
    )


@pytest.fixture
def login(client):
    def _login(user: User):
        client.force_login(user)
        return client

    return _login


@dataclass
class Played:
    round: Round
    models: list[ModelSlot]


@pytest.fixture
def resolved_round(tournament, open_round, model, modeler, make_user, live_ids) -> Played:
    """Round 1 played to the end: two models submit, it closes (service), then known
    scores for two score days and payouts are written and the round marked resolved."""
    rival_owner = make_user("rita-rival")
    rival = stake_deposit(
        model=model_create(owner=rival_owner, tournament=tournament, name="drizzle"),
        by=rival_owner,
        amount=tokens_to_wei(10),
    )
    for slot, seed in ((model, 1), (rival, 2)):
        submission_upload(
            model=slot,
            by=slot.owner,
            data=sealed_predictions(open_round, slot, live_ids, seed=seed),
            filename="p.csv.sealed",
        )
    closed_at = open_round.closes_at + timedelta(seconds=1)
    rnd = round_close(round=open_round, now=closed_at)
    values = {
        model.id: [(0.031, 0.012), (0.0425, 0.0175)],
        rival.id: [(-0.02, -0.011), (-0.0155, -0.008)],
    }
    for day, meta in ((1, 0.021), (2, 0.0333)):
        at = closed_at + timedelta(hours=day)
        ScoreDay.objects.create(round=rnd, day=day, meta_corr=meta, n_models=2, computed_at=at)
        for slot in (model, rival):
            corr, mmc = values[slot.id][day - 1]
            Score.objects.create(round=rnd, model=slot, day=day, corr=corr, mmc=mmc, computed_at=at)
    Payout.objects.create(
        round=rnd,
        model=model,
        stake_at_risk=tokens_to_wei(25),
        corr=0.0425,
        mmc=0.0175,
        payout_factor=1.0,
        amount=tokens_to_wei("1.25"),
    )
    Payout.objects.create(
        round=rnd,
        model=rival,
        stake_at_risk=tokens_to_wei(10),
        corr=-0.0155,
        mmc=-0.008,
        payout_factor=1.0,
        amount=-tokens_to_wei("0.5"),
    )
    for from_state, to_state in (
        (RoundState.CLOSED, RoundState.SCORING),
        (RoundState.SCORING, RoundState.RESOLVED),
    ):
        RoundTransition.objects.create(
            round=rnd, from_state=from_state, to_state=to_state, at=closed_at + timedelta(hours=2)
        )
    Round.objects.filter(pk=rnd.pk).update(
        state=RoundState.RESOLVED, scored_days=2, meta_corr=0.0333
    )
    rnd.refresh_from_db()
    return Played(round=rnd, models=[model, rival])
