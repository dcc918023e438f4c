"""ArenaStaking: commitments, propose / veto / finalize, applying leaves, pool and burn limits."""

import boa
import pytest

from chain.settlement import Payout, build_commitments, build_settlement
from chain.tests.contract_world import (
    OTHER_TOURNAMENT,
    POOL,
    STAKE,
    STATUS_COMPLETED,
    STATUS_FINALIZED,
    STATUS_PROPOSED,
    STATUS_VETOED,
    TOURNAMENT,
    WINDOW,
    event_names,
    leaf_input,
)
from core.merkle import EMPTY_ROOT, MerkleTree, settlement_leaf_hash

SUBMISSIONS = [bytes([i]) * 32 for i in range(1, 6)]


# --- commitments ---------------------------------------------------------------------


def test_commitments_root_is_posted_once_and_verifies_each_submission(world):
    world.close(1, SUBMISSIONS)
    commitments = build_commitments(SUBMISSIONS)
    stored = world.staking.rounds(TOURNAMENT, 1)
    assert stored.closed and stored.commitments_root == commitments.root
    assert stored.submission_count == 5 and stored.close_ordinal == 0
    for submission in SUBMISSIONS:
        proof = commitments.proof_for(submission)
        assert world.staking.verify_commitment(TOURNAMENT, 1, submission, proof)
    assert not world.staking.verify_commitment(
        TOURNAMENT, 1, b"\x09" * 32, commitments.proof_for(SUBMISSIONS[0])
    )
    with (
        boa.env.prank(world.operator),
        boa.reverts("ArenaStaking: commitments root already posted for this round"),
    ):
        world.staking.post_commitments_root(TOURNAMENT, 1, commitments.root, 5)


def test_commitments_root_must_be_zero_exactly_without_submissions(world):
    with boa.env.prank(world.operator):
        with boa.reverts("ArenaStaking: root must be zero exactly when there are no submissions"):
            world.staking.post_commitments_root(TOURNAMENT, 1, EMPTY_ROOT, 3)
        with boa.reverts("ArenaStaking: root must be zero exactly when there are no submissions"):
            world.staking.post_commitments_root(TOURNAMENT, 1, b"\x01" * 32, 0)


# --- propose / veto / finalize -------------------------------------------------------


def test_propose_needs_a_closed_round(world):
    settlement = world.build(1, {1: 10})
    with boa.reverts("ArenaStaking: round is not closed (no commitments root)"):
        world.propose(settlement)


def test_propose_twice_is_refused(world):
    world.close(1)
    settlement = world.build(1, {1: 10})
    world.propose(settlement)
    with boa.reverts("ArenaStaking: settlement already proposed"):
        world.propose(settlement)


def test_propose_checks_rewards_against_the_pool(world):
    world.close(1)
    settlement = world.build(1, {1: POOL + 1})
    with boa.reverts("ArenaStaking: reward pool is smaller than the total rewards"):
        world.propose(settlement)


def test_apply_before_finalize_is_refused(world):
    world.close(1)
    settlement = world.build(1, {1: 10, 2: -5})
    with boa.reverts("ArenaStaking: settlement not finalized"):
        world.apply(settlement)
    world.propose(settlement)
    with boa.reverts("ArenaStaking: settlement not finalized"):
        world.apply(settlement)


def test_finalize_waits_for_the_challenge_window(world):
    world.close(1)
    settlement = world.build(1, {1: 10})
    world.propose(settlement)
    ends = world.staking.rounds(TOURNAMENT, 1).challenge_ends
    assert ends == boa.env.timestamp + WINDOW
    boa.env.time_travel(seconds=WINDOW - 1)
    with boa.reverts("ArenaStaking: challenge window still open"):
        world.staking.finalize_settlement(TOURNAMENT, 1)
    boa.env.time_travel(seconds=1)
    with boa.env.prank(world.outsider):  # anyone may finalize
        world.staking.finalize_settlement(TOURNAMENT, 1)
    assert world.staking.rounds(TOURNAMENT, 1).status == STATUS_FINALIZED
    assert world.staking.pool_of(TOURNAMENT) == POOL - 10
    with boa.reverts("ArenaStaking: settlement already finalized"):
        world.staking.finalize_settlement(TOURNAMENT, 1)


def test_finalize_without_proposal_is_refused(world):
    with boa.reverts("ArenaStaking: no proposed settlement to finalize"):
        world.staking.finalize_settlement(TOURNAMENT, 1)


