"""Each lifecycle transition, its preconditions, and that running it twice changes nothing —
on both ledger adapters (tournaments/ledger.py): the database ledger, and the chain ledger
on the embedded chain, whose balances reach the database through its indexer (sync)."""

import re
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from core.errors import Conflict
from core.money import tokens_to_wei
from tests.builders import seal_for
from tournaments.ledger import ledger
from tournaments.models import (
    Payout,
    PayoutState,
    RoundState,
    RoundTransition,
    Score,
    StakeEvent,
    StakeSnapshot,
    Submission,
    Tournament,
)
from tournaments.services.datasets import dataset_upload, round_target_upload
from tournaments.services.lifecycle import (
    round_close,
    round_open,
    round_resolve,
    round_schedule_next,
    round_score_day,
    round_settle,
)
from tournaments.services.model_slots import model_create, stake_deposit
from tournaments.services.submissions import submission_upload
from tournaments.services.tournaments import tournament_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("money")]  # both ledgers

ROWS = 60


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


@pytest.fixture
def world():
    """A tournament with 3 staked models, one scheduled round with live data."""
    start = timezone.now() - timedelta(hours=1)
    sponsor = User.objects.create_user("sponsor")
    t = tournament_create(
        sponsor=sponsor,
        name="Lifecycle",
        first_round_at=start,
        round_interval=timedelta(hours=2),
        submission_window=timedelta(minutes=30),
        resolution_lag=timedelta(minutes=5),
        score_days=2,
        score_day_interval=timedelta(minutes=10),
        payout_threshold=tokens_to_wei(100),
        reward_pool=tokens_to_wei(50),
    )
    rnd = round_schedule_next(tournament=t, now=start)
    rng = np.random.default_rng(1)
    ids = [f"id{i:03d}" for i in range(ROWS)]
    live = pd.DataFrame({"id": ids, "era": "era1", "feature_a": rng.random(ROWS)})
    dataset_upload(tournament=t, by=sponsor, kind="live", round=rnd, data=_csv(live), filename="live.csv")
    models = []
    for name, stake in (("alpha", 60), ("beta", 30), ("gamma", 10)):
        owner = User.objects.create_user(f"{name}-owner")
        slot = model_create(owner=owner, tournament=t, name=name)
        models.append(stake_deposit(model=slot, by=owner, amount=tokens_to_wei(stake)))
    ledger().sync()  # a chain's stakes and pool reach the database through its indexer
    models = [m.__class__.objects.get(pk=m.pk) for m in models]
    truth = rng.random(ROWS)
    return {"t": t, "sponsor": sponsor, "round": rnd, "ids": ids, "models": models, "truth": truth, "start": start}


def _submit(world, model, predictions, now):
    frame = pd.DataFrame({"id": world["ids"], "prediction": predictions})
    envelope = seal_for(world["round"], model, _csv(frame))
    return submission_upload(model=model, by=model.owner, data=envelope, filename="p.sealed", now=now)


def _target(world, day, values):
    bins = np.floor(pd.Series(values).rank(pct=True) * 4.999) / 4
    frame = pd.DataFrame({"id": world["ids"], "target": bins})
    round_target_upload(round=world["round"], by=world["sponsor"], day=day, data=_csv(frame), filename="t.csv")


def _open_and_submit(world):
    rnd, start = world["round"], world["start"]
    round_open(round=rnd, now=start)
    truth = world["truth"]
    rng = np.random.default_rng(2)
    a, b, c = world["models"]
    _submit(world, a, rng.random(ROWS), start + timedelta(minutes=1))  # superseded below
    _submit(world, a, np.clip(truth + rng.normal(0, 0.1, ROWS), 0, 1), start + timedelta(minutes=2))
    _submit(world, b, rng.random(ROWS), start + timedelta(minutes=3))
    _submit(world, c, 1 - truth, start + timedelta(minutes=4))
    return rnd


def test_open_needs_live_data_and_its_time():
    sponsor = User.objects.create_user("s2")
    now = timezone.now()
    t = tournament_create(sponsor=sponsor, name="No data", first_round_at=now)
    rnd = round_schedule_next(tournament=t, now=now)
    with pytest.raises(Conflict, match="has no live data yet"):
        round_open(round=rnd, now=now)
    with pytest.raises(Conflict, match="opens at"):
        round_open(round=rnd, now=now - timedelta(seconds=1))
    rnd.refresh_from_db()
    assert rnd.state == RoundState.SCHEDULED


def test_schedule_keeps_exactly_one_future_round(world):
    t, start = world["t"], world["start"]
    # Round 1 has opened (its time came), so round 2 gets scheduled, on the cadence...
    second = round_schedule_next(tournament=t, now=start)
    assert second.number == 2 and second.opens_at == start + timedelta(hours=2)
    # ...and while it waits in the future no third round is made.
    assert round_schedule_next(tournament=t, now=start + timedelta(minutes=2)) is None
    assert t.rounds.count() == 2


