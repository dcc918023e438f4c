"""Fixtures for the website tests, built through the services wherever they exist.

A tournament is launched with generated data (50 ids × 3 features), round 1 gets its live
data and is opened with the lifecycle service; modelers register and stake through the
model-slot services. Scores and payouts come from the scoring engine in production; page
tests write those rows directly so that the rendered numbers are known exactly.
"""

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from tests.builders import seal_for
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
from tournaments.services.datasets import dataset_upload
from tournaments.services.lifecycle import round_close, round_open
from tournaments.services.model_slots import model_create, stake_deposit
from tournaments.services.submissions import submission_upload
from tournaments.services.tournaments import tournament_launch

N_IDS = 50
PASSWORD = "a-long-test-passphrase-42"


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def make_frame(
    *, n: int = N_IDS, with_target: bool = True, seed: int = 0, prefix: str = "id"
) -> pd.DataFrame:
    """`n` rows over 5 eras with 3 features; the target leans on feature_0."""
    rng = np.random.default_rng(seed)
    features = rng.random((n, 3))
    frame = pd.DataFrame(
        {
            "id": [f"{prefix}{i:03d}" for i in range(n)],
            "era": [f"era{i % 5}" for i in range(n)],
            **{f"feature_{j}": features[:, j] for j in range(3)},
        }
    )
    if with_target:
        frame["target"] = np.clip(features[:, 0] * 0.6 + rng.random(n) * 0.4, 0, 1)
    return frame


def predictions_csv(ids: list[str], *, seed: int = 1) -> bytes:
    rng = np.random.default_rng(seed)
    return csv_bytes(pd.DataFrame({"id": ids, "prediction": rng.random(len(ids))}))


def sealed_predictions(round: Round, model: ModelSlot, ids: list[str], *, seed: int = 1) -> bytes:
    """Predictions sealed as the upload form does: to the round's key, bound to the model."""
    return seal_for(round, model, predictions_csv(ids, seed=seed))


@pytest.fixture(autouse=True)
def _site_settings(settings, tmp_path):
    # Content-addressed files land in a per-test folder, not in var/.
    settings.BLOB_DIR = tmp_path / "blobs"
    # A deliberately slow password hash costs ~1 s per user on a shared CPU; not under test here.
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
def tournament(sponsor) -> Tournament:
    """Launched through the service: training data stored, round 1 scheduled (opened a minute ago)."""
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
def live_frame() -> pd.DataFrame:
    return make_frame(with_target=False, seed=7, prefix="live")


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
def live_ids(live_frame) -> list[str]:
    return live_frame["id"].tolist()


@pytest.fixture
def model(tournament, modeler) -> ModelSlot:
    slot = model_create(owner=modeler, tournament=tournament, name="gale-force")
    return stake_deposit(model=slot, by=modeler, amount=tokens_to_wei(25))


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