def test_veto_then_repropose_a_corrected_root(world):
    world.close(1)
    wrong = world.build(1, {1: 400, 2: -10})
    world.propose(wrong)
    with boa.env.prank(world.guardian):
        world.staking.veto_settlement(TOURNAMENT, 1, "model 1 over-paid")
    assert event_names(world.staking) == ["SettlementVetoed"]
    vetoed = world.staking.rounds(TOURNAMENT, 1)
    assert (vetoed.status, vetoed.vetoes) == (STATUS_VETOED, 1)
    with boa.reverts("ArenaStaking: no proposed settlement to finalize"):
        world.staking.finalize_settlement(TOURNAMENT, 1)

    right = world.build(1, {1: 40, 2: -10})
    world.propose(right)
    assert world.staking.rounds(TOURNAMENT, 1).status == STATUS_PROPOSED
    world.finalize_after_window(right)
    # Proofs of the vetoed root are worthless now.
    with boa.reverts("ArenaStaking: invalid Merkle proof"):
        world.apply(wrong, [1])
    world.apply(right)
    assert world.staking.stake_of(1) == STAKE + 40
    assert world.staking.stake_of(2) == STAKE - 10
    assert world.staking.rounds(TOURNAMENT, 1).status == STATUS_COMPLETED


def test_veto_after_the_window_is_refused(world):
    world.close(1)
    settlement = world.build(1, {1: 10})
    world.propose(settlement)
    boa.env.time_travel(seconds=WINDOW)
    with boa.env.prank(world.guardian), boa.reverts("ArenaStaking: challenge window is over"):
        world.staking.veto_settlement(TOURNAMENT, 1, "too late")


def test_veto_without_proposal_is_refused(world):
    with boa.env.prank(world.guardian), boa.reverts("ArenaStaking: no proposed settlement to veto"):
        world.staking.veto_settlement(TOURNAMENT, 1, "nothing")


def test_finalized_settlement_cannot_be_reproposed_or_vetoed(world):
    settlement = world.settle(1, {1: 10, 2: 0})
    with boa.reverts("ArenaStaking: settlement already finalized"):
        world.propose(settlement)
    with boa.env.prank(world.guardian), boa.reverts("ArenaStaking: no proposed settlement to veto"):
        world.staking.veto_settlement(TOURNAMENT, 1, "late")


# --- applying leaves -----------------------------------------------------------------


def test_full_settlement_pays_rewards_into_stake_and_burns_losses(world):
    supply = world.token.totalSupply()
    settlement = world.settle(1, {1: 120, 2: -300, 3: 0})
    names = event_names(world.staking)  # of the last transaction: the apply batch
    assert names.count("LeafApplied") == 3
    assert names[-2:] == ["SettlementCompleted", "RoundsSettled"]
    assert world.staking.stake_of(1) == STAKE + 120
    assert world.staking.stake_of(2) == STAKE - 300
    assert world.staking.stake_of(3) == STAKE
    assert world.staking.pool_of(TOURNAMENT) == POOL - 120
    assert world.token.totalSupply() == supply - 300
    assert world.token.balanceOf(world.staking.address) == 3 * STAKE + POOL - 300
    done = world.staking.rounds(TOURNAMENT, 1)
    assert (done.status, done.applied_count, done.rewarded, done.burned) == (
        STATUS_COMPLETED,
        3,
        120,
        300,
    )
    assert all(world.staking.is_applied(TOURNAMENT, 1, m) for m in (1, 2, 3))
    assert settlement.total_rewards == 120 and settlement.total_burns == 300


def test_leaves_apply_in_several_batches(world):
    world.close(1)
    settlement = world.build(1, {1: 5, 2: -7, 3: 9})
    world.propose(settlement)
    world.finalize_after_window(settlement)
    world.apply(settlement, [2])
    assert world.staking.rounds(TOURNAMENT, 1).status == STATUS_FINALIZED
    world.apply(settlement, [1, 3])
    assert world.staking.rounds(TOURNAMENT, 1).status == STATUS_COMPLETED
    assert [world.staking.stake_of(m) for m in (1, 2, 3)] == [STAKE + 5, STAKE - 7, STAKE + 9]


def test_double_apply_is_refused_across_and_within_batches(world):
    world.close(1)
    settlement = world.build(1, {1: 5, 2: 6})
    world.propose(settlement)
    world.finalize_after_window(settlement)
    world.apply(settlement, [1])
    with boa.reverts("ArenaStaking: leaf already applied"):
        world.apply(settlement, [1])
    leaf, proof = next(settlement.leaves_with_proofs())
    with boa.reverts("ArenaStaking: leaf already applied"):
        world.staking.apply_leaves(TOURNAMENT, 1, [leaf_input(leaf, proof)] * 2)
    assert world.staking.stake_of(1) == STAKE + 5