def test_open_freezes_rules_and_is_idempotent(world):
    rnd = world["round"]
    round_open(round=rnd, now=world["start"])
    Tournament.objects.filter(pk=world["t"].pk).update(payout_cap=0.9)
    again = round_open(round=rnd, now=world["start"] + timedelta(minutes=1))
    assert again.state == RoundState.OPEN
    assert again.rules["payout_cap"] == 0.05
    assert RoundTransition.objects.filter(round=rnd, to_state=RoundState.OPEN).count() == 1


def test_close_counts_the_last_valid_submission_and_snapshots_stakes(world):
    rnd = _open_and_submit(world)
    with pytest.raises(Conflict, match="closes at"):
        round_close(round=rnd, now=rnd.closes_at - timedelta(seconds=1))
    round_close(round=rnd, now=rnd.closes_at)
    round_close(round=rnd, now=rnd.closes_at + timedelta(minutes=1))  # second call: no change
    a = world["models"][0]
    counted = Submission.objects.filter(round=rnd, is_counted=True)
    assert counted.count() == 3
    assert counted.get(model=a).created_at == Submission.objects.filter(model=a).latest("created_at").created_at
    assert Submission.objects.filter(round=rnd).count() == 4  # history kept
    snaps = dict(StakeSnapshot.objects.filter(round=rnd).values_list("model__name", "amount"))
    assert snaps == {"alpha": tokens_to_wei(60), "beta": tokens_to_wei(30), "gamma": tokens_to_wei(10)}
    assert RoundTransition.objects.filter(round=rnd, to_state=RoundState.CLOSED).count() == 1


def test_upload_after_close_is_refused_with_the_close_time(world):
    rnd = _open_and_submit(world)
    round_close(round=rnd, now=rnd.closes_at)
    with pytest.raises(Conflict, match=re.escape(f"round 1 closed at {rnd.closes_at.isoformat()}")):
        _submit(world, world["models"][1], np.linspace(0, 1, ROWS), rnd.closes_at + timedelta(seconds=5))


def test_scoring_days_in_order_then_resolve_and_settle_exactly_once(world):
    rnd = _open_and_submit(world)
    round_close(round=rnd, now=rnd.closes_at)
    with pytest.raises(Conflict, match="no target for day 1"):
        round_score_day(round=rnd, day=1, now=rnd.score_day_at(1))
    _target(world, 1, world["truth"] + np.random.default_rng(3).normal(0, 0.3, ROWS))
    _target(world, 2, world["truth"])
    with pytest.raises(Conflict, match="day 1 of round 1 must be scored first"):
        round_score_day(round=rnd, day=2, now=rnd.score_day_at(2))
    round_score_day(round=rnd, day=1, now=rnd.score_day_at(1))
    rnd.refresh_from_db()
    assert rnd.state == RoundState.SCORING and rnd.scored_days == 1
    with pytest.raises(Conflict, match="has 1 of 2 score days"):
        round_resolve(round=rnd, now=rnd.score_day_at(1))
    round_score_day(round=rnd, day=2, now=rnd.score_day_at(2))
    round_score_day(round=rnd, day=2, now=rnd.score_day_at(2))  # idempotent
    assert Score.objects.filter(round=rnd).count() == 6
    final = {s.model.name: s for s in Score.objects.filter(round=rnd, day=2)}
    assert final["alpha"].corr > 0.5 and final["gamma"].corr < -0.5

    round_resolve(round=rnd, now=rnd.resolves_at)
    round_resolve(round=rnd, now=rnd.resolves_at)
    payouts = {p.model.name: p for p in Payout.objects.filter(round=rnd)}
    assert len(payouts) == 3
    # Total stake 100 = threshold, so the payout factor is 1; cap 0.05 binds both ways here.
    assert payouts["alpha"].payout_factor == 1.0
    assert payouts["alpha"].amount == tokens_to_wei(60) * 5 // 100
    assert payouts["gamma"].amount == -(tokens_to_wei(10) * 5 // 100)

    # Settled exactly once: again at the same moment, and after any challenge window.
    after_window = rnd.resolves_at + timedelta(days=2)
    for now in (rnd.resolves_at, rnd.resolves_at, after_window, after_window):
        round_settle(round=rnd, now=now)
    ledger().sync()
    a, _, c = (m.__class__.objects.get(pk=m.pk) for m in world["models"])
    assert a.stake == tokens_to_wei(60) + payouts["alpha"].amount
    assert c.stake == tokens_to_wei(10) + payouts["gamma"].amount
    changes = StakeEvent.objects.filter(round=rnd).exclude(amount=0)
    assert changes.count() == 3 - (payouts["beta"].amount == 0)
    t = Tournament.objects.get(pk=world["t"].pk)
    rewards = sum(p.amount for p in payouts.values() if p.amount > 0)
    assert t.reward_pool == tokens_to_wei(50) - rewards
    assert set(Payout.objects.filter(round=rnd).values_list("state", flat=True)) == {PayoutState.SETTLED}
    states = list(RoundTransition.objects.filter(round=rnd).values_list("to_state", flat=True))
    assert states == ["open", "closed", "scoring", "resolved", "settled"]
