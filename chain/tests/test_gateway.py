"""ChainGateway against a real chain: the in-process py-evm one and an anvil node.

Every test runs on both backends (the anvil half carries the ``anvil`` marker and is
skipped, with the reason, only when the anvil binary is not installed).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from chain._transactions import TimeExhausted  # web3 stays behind the gateway modules
from chain.gateway import ChainError, ChainGateway, ChainRevert
from chain.settlement import Payout, Settlement, build_commitments, build_settlement

STAKE = 1_000
POOL = 600
WINDOW = 120


@dataclass
class Setup:
    tournament_id: int
    guardian: str
    sponsor: str
    owners: dict[int, str]


def set_up(gateway: ChainGateway, new_id, models: int = 3, stake: int = STAKE) -> Setup:
    guardian, sponsor, *modelers = gateway.dev_accounts
    tournament_id = new_id()
    gateway.register_tournament(
        tournament_id=tournament_id, guardian=guardian, challenge_window=WINDOW
    )
    owners = {}
    for i in range(models):
        model_id = new_id()
        owner = modelers[i % len(modelers)]
        gateway.register_model(model_id=model_id, tournament_id=tournament_id, owner=owner)
        owners[model_id] = owner
        if stake:
            gateway.mint(to=owner, amount=stake)
            gateway.stake(model_id=model_id, amount=stake, sender=owner)
    gateway.mint(to=sponsor, amount=POOL)
    gateway.fund(tournament_id=tournament_id, amount=POOL, sender=sponsor)
    return Setup(tournament_id=tournament_id, guardian=guardian, sponsor=sponsor, owners=owners)


def settlement_for(
    setup: Setup, round_id: int, deltas: list[int], stake: int = STAKE
) -> Settlement:
    payouts = [
        Payout(model_id=model_id, owner=owner, stake_at_risk=stake, delta=delta)
        for (model_id, owner), delta in zip(setup.owners.items(), deltas, strict=True)
    ]
    return build_settlement(tournament_id=setup.tournament_id, round_id=round_id, payouts=payouts)


def close_and_propose(gateway: ChainGateway, settlement: Settlement) -> None:
    gateway.post_commitments_root(
        tournament_id=settlement.tournament_id,
        round_id=settlement.round_id,
        root=b"\x00" * 32,
        submission_count=0,
    )
    gateway.propose_settlement(
        tournament_id=settlement.tournament_id,
        round_id=settlement.round_id,
        root=settlement.root,
        leaf_count=settlement.leaf_count,
        total_rewards=settlement.total_rewards,
        total_burns=settlement.total_burns,
    )


def finalize(gateway: ChainGateway, settlement: Settlement) -> None:
    gateway.advance_time(WINDOW)
    gateway.finalize_settlement(
        tournament_id=settlement.tournament_id, round_id=settlement.round_id
    )


# --- deployment and reads ------------------------------------------------------------


def test_deployment_is_recorded_and_announced(gateway):
    deployment = gateway.deployment
    assert deployment["chain_id"] == gateway.chain_id
    assert deployment["token"] != deployment["staking"]
    events = gateway.events(deployment["block"], deployment["block"], names={"OperatorChanged"})
    assert [e["args"]["new_operator"] for e in events] == [gateway.operator]
    assert events[0]["contract"] == "staking"


def test_stake_is_readable_at_a_past_block(gateway, new_id):
    setup = set_up(gateway, new_id, models=1)
    ((model_id, owner),) = setup.owners.items()
    before = gateway.block_number()
    gateway.mint(to=owner, amount=250)
    result = gateway.stake(model_id=model_id, amount=250, sender=owner)
    assert result.sent and result.gas_used > 0
    assert [e["name"] for e in result.events if e["contract"] == "staking"] == ["Staked"]
    assert gateway.stake_of(model_id) == STAKE + 250
    assert gateway.stake_of(model_id, block=before) == STAKE
    assert gateway.model(model_id)["owner"] == owner
    assert gateway.model(model_id, block=before)["stake"] == STAKE


def test_revert_reason_reaches_the_caller(gateway, new_id):
    setup = set_up(gateway, new_id, models=1)
    ((model_id, owner),) = setup.owners.items()
    with pytest.raises(ChainRevert) as caught:
        gateway.stake(model_id=model_id, amount=1, sender=setup.sponsor)
    assert caught.value.reason == "ArenaStaking: caller is not the model's owner"
    with pytest.raises(ChainError, match="holds no key"):
        gateway.stake(model_id=model_id, amount=1, sender="0x" + "12" * 20)
    # The failed attempts left the nonce bookkeeping usable.
    gateway.mint(to=owner, amount=1)
    assert gateway.stake(model_id=model_id, amount=1, sender=owner).sent


# --- Merkle proofs checked by the deployed contract ----------------------------------


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 13])
def test_contract_accepts_python_proofs_for_every_leaf(gateway, new_id, count):
    setup = set_up(gateway, new_id, models=count, stake=0)
    settlement = settlement_for(setup, 1, [(-1) ** i * (i + 1) for i in range(count)])
    close_and_propose(gateway, settlement)
    for leaf, proof in settlement.leaves_with_proofs():
        assert gateway.settlement_leaf_hash(leaf) == leaf.hash
        assert gateway.verify_settlement_leaf(leaf, proof)
    leaf, proof = next(settlement.leaves_with_proofs())
    forged = type(leaf)(**{**leaf.__dict__, "delta": leaf.delta + 1})
    assert not gateway.verify_settlement_leaf(forged, proof)


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_contract_accepts_commitment_proofs(gateway, new_id, count):
    setup = set_up(gateway, new_id, models=0, stake=0)
    submissions = [new_id().to_bytes(32, "big") for _ in range(count)]
    commitments = build_commitments(submissions)
    gateway.post_commitments_root(
        tournament_id=setup.tournament_id, round_id=1, root=commitments.root, submission_count=count
    )
    for submission in submissions:
        assert gateway.verify_commitment(
            setup.tournament_id, 1, submission, commitments.proof_for(submission)
        )
    assert not gateway.verify_commitment(
        setup.tournament_id, 1, b"\xee" * 32, commitments.proof_for(submissions[0])
    )


# --- settlement flow -----------------------------------------------------------------


def test_full_settlement_flow(gateway, new_id):
    setup = set_up(gateway, new_id, models=3)
    supply = gateway.token_total_supply()
    settlement = settlement_for(setup, 1, [200, -300, 0])
    close_and_propose(gateway, settlement)
    assert gateway.round_state(setup.tournament_id, 1)["status_name"] == "proposed"
    with pytest.raises(ChainRevert, match="challenge window still open"):
        gateway.finalize_settlement(tournament_id=setup.tournament_id, round_id=1)
    finalize(gateway, settlement)
    assert gateway.pool_of(setup.tournament_id) == POOL - 200

    results = gateway.apply_settlement(settlement, batch_size=2)
    assert [r.sent for r in results] == [True, True]
    model_ids = list(setup.owners)
    assert [gateway.stake_of(m) for m in model_ids] == [STAKE + 200, STAKE - 300, STAKE]
    assert gateway.token_total_supply() == supply - 300
    state = gateway.round_state(setup.tournament_id, 1)
    assert (state["status_name"], state["applied_count"], state["rewarded"], state["burned"]) == (
        "completed",
        3,
        200,
        300,
    )
    applied = gateway.events(results[0].block, results[-1].block, names={"LeafApplied"})
    assert [(e["args"]["model_id"], e["args"]["delta"]) for e in applied] == list(
        zip(model_ids, [200, -300, 0], strict=True)
    )
    receipt = gateway.receipt(results[-1].tx_hash)
    assert receipt["status"] == 1 and receipt["block"] == results[-1].block
    assert "SettlementCompleted" in [e["name"] for e in receipt["events"]]


def test_retry_after_success_sends_nothing_and_changes_nothing(gateway, new_id):
    setup = set_up(gateway, new_id, models=2)
    settlement = settlement_for(setup, 1, [50, -70])
    close_and_propose(gateway, settlement)
    finalize(gateway, settlement)
    gateway.apply_settlement(settlement)
    stakes = [gateway.stake_of(m) for m in setup.owners]
    block = gateway.block_number()

    retried = [
        gateway.post_commitments_root(
            tournament_id=setup.tournament_id, round_id=1, root=b"\x00" * 32, submission_count=0
        ),
        gateway.propose_settlement(
            tournament_id=setup.tournament_id,
            round_id=1,
            root=settlement.root,
            leaf_count=settlement.leaf_count,
            total_rewards=settlement.total_rewards,
            total_burns=settlement.total_burns,
        ),
        gateway.finalize_settlement(tournament_id=setup.tournament_id, round_id=1),
        *gateway.apply_settlement(settlement),
        gateway.register_model(
            model_id=next(iter(setup.owners)),
            tournament_id=setup.tournament_id,
            owner=next(iter(setup.owners.values())),
        ),
    ]
    assert [r.sent for r in retried] == [False] * 5
    assert gateway.block_number() == block
    assert [gateway.stake_of(m) for m in setup.owners] == stakes == [STAKE + 50, STAKE - 70]


def test_conflicting_resend_is_an_error_not_a_noop(gateway, new_id):
    setup = set_up(gateway, new_id, models=1, stake=0)
    settlement = settlement_for(setup, 1, [0])
    close_and_propose(gateway, settlement)
    with pytest.raises(ChainError, match="already has commitments root"):
        gateway.post_commitments_root(
            tournament_id=setup.tournament_id, round_id=1, root=b"\x01" * 32, submission_count=1
        )
    with pytest.raises(ChainError, match="in status proposed"):
        gateway.propose_settlement(
            tournament_id=setup.tournament_id,
            round_id=1,
            root=b"\x02" * 32,
            leaf_count=1,
            total_rewards=0,
            total_burns=0,
        )


def test_batch_skips_leaves_someone_else_applied(gateway, new_id):
    setup = set_up(gateway, new_id, models=3)
    settlement = settlement_for(setup, 1, [10, 20, -30])
    close_and_propose(gateway, settlement)
    finalize(gateway, settlement)
    leaves = list(settlement.leaves_with_proofs())
    # Anyone may apply: the sponsor applies the middle leaf first.
    gateway.apply_leaves(
        tournament_id=setup.tournament_id, round_id=1, leaves=[leaves[1]], sender=setup.sponsor
    )
    result = gateway.apply_leaves(tournament_id=setup.tournament_id, round_id=1, leaves=leaves)
    applied = [e["args"]["model_id"] for e in result.events if e["name"] == "LeafApplied"]
    assert applied == [leaves[0][0].model_id, leaves[2][0].model_id]
    assert [gateway.stake_of(m) for m in setup.owners] == [STAKE + 10, STAKE + 20, STAKE - 30]


def test_lost_receipt_is_settled_by_chain_state_not_by_a_resend(gateway, new_id, monkeypatch):
    """The node mined the batch but the receipt never reached us: no second apply."""
    setup = set_up(gateway, new_id, models=2)
    settlement = settlement_for(setup, 1, [40, -40])
    close_and_propose(gateway, settlement)
    finalize(gateway, settlement)
    sender = gateway._sender
    lost = []

    def receipt_lost(tx_hash):
        lost.append(tx_hash)
        raise TimeExhausted("injected: receipt lost in transit")

    monkeypatch.setattr(sender, "wait_for_receipt", receipt_lost)
    monkeypatch.setattr(sender, "fetch_receipt", lambda tx_hash: None)
    block = gateway.block_number()
    result = gateway.apply_settlement(settlement)[0]
    monkeypatch.undo()

    assert len(lost) == 1  # one send, then the state check found the leaves applied
    assert result.sent is False
    assert gateway.block_number() == block + 1
    assert [gateway.stake_of(m) for m in setup.owners] == [STAKE + 40, STAKE - 40]
    assert gateway.round_state(setup.tournament_id, 1)["applied_count"] == 2
    # The gateway's nonce bookkeeping recovers for the next transaction.
    model_id, owner = next(iter(setup.owners.items()))
    gateway.mint(to=owner, amount=5)
    assert gateway.stake(model_id=model_id, amount=5, sender=owner).sent


def test_guardian_veto_then_corrected_settlement(gateway, new_id):
    setup = set_up(gateway, new_id, models=2)
    wrong = settlement_for(setup, 1, [500, -10])
    close_and_propose(gateway, wrong)
    with pytest.raises(ChainRevert, match="caller is not the tournament's guardian"):
        gateway.veto_settlement(
            tournament_id=setup.tournament_id, round_id=1, reason="no", sender=setup.sponsor
        )
    vetoed = gateway.veto_settlement(
        tournament_id=setup.tournament_id,
        round_id=1,
        reason="model over-paid",
        sender=setup.guardian,
    )
    assert [e["args"]["reason"] for e in vetoed.events] == ["model over-paid"]
    right = settlement_for(setup, 1, [50, -10])
    gateway.propose_settlement(
        tournament_id=setup.tournament_id,
        round_id=1,
        root=right.root,
        leaf_count=right.leaf_count,
        total_rewards=right.total_rewards,
        total_burns=right.total_burns,
    )
    finalize(gateway, right)
    gateway.apply_settlement(right)
    assert [gateway.stake_of(m) for m in setup.owners] == [STAKE + 50, STAKE - 10]
    assert gateway.round_state(setup.tournament_id, 1)["vetoes"] == 1


def test_release_waits_for_the_round_then_pays_out(gateway, new_id):
    setup = set_up(gateway, new_id, models=1)
    ((model_id, owner),) = setup.owners.items()
    settlement = settlement_for(setup, 1, [-100])
    close_and_propose(gateway, settlement)
    gateway.request_release(model_id=model_id, amount=STAKE, sender=owner)
    gateway.advance_time(7 * 86400)
    assert not gateway.can_release(model_id)
    with pytest.raises(ChainRevert, match="stake locked"):
        gateway.release(model_id=model_id, sender=owner)
    gateway.finalize_settlement(tournament_id=setup.tournament_id, round_id=1)
    gateway.apply_settlement(settlement)
    balance = gateway.token_balance(owner)
    gateway.release(model_id=model_id, sender=owner)
    assert gateway.token_balance(owner) == balance + STAKE - 100


def test_events_are_the_same_whatever_the_chunk_size(gateway, new_id):
    start = gateway.block_number() + 1
    setup = set_up(gateway, new_id, models=2)
    whole = gateway.events(start, names={"Staked", "ModelRegistered", "PoolFunded"})
    chunked = gateway.events(start, names={"Staked", "ModelRegistered", "PoolFunded"}, max_range=1)
    assert whole == chunked
    assert [e["name"] for e in whole] == [
        "ModelRegistered",
        "Staked",
        "ModelRegistered",
        "Staked",
        "PoolFunded",
    ]
    funded = whole[-1]["args"]
    assert (funded["tournament_id"], funded["sponsor"], funded["amount"]) == (
        setup.tournament_id,
        setup.sponsor,
        POOL,
    )
    assert all(e["block"] >= start and e["tx_hash"].startswith("0x") for e in whole)


def test_two_gateways_sharing_the_operator_key_do_not_collide(gateway, new_id):
    """E.g. a worker restarted while the old one still runs: nonces come from the node."""
    twin = ChainGateway(
        gateway._w3,
        backend=gateway.backend,
        operator=gateway._operator,
        fixed_gas=gateway._sender.fixed_gas,
        poll_interval=0.02,
    )
    twin.attach(
        token_address=gateway.deployment["token"], staking_address=gateway.deployment["staking"]
    )
    receiver = gateway.dev_accounts[-1]
    before = gateway.token_balance(receiver)
    results = [
        gateway.mint(to=receiver, amount=1),
        twin.mint(to=receiver, amount=2),
        gateway.mint(to=receiver, amount=4),
        twin.mint(to=receiver, amount=8),
    ]
    assert all(r.sent for r in results)
    assert len({r.tx_hash for r in results}) == 4
    assert gateway.token_balance(receiver) == before + 15