@pytest.mark.parametrize(
    "tamper",
    [
        lambda leaf, proof: (leaf[0], leaf[1], leaf[2], leaf[3] + 1, proof),  # delta
        lambda leaf, proof: (leaf[0], leaf[1], leaf[2] + 1, leaf[3], proof),  # stake at risk
        lambda leaf, proof: (leaf[0], leaf[1], leaf[2], leaf[3], proof[1:]),  # short proof
        lambda leaf, proof: (leaf[0], leaf[1], leaf[2], leaf[3], [b"\x11" * 32] + proof[1:]),
    ],
    ids=["delta", "stake_at_risk", "short_proof", "wrong_sibling"],
)
def test_wrong_proof_is_refused(world, tamper):
    world.close(1)
    settlement = world.build(1, {1: 5, 2: -6, 3: 7})
    world.propose(settlement)
    world.finalize_after_window(settlement)
    leaf, proof = next(settlement.leaves_with_proofs())
    original = leaf_input(leaf, proof)
    with boa.reverts("ArenaStaking: invalid Merkle proof"):
        world.staking.apply_leaves(TOURNAMENT, 1, [tamper(original[:4], original[4])])


def test_leaf_of_another_round_is_refused(world):
    world.close(1)
    world.close(2)
    round_1 = world.build(1, {1: 5, 2: 6})
    round_2 = world.build(2, {1: 5, 2: 6})
    for settlement in (round_1, round_2):
        world.propose(settlement)
    world.finalize_after_window(round_1)
    world.staking.finalize_settlement(TOURNAMENT, 2)
    leaf, proof = next(round_1.leaves_with_proofs())
    with boa.reverts("ArenaStaking: invalid Merkle proof"):
        world.staking.apply_leaves(TOURNAMENT, 2, [leaf_input(leaf, proof)])


def test_leaf_for_a_model_of_another_tournament_is_refused(world):
    world.close(1, tournament=OTHER_TOURNAMENT)
    with boa.env.prank(world.sponsor):
        world.staking.fund(OTHER_TOURNAMENT, 100)
    settlement = world.build(1, {9: 0, 1: 5}, tournament=OTHER_TOURNAMENT)
    world.propose(settlement)
    world.finalize_after_window(settlement)
    with boa.reverts("ArenaStaking: model is not registered in this tournament"):
        world.apply(settlement, [1])


def test_leaf_owner_must_be_the_model_owner(world):
    world.close(1)
    forged = build_settlement(
        tournament_id=TOURNAMENT,
        round_id=1,
        payouts=[{"model_id": 1, "owner": world.bob, "stake_at_risk": STAKE, "delta": 5}],
    )
    world.propose(forged)
    world.finalize_after_window(forged)
    with boa.reverts("ArenaStaking: leaf owner is not the model's owner"):
        world.apply(forged)


def test_more_leaves_than_declared_are_refused(world):
    world.close(1)
    settlement = world.build(1, {1: 5, 2: 6})
    world.propose(settlement, leaf_count=1)
    world.finalize_after_window(settlement)
    with boa.reverts("ArenaStaking: more leaves than the settlement declared"):
        world.apply(settlement)


def test_empty_settlement_completes_at_finalize(world):
    world.close(1)
    with boa.env.prank(world.operator):
        with boa.reverts("ArenaStaking: totals must be zero without leaves"):
            world.staking.propose_settlement(TOURNAMENT, 1, EMPTY_ROOT, 0, 1, 0)
        with boa.reverts("ArenaStaking: root must be zero exactly when there are no leaves"):
            world.staking.propose_settlement(TOURNAMENT, 1, b"\x01" * 32, 0, 0, 0)
        world.staking.propose_settlement(TOURNAMENT, 1, EMPTY_ROOT, 0, 0, 0)
    boa.env.time_travel(seconds=WINDOW)
    world.staking.finalize_settlement(TOURNAMENT, 1)
    assert world.staking.rounds(TOURNAMENT, 1).status == STATUS_COMPLETED
    assert world.staking.tournaments(TOURNAMENT).rounds_settled == 1


# --- pool and burn limits ------------------------------------------------------------


def test_rewards_beyond_the_declared_total_are_refused(world):
    """A root whose leaves pay more than its declared total cannot drain the pool."""
    world.close(1)
    settlement = world.build(1, {1: 300, 2: 150})
    world.propose(settlement, total_rewards=400)
    world.finalize_after_window(settlement)
    assert world.staking.pool_of(TOURNAMENT) == POOL - 400
    world.apply(settlement, [1])
    with boa.reverts("ArenaStaking: rewards exceed the settlement's total"):
        world.apply(settlement, [2])
    assert world.staking.stake_of(2) == STAKE


