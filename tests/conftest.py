"""Fixtures shared by every test package: users, a sponsor's tournament with data, an open
round with live data, a staked model, and API keys. Built through the services.

"Now" is real time: rounds are scheduled around timezone.now() instead of mocking the clock.
"""

from dataclasses import dataclass
from datetime import timedelta

import pandas as pd
import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.utils import timezone

from accounts.services import api_key_create
from core.money import tokens_to_wei
from tests.builders import csv_bytes, make_frame, sealed_predictions
from tournaments.models import (
    ModelSlot,
    Payout,
    Round,
    RoundState,
    RoundTransition,
    Score,
    ScoreDay,
    SponsorUpload,
    Tournament,
    UploadState,
)
from tournaments.services.datasets import dataset_upload
from tournaments.services.lifecycle import round_close, round_open
from tournaments.services.model_slots import model_create, stake_deposit
from tournaments.services.submissions import submission_upload
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
def _fresh_cache():
    # Throttle counters (the API's, failed log-ins per username and address) live in the
    # cache: each test starts with none, whatever the tests before it tried.
    cache.clear()


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
def check_uploads(db, django_capture_on_commit_callbacks):
    """`check_uploads()` runs the Celery check task of every sponsor upload still processing
    (eagerly, as the embedded profile runs tasks) and returns those uploads, refreshed.

    In production the task is sent when the upload's row is committed; a test's transaction
    is never committed, so uploads made through the API or the site stay `processing` until
    a test runs their checks — the transition is always explicit. What the task leaves for
    after its commit (deleting a refused file's bytes) runs too, as it would in a worker."""
    from tournaments.tasks import sponsor_upload_check

    def _check() -> list[SponsorUpload]:
        pending = SponsorUpload.objects.filter(state=UploadState.PROCESSING).order_by("pk")
        ids = list(pending.values_list("pk", flat=True))
        for upload_id in ids:
            with django_capture_on_commit_callbacks(execute=True):
                sponsor_upload_check.delay(upload_id)
        return list(SponsorUpload.objects.filter(pk__in=ids).order_by("pk"))

    return _check


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


@dataclass
class Played:
    round: Round
    model: ModelSlot
    rival: ModelSlot

    @property
    def models(self) -> list[ModelSlot]:
        return [self.model, self.rival]


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
