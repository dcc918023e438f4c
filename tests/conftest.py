"""Fixtures shared by every test package: users, a sponsor's tournament with data, an open
round with live data, a staked model, and API keys. Built through the services.

"Now" is real time: rounds are scheduled around timezone.now() instead of mocking the clock.
"""

from datetime import timedelta

import pandas as pd
import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from accounts.services import api_key_create
from tests.builders import csv_bytes, make_frame
from tournaments.fields import tokens_to_wei
from tournaments.models import ModelSlot, Round, Tournament
from tournaments.services.datasets import dataset_upload
from tournaments.services.lifecycle import round_open
from tournaments.services.model_slots import model_create, stake_deposit
from tournaments.services.tournaments import tournament_launch

PASSWORD = "a-long-test-passphrase-42"


@pytest.fixture(autouse=True)
def _blobs_in_tmp(settings, tmp_path):
    # Content-addressed files land in a per-test folder, not in var/.
    settings.BLOB_DIR = tmp_path / "blobs"


@pytest.fixture(autouse=True)
def _database_settlement_unless_chain(request, settings, tmp_path):
    """Unit tests settle in the database (ARENA_CHAIN=off); tests marked `chain_integration`
    run the real in-process chain, journaled in a per-test folder."""
    from chain.client import reset_gateway

    if request.node.get_closest_marker("chain_integration"):
        settings.ARENA_CHAIN = "embedded"
        settings.CHAIN_STATE_DIR = tmp_path / "chain"
        settings.CHAIN_CHALLENGE_WINDOW = 30
        reset_gateway()
        yield
        reset_gateway()
    else:
        settings.ARENA_CHAIN = "off"
        yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The real hasher is slow on purpose; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_user(db):
    def _make(username: str) -> User:
        return User.objects.create_user(username=username, password=PASSWORD)

    return _make


@pytest.fixture
def sponsor(make_user) -> User:
    return make_user("sally-sponsor")


@pytest.fixture
def modeler(make_user) -> User:
    return make_user("mo-modeler")


@pytest.fixture
def stranger(make_user) -> User:
    return make_user("stan-stranger")


@pytest.fixture
def make_key(db):
    """`make_key(user, "read", "submit")` → the raw API key (shown once)."""

    def _make(user: User, *scopes: str, name: str = "test key") -> str:
        return api_key_create(user=user, name=name, scopes=scopes).raw_key

    return _make


@pytest.fixture
def tournament(sponsor) -> Tournament:
    """Launched through the service: training data stored, round 1 scheduled (opened a
    minute ago, closes in 12 hours)."""
    return tournament_launch(
        sponsor=sponsor,
        name="Weather Signals",
        slug="weather",
        description="Predict tomorrow's weather from today's readings.",
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
def live_frame() -> pd.DataFrame:
    return make_frame(with_target=False, seed=7, prefix="live")


@pytest.fixture
def live_ids(live_frame) -> list[str]:
    return live_frame["id"].tolist()


@pytest.fixture
def open_round(tournament, sponsor, live_frame) -> Round:
    """Round 1 with live data uploaded by the sponsor, opened by the lifecycle service."""
    rnd = tournament.rounds.get(number=1)
    dataset_upload(
        tournament=tournament,
        by=sponsor,
        kind="live",
        round=rnd,
        data=csv_bytes(live_frame),
        filename="live.csv",
    )
    return round_open(round=rnd, now=timezone.now())


@pytest.fixture
def model(tournament, modeler) -> ModelSlot:
    """The modeler's model with 25 tokens staked."""
    slot = model_create(owner=modeler, tournament=tournament, name="gale-force")
    return stake_deposit(model=slot, by=modeler, amount=tokens_to_wei(25))