def test_finalize_refuses_rewards_beyond_the_pool(world):
    """Two rounds proposed against the same pool: the second cannot finalize."""
    world.close(1)
    world.close(2)
    first = world.build(1, {1: 300})
    second = world.build(2, {2: 300})
    world.propose(first)
    world.propose(second)
    world.finalize_after_window(first)
    assert world.staking.pool_of(TOURNAMENT) == POOL - 300
    with boa.reverts("ArenaStaking: reward pool is smaller than the total rewards"):
        world.staking.finalize_settlement(TOURNAMENT, 2)
    with boa.env.prank(world.sponsor):
        world.staking.fund(TOURNAMENT, 100)
    world.staking.finalize_settlement(TOURNAMENT, 2)
    assert world.staking.pool_of(TOURNAMENT) == 0


def test_unused_reserve_returns_to_the_pool(world):
    world.close(1)
    settlement = world.build(1, {1: 60})
    world.propose(settlement, total_rewards=100)
    world.finalize_after_window(settlement)
    world.apply(settlement)
    assert world.staking.pool_of(TOURNAMENT) == POOL - 60


def test_burn_beyond_stake_burns_everything_and_reports_the_shortfall(world):
    world.request_release(2, 300)  # stake 700, unbonding 300
    world.close(1)
    settlement = world.build(1, {2: -STAKE})  # at risk: 1000
    world.propose(settlement)
    world.finalize_after_window(settlement)
    world.apply(settlement)
    # Burned from the stake first, then from the unbonding amount.
    model = world.staking.models(2)
    assert (model.stake, model.unbonding) == (0, 0)
    assert world.staking.rounds(TOURNAMENT, 1).burned == STAKE

    # A second round finds nothing left to burn: the whole loss is a shortfall.
    world.close(2)
    empty_handed = build_settlement(
        tournament_id=TOURNAMENT,
        round_id=2,
        payouts=[{"model_id": 2, "owner": world.bob, "stake_at_risk": 400, "delta": -250}],
    )
    world.propose(empty_handed)
    world.finalize_after_window(empty_handed)
    world.apply(empty_handed)
    logs = world.staking.get_logs()
    shortfalls = [e for e in logs if type(e).__name__ == "BurnShortfall"]
    assert [(e.model_id, e.shortfall) for e in shortfalls] == [(2, 250)]
    applied = next(e for e in logs if type(e).__name__ == "LeafApplied")
    assert (applied.delta, applied.burned, applied.stake) == (-250, 0, 0)
    assert world.staking.rounds(TOURNAMENT, 2).burned == 0


def test_partial_burn_takes_the_rest_from_unbonding(world):
    world.request_release(3, 400)  # stake 600, unbonding 400
    world.close(1)
    settlement = world.build(1, {3: -750})
    world.propose(settlement)
    world.finalize_after_window(settlement)
    world.apply(settlement)
    names = event_names(world.staking)
    assert "LeafApplied" in names and "BurnShortfall" not in names
    model = world.staking.models(3)
    assert (model.stake, model.unbonding) == (0, 250)


def test_burn_above_the_stake_at_risk_is_refused(world):
    world.close(1)
    honest = build_settlement(
        tournament_id=TOURNAMENT,
        round_id=1,
        payouts=[Payout(model_id=1, owner=world.alice, stake_at_risk=100, delta=-100)],
    )
    # The Python builder refuses such a leaf outright ...
    with pytest.raises(ValueError, match="exceeds stake at risk"):
        build_settlement(
            tournament_id=TOURNAMENT,
            round_id=1,
            payouts=[Payout(model_id=1, owner=world.alice, stake_at_risk=100, delta=-101)],
        )
    # ... and the contract refuses it even when the root contains it.
    bad = settlement_leaf_hash(TOURNAMENT, 1, 1, world.alice, 100, -101)
    tree = MerkleTree([bad, honest.leaves[0].hash])
    with boa.env.prank(world.operator):
        world.staking.propose_settlement(TOURNAMENT, 1, tree.root, 1, 0, 101)
    boa.env.time_travel(seconds=WINDOW)
    world.staking.finalize_settlement(TOURNAMENT, 1)
    with boa.reverts("ArenaStaking: burn exceeds the leaf's stake at risk"):
        world.staking.apply_leaves(TOURNAMENT, 1, [(1, world.alice, 100, -101, tree.proof(bad))])


def test_burns_beyond_the_declared_total_are_refused(world):
    world.close(1)
    settlement = world.build(1, {1: -50, 2: -50})
    world.propose(settlement, total_burns=60)
    world.finalize_after_window(settlement)
    world.apply(settlement, [1])
    with boa.reverts("ArenaStaking: burns exceed the settlement's total"):
        world.apply(settlement, [2])
