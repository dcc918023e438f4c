"""ArenaStaking arithmetic edges: zero amounts, max uint256 / int256 values, extreme ids."""

import boa

from chain.settlement import Payout, build_settlement
from chain.tests.contract_world import POOL, STAKE, STATUS_COMPLETED, TOURNAMENT, WINDOW

MAX_UINT = 2**256 - 1
INT_MIN = -(2**255)
INT_MAX = 2**255 - 1


def test_zero_amounts_are_refused(world):
    with boa.env.prank(world.alice), boa.reverts("ArenaStaking: amount is zero"):
        world.staking.stake(1, 0)
    with boa.env.prank(world.sponsor), boa.reverts("ArenaStaking: amount is zero"):
        world.staking.fund(TOURNAMENT, 0)


def test_stake_near_max_uint_settles_and_releases_exactly(world):
    """The token caps every balance at max uint256; stakes that large still add up exactly."""
    whale = boa.env.generate_address("whale")
    with boa.env.prank(world.operator):
        world.staking.register_model(77, TOURNAMENT, whale)
    world.models[77] = whale
    huge = MAX_UINT - world.token.totalSupply()  # all the supply the token has left
    world.token.mint(whale, huge)
    with boa.env.prank(whale):
        world.token.approve(world.staking.address, MAX_UINT)
        world.staking.stake(77, huge)
    with boa.reverts():  # the supply is exhausted: checked arithmetic refuses one more
        world.token.mint(whale, 1)
    world.settle(1, {77: POOL})
    assert world.staking.stake_of(77) == huge + POOL
    world.request_release(77, huge + POOL)
    boa.env.time_travel(seconds=7 * 86400)
    world.release(77)
    assert world.token.balanceOf(whale) == huge + POOL
    assert world.token.totalSupply() == MAX_UINT


def test_model_ids_zero_and_max_uint_settle_independently(world):
    edge_owner = boa.env.generate_address("edge")
    with boa.env.prank(world.operator):
        world.staking.register_model(0, TOURNAMENT, edge_owner)
        world.staking.register_model(MAX_UINT, TOURNAMENT, edge_owner)
    world.models[0] = edge_owner
    world.models[MAX_UINT] = edge_owner
    world.token.mint(edge_owner, 100)
    with boa.env.prank(edge_owner):
        world.token.approve(world.staking.address, 100)
        world.staking.stake(0, 50)
        world.staking.stake(MAX_UINT, 50)
    world.settle(1, {0: 5, MAX_UINT: -5})
    assert world.staking.stake_of(0) == 55
    assert world.staking.stake_of(MAX_UINT) == 45
    assert world.staking.is_applied(TOURNAMENT, 1, 0)
    assert world.staking.is_applied(TOURNAMENT, 1, MAX_UINT)
    # Neighbouring bits in the same bitmap words stay clear.
    assert not world.staking.is_applied(TOURNAMENT, 1, 1)
    assert not world.staking.is_applied(TOURNAMENT, 1, MAX_UINT - 1)


def test_min_int256_delta_burns_the_stake_and_reports_the_rest(world):
    world.close(1)
    settlement = build_settlement(
        tournament_id=TOURNAMENT,
        round_id=1,
        payouts=[Payout(model_id=1, owner=world.alice, stake_at_risk=2**255, delta=INT_MIN)],
    )
    assert settlement.total_burns == 2**255
    world.propose(settlement)
    world.finalize_after_window(settlement)
    world.apply(settlement)
    shortfall = next(e for e in world.staking.get_logs() if type(e).__name__ == "BurnShortfall")
    assert shortfall.shortfall == 2**255 - STAKE
    assert world.staking.stake_of(1) == 0
    assert world.staking.rounds(TOURNAMENT, 1).burned == STAKE


def test_max_int256_reward_cannot_be_proposed_against_a_small_pool(world):
    world.close(1)
    settlement = world.build(1, {1: INT_MAX})
    with boa.reverts("ArenaStaking: reward pool is smaller than the total rewards"):
        world.propose(settlement)


def test_zero_delta_leaf_only_marks_the_model_settled(world):
    supply = world.token.totalSupply()
    world.settle(1, {1: 0})
    assert world.staking.stake_of(1) == STAKE
    assert world.staking.pool_of(TOURNAMENT) == POOL
    assert world.token.totalSupply() == supply
    assert world.staking.rounds(TOURNAMENT, 1).status == STATUS_COMPLETED


def test_zero_challenge_window_finalizes_in_the_same_block(world):
    with boa.env.prank(world.guardian):
        world.staking.set_challenge_window(TOURNAMENT, 0)
    world.close(1)
    settlement = world.build(1, {2: 3})
    world.propose(settlement)
    world.staking.finalize_settlement(TOURNAMENT, 1)
    world.apply(settlement)
    assert world.staking.stake_of(2) == STAKE + 3
    # With no window there is nothing left to veto.
    world.close(2)
    settlement_2 = world.build(2, {2: 1})
    world.propose(settlement_2)
    with boa.env.prank(world.guardian), boa.reverts("ArenaStaking: challenge window is over"):
        world.staking.veto_settlement(TOURNAMENT, 2, "no window")
    boa.env.time_travel(seconds=WINDOW)  # harmless: finalize already allowed
    world.staking.finalize_settlement(TOURNAMENT, 2)
