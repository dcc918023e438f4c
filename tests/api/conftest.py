"""API test fixtures: clients authenticated by key or session, and a played-out round."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.builders import sealed_predictions
from tournaments.fields import tokens_to_wei
from tournaments.models import (
    ModelSlot,
    Payout,
    Round,
    RoundState,
    RoundTransition,
    Score,
    ScoreDay,
)
from tournaments.services.lifecycle import round_close
from tournaments.services.model_slots import model_create, stake_deposit
from tournaments.services.submissions import submission_upload


@pytest.fixture(autouse=True)
def _fresh_throttles():
    # Throttle counters live in the cache; each test starts with none.
    cache.clear()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def key_client(make_key):
    """`key_client(user, "submit")` → an APIClient sending that user's new key."""

    def _client(user, *scopes: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(user, *scopes)}")
        return client

    return _client


@pytest.fixture
def session_client():
    def _client(user) -> APIClient:
        client = APIClient()
        client.force_login(user)
        return client

    return _client


@dataclass
class Played:
    round: Round
    model: ModelSlot
    rival: ModelSlot


@pytest.fixture
def resolved_round(tournament, open_round, model, make_user, live_ids) -> Played:
    """Round 1 played to the end: two models submit and it closes (services); then known
    scores for its two score days and payouts are written and it is marked resolved."""
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
        round=rnd, model=model, stake_at_risk=tokens_to_wei(25), corr=0.0425, mmc=0.0175,
        payout_factor=1.0, amount=tokens_to_wei("1.25"),
    )
    Payout.objects.create(
        round=rnd, model=rival, stake_at_risk=tokens_to_wei(10), corr=-0.0155, mmc=-0.008,
        payout_factor=1.0, amount=-tokens_to_wei("0.5"),
    )
    for day, (from_state, to_state) in enumerate(
        ((RoundState.CLOSED, RoundState.SCORING), (RoundState.SCORING, RoundState.RESOLVED)), 1
    ):
        RoundTransition.objects.create(
            round=rnd, from_state=from_state, to_state=to_state, at=closed_at + timedelta(hours=day)
        )
    Round.objects.filter(pk=rnd.pk).update(state=RoundState.RESOLVED, scored_days=2, meta_corr=0.0333)
    rnd.refresh_from_db()
    return Played(round=rnd, model=model, rival=rival)
