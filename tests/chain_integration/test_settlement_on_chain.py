"""Rounds settled through the real in-process chain: commitments at close, one Merkle root
per round, the guardian's window, leaves applied once, and the database mirroring it all."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chain.client import use_gateway
from chain.models import IndexedEvent, RoundSettlement
from chain.services import chain_index, chain_settlement_step
from demo.runner import advance, run_headless
from demo.services import DemoSchedule, demo_create
from tournaments.models import ModelSlot, Payout, PayoutState, RoundState, StakeEvent

pytestmark = [pytest.mark.chain_integration, pytest.mark.django_db(transaction=True)]

FAST = DemoSchedule(
    round_interval=timedelta(minutes=5),
    submission_window=timedelta(minutes=1),
    resolution_lag=timedelta(seconds=10),
    score_days=2,
    score_day_interval=timedelta(seconds=10),
    challenge_window=timedelta(seconds=60),
)


@pytest.fixture
def tournament():
    return demo_create(now=timezone.now(), slug="onchain", schedule=FAST, rows_per_era=120)


def _assert_mirror_matches_chain(tournament) -> None:
    with use_gateway() as gateway:
        for model in ModelSlot.objects.filter(tournament=tournament):
            assert gateway.stake_of(model.pk) == model.stake, model.name
        assert gateway.pool_of(tournament.pk) == tournament.__class__.objects.get(pk=tournament.pk).reward_pool


def test_demo_stakes_and_pool_are_on_chain_and_mirrored(tournament):
    assert tournament.reward_pool == 100_000 * 10**18
    gbm = ModelSlot.objects.get(tournament=tournament, name="gbm-deep")
    assert gbm.stake == 900 * 10**18
    assert StakeEvent.objects.filter(model=gbm, kind="deposit").exclude(tx_hash="").count() == 1
    _assert_mirror_matches_chain(tournament)


def test_a_round_settles_on_chain_exactly_once(tournament):
    [report] = run_headless(tournament=tournament, rounds=1)
    assert report["state"] == RoundState.SETTLED
    state = RoundSettlement.objects.get(round__tournament=tournament, round__number=1)
    assert state.completed and state.leaf_count == 19
    assert state.commitments_tx.startswith("0x") and state.proposed_tx.startswith("0x")
    assert state.finalized_tx.startswith("0x") and len(state.apply_txs) == 1
    payouts = Payout.objects.filter(round=state.round)
    assert set(payouts.values_list("state", flat=True)) == {PayoutState.SETTLED}
    assert all(p.tx_hash == state.apply_txs[0] for p in payouts)
    with use_gateway() as gateway:
        onchain = gateway.round_state(tournament.pk, 1)
        assert onchain["status_name"] == "completed"
        assert onchain["applied_count"] == 19
        assert onchain["settlement_root"] == state.settlement_root
        assert onchain["commitments_root"] == state.commitments_root
        assert onchain["submission_count"] == 19
    _assert_mirror_matches_chain(tournament)

    # Running the keeper and the indexer again changes nothing, anywhere.
    events_before = IndexedEvent.objects.count()
    stakes_before = dict(ModelSlot.objects.filter(tournament=tournament).values_list("name", "stake"))
    assert chain_settlement_step(round=state.round, now=timezone.now()) is True
    assert chain_index() == 0
    assert IndexedEvent.objects.count() == events_before
    assert dict(ModelSlot.objects.filter(tournament=tournament).values_list("name", "stake")) == stakes_before
    assert IndexedEvent.objects.filter(name="LeafApplied").count() == 19


def _resolved_round_1(tournament):
    """Play the demo on its simulated clock until round 1 is resolved: (round, that moment)."""
    now = tournament.first_round_at
    for _ in range(200):
        advance(now=now, tournaments=[tournament])
        round = tournament.rounds.get(number=1)
        if round.state == RoundState.RESOLVED:
            return round, now
        now += timedelta(seconds=5)
    raise AssertionError(f"round 1 is still {round.state} after 200 steps")


def test_settlement_waits_for_the_guardian_window_and_resumes_after_losing_its_records(tournament):
    round, now = _resolved_round_1(tournament)
    # First step proposes; the 60 s window is open, so nothing is final yet.
    assert chain_settlement_step(round=round, now=now) is False
    state = RoundSettlement.objects.get(round=round)
    assert state.proposed_tx and not state.finalized_tx
    # A crash that loses the platform's records of the proposal...
    RoundSettlement.objects.filter(round=round).update(proposed_tx="", challenge_ends=None)
    window_ends_at = RoundSettlement.objects.get(round=round).window_ends_at
    assert window_ends_at == now + timedelta(seconds=60)
    # Still inside the window: nothing moves.
    assert chain_settlement_step(round=round, now=window_ends_at - timedelta(seconds=5)) is False
    # ...resumes from the chain: no second proposal, and after the window one finalize+apply.
    after = window_ends_at + timedelta(seconds=1)
    assert chain_settlement_step(round=round, now=after) is True
    with use_gateway() as gateway:
        onchain = gateway.round_state(tournament.pk, 1)
    assert onchain["vetoes"] == 0 and onchain["applied_count"] == 19
    # Payouts know their tx at once (from the receipts); stakes follow with the indexer.
    assert set(Payout.objects.filter(round=round).values_list("state", flat=True)) == {PayoutState.SETTLED}
    assert not Payout.objects.filter(round=round, tx_hash="").exists()
    chain_index()
    assert IndexedEvent.objects.filter(name="LeafApplied").count() == 19
    _assert_mirror_matches_chain(tournament)


def test_a_guardian_veto_holds_the_round_disputed_then_the_keeper_abandons_it_at_90_days(tournament):
    """A vetoed root is not proposed again (the payouts recompute to it); the round waits
    for an operator, and 90 days after the close the keeper abandons it on-chain: no leaf
    applied, payouts void, and a release asked for meanwhile goes through."""
    from datetime import UTC, datetime

    from chain.models import Wallet
    from chain.services import ABANDON_AFTER_SECONDS, chain_request_release_from_dev_wallet
    from core.errors import Conflict
    from tournaments.services.lifecycle import round_settle

    round, now = _resolved_round_1(tournament)
    assert chain_settlement_step(round=round, now=now) is False  # proposed, window open
    guardian = Wallet.objects.get(user=tournament.sponsor).address
    with use_gateway() as gateway:
        gateway.veto_settlement(
            tournament_id=tournament.pk, round_id=1, reason="payouts look wrong", sender=guardian
        )
        closed_at = gateway.round_state(tournament.pk, 1)["closed_at"]
    abandon_at = closed_at + ABANDON_AFTER_SECONDS
    leaver = Payout.objects.filter(round=round, stake_at_risk__gt=0).order_by("model_id").first().model
    chain_request_release_from_dev_wallet(model=leaver, amount=leaver.stake)
    window_ends_at = RoundSettlement.objects.get(round=round).window_ends_at
    for moment in (window_ends_at + timedelta(seconds=60), datetime.fromtimestamp(abandon_at - 60, UTC)):
        with pytest.raises(Conflict, match="the guardian vetoed the settlement of round 1") as refused:
            chain_settlement_step(round=round, now=moment)
        assert refused.value.code == "settlement_vetoed"
        assert datetime.fromtimestamp(abandon_at, UTC).isoformat() in refused.value.message
        with use_gateway() as gateway:
            onchain = gateway.round_state(tournament.pk, 1)
            assert not gateway.can_release(leaver.pk)  # the disputed round still holds it
        # Nothing was re-proposed over the veto, nothing finalized or paid.
        assert onchain["status_name"] == "vetoed" and onchain["applied_count"] == 0
    round = round_settle(round=round, now=datetime.fromtimestamp(abandon_at, UTC))
    assert round.state == RoundState.SETTLED
    detail = round.transitions.order_by("-pk").first().detail
    assert detail.startswith("abandoned on-chain 90 days after its close, unsettled (root 0x")
    assert detail.endswith("): no payout applied; every stake at risk released")
    settlement = RoundSettlement.objects.get(round=round)
    assert settlement.abandoned_tx.startswith("0x") and settlement.completed
    with use_gateway() as gateway:
        onchain = gateway.round_state(tournament.pk, 1)
        assert onchain["status_name"] == "abandoned" and onchain["applied_count"] == 0
        assert gateway.can_release(leaver.pk)
    assert set(Payout.objects.filter(round=round).values_list("state", flat=True)) == {PayoutState.VOID}
    chain_index()
    assert not IndexedEvent.objects.filter(name="LeafApplied").exists()
    assert IndexedEvent.objects.filter(name="RoundAbandoned", args__round_id=1).count() == 1


def test_a_round_opens_on_chain_and_its_stakes_at_risk_are_read_at_the_close_block(tournament, monkeypatch):
    """Releases sent after the platform's close but before the chain's hold the round's
    stake; a mirror that lags behind the chain is corrected from the contract."""
    from chain import tasks
    from chain.models import Wallet
    from chain.services import chain_post_commitments, chain_stake_from_dev_wallet
    from tournaments.models import StakeSnapshot

    now = tournament.first_round_at
    advance(now=now, tournaments=[tournament])
    round = tournament.rounds.get(number=1)
    assert round.state == RoundState.OPEN
    assert RoundSettlement.objects.get(round=round).opened_tx.startswith("0x")
    with use_gateway() as gateway:
        assert gateway.round_state(tournament.pk, 1)["opened_at"] > 0
    # The commitments post is held back, as if its task were still queued.
    monkeypatch.setattr(tasks.post_commitments, "delay", lambda *args, **kwargs: None)
    while round.state == RoundState.OPEN:
        now += timedelta(seconds=5)
        advance(now=now, tournaments=[tournament])
        round.refresh_from_db()
    assert not RoundSettlement.objects.get(round=round).commitments_tx
    leaver, lagging, topper = ModelSlot.objects.filter(tournament=tournament).order_by("pk")[:3]
    snapshot = dict(StakeSnapshot.objects.filter(round=round).values_list("model_id", "amount"))
    assert snapshot[leaver.pk] == leaver.stake > 0
    close_block = RoundSettlement.objects.get(round=round).close_block
    assert close_block is not None
    with use_gateway() as gateway:
        gateway.request_release(
            model_id=leaver.pk, amount=leaver.stake, sender=Wallet.objects.get(user=leaver.owner).address
        )
    # A deposit after the close (the scores will be public before the post, if its task
    # stalls) must not become stake at risk.
    chain_stake_from_dev_wallet(model=topper, amount=10 * topper.stake)
    StakeSnapshot.objects.filter(round=round, model=lagging).update(amount=1)  # a mirror gone wrong
    state = chain_post_commitments(round=round)
    with use_gateway() as gateway:
        posted_block = gateway.receipt(state.commitments_tx)["block"]
        assert gateway.stake_of(leaver.pk, block=posted_block) == 0
        assert gateway.stake_of(topper.pk, block=posted_block) == 11 * topper.stake
    assert state.stakes_block == close_block < posted_block
    corrected = dict(StakeSnapshot.objects.filter(round=round).values_list("model_id", "amount"))
    assert corrected[leaver.pk] == leaver.stake  # still at risk: the release waits for round 1
    assert corrected[lagging.pk] == lagging.stake  # read from the contract, not the mirror
    assert corrected[topper.pk] == topper.stake  # as at the close, without the later deposit
    assert chain_post_commitments(round=round).stakes_block == close_block  # once


def test_a_round_abandoned_after_a_partial_apply_keeps_the_applied_payouts_settled(
    tournament, settings, monkeypatch
):
    """The keeper died after the first batch of leaves; 90 days on, someone abandons the
    round. The payouts whose leaves the chain applied are settled (their stakes moved), the
    rest void; the finalized reserve is not counted twice meanwhile."""
    from datetime import UTC, datetime

    from chain.gateway import ChainGateway
    from chain.services import ABANDON_AFTER_SECONDS
    from tournaments.ledger import ledger
    from tournaments.services.lifecycle import round_settle

    round, now = _resolved_round_1(tournament)
    assert chain_settlement_step(round=round, now=now) is False  # proposed
    window_end = RoundSettlement.objects.get(round=round).window_ends_at
    settings.CHAIN_APPLY_BATCH = 5
    real, calls = ChainGateway.apply_leaves, []

    def node_dies_after_one_batch(self, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("node timed out")
        return real(self, **kwargs)

    monkeypatch.setattr(ChainGateway, "apply_leaves", node_dies_after_one_batch)
    with pytest.raises(RuntimeError, match="node timed out"):
        chain_settlement_step(round=round, now=window_end + timedelta(seconds=1))
    monkeypatch.setattr(ChainGateway, "apply_leaves", real)
    pending = Payout.objects.filter(round=round, state=PayoutState.PENDING)
    chain_index()  # the step's own record rolled back with it; the indexer saw the finalize
    assert not ledger().not_yet_reserved(pending).exists()  # its reserve is not counted twice
    with use_gateway() as gateway:
        onchain = gateway.round_state(tournament.pk, 1)
        assert (onchain["status_name"], onchain["applied_count"]) == ("finalized", 5)
        abandon_at = onchain["closed_at"] + ABANDON_AFTER_SECONDS
        gateway.advance_time(abandon_at - gateway.block_timestamp())
        gateway.abandon_round(tournament_id=tournament.pk, round_id=1, sender=gateway.dev_accounts[7])
    round = round_settle(round=round, now=datetime.fromtimestamp(abandon_at + 5, UTC))
    assert round.state == RoundState.SETTLED
    chain_index()
    applied = set(
        IndexedEvent.objects.filter(name="LeafApplied", args__round_id=1).values_list("args__model_id", flat=True)
    )
    states = dict(Payout.objects.filter(round=round).values_list("model_id", "state"))
    assert len(applied) == 5
    assert {states[m] for m in applied} == {PayoutState.SETTLED}
    assert {s for m, s in states.items() if m not in applied} == {PayoutState.VOID}
    assert "5 payout(s) applied before it, the rest void" in round.transitions.order_by("-pk").first().detail
