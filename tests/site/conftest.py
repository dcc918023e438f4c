"""Fixtures for the website tests, built through the services wherever they exist.

A tournament is launched with generated data (50 ids × 3 features), round 1 gets its live
data and is opened with the lifecycle service; modelers register and stake through the
model-slot services. Scores and payouts come from the scoring engine in production; page
tests write those rows directly so that the rendered numbers are known exactly.
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from core.money import tokens_to_wei
from tests.builders import csv_bytes, make_frame
from tournaments.models import (
    Tournament,
)
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
