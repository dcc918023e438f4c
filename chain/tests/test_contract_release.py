"""ArenaStaking: staking, funding and the release lock (delay + rounds closed before the request)."""

import boa

from chain.tests.contract_world import (
    ABANDON_AFTER,
    MINTED,
    POOL,
    RELEASE_DELAY,
    STAKE,
    STATUS_ABANDONED,
    TOURNAMENT,
    WINDOW,
    event_names,
)

LOCKED = "ArenaStaking: stake locked until the rounds closed before the request are settled"


def test_stake_pulls_tokens_from_the_owner(world):
    world.stake(1, 250)
    assert event_names(world.staking) == ["Transfer", "Staked"]
    assert world.staking.stake_of(1) == STAKE + 250
    assert world.token.balanceOf(world.alice) == MINTED - STAKE - 250
    assert world.token.balanceOf(world.staking.address) == 3 * STAKE + POOL + 250


def test_stake_needs_an_allowance(world):
    with boa.env.prank(world.alice):
        world.token.approve(world.staking.address, 10)
        with boa.reverts("erc20: insufficient allowance"):
            world.staking.stake(1, 11)
    assert world.staking.stake_of(1) == STAKE


def test_stake_on_unregistered_model_is_refused(world):
    with boa.env.prank(world.alice), boa.reverts("ArenaStaking: model not registered"):
        world.staking.stake(404, 1)


def test_fund_adds_to_the_pool_of_a_registered_tournament(world):
    with boa.env.prank(world.sponsor):
        world.staking.fund(TOURNAMENT, 75)
        with boa.reverts("ArenaStaking: tournament not registered"):
            world.staking.fund(404, 1)
    assert world.staking.pool_of(TOURNAMENT) == POOL + 75
    assert world.token.balanceOf(world.sponsor) == MINTED - POOL - 75


def test_release_after_the_delay_when_no_round_is_pending(world):
    world.request_release(1, 400)
    model = world.staking.models(1)
    assert (model.stake, model.unbonding) == (STAKE - 400, 400)
    boa.env.time_travel(seconds=RELEASE_DELAY - 1)
    assert not world.staking.can_release(1)
    with boa.env.prank(world.alice), boa.reverts("ArenaStaking: release delay has not elapsed"):
        world.staking.release(1)
    boa.env.time_travel(seconds=1)
    assert world.staking.can_release(1)
    world.release(1)
    assert world.token.balanceOf(world.alice) == MINTED - STAKE + 400
    assert world.staking.models(1).unbonding == 0
    with boa.env.prank(world.alice), boa.reverts("ArenaStaking: nothing to release"):
        world.staking.release(1)


def test_release_while_a_round_it_backed_is_unsettled_is_refused(world):
    world.close(1)  # the round snapshots alice's full stake
    world.request_release(1, STAKE)
    boa.env.time_travel(seconds=RELEASE_DELAY)
    assert not world.staking.can_release(1)
    with boa.env.prank(world.alice), boa.reverts(LOCKED):
        world.staking.release(1)

    # Finalized is not enough: the burn must have been applied first.
    settlement = world.build(1, {1: -100})
    world.propose(settlement)
    world.finalize_after_window(settlement)
    with boa.env.prank(world.alice), boa.reverts(LOCKED):
        world.staking.release(1)

    world.apply(settlement)
    assert world.staking.tournaments(TOURNAMENT).rounds_settled == 1
    world.release(1)
    assert world.token.balanceOf(world.alice) == MINTED - STAKE + (STAKE - 100)


def test_rounds_closed_after_the_request_do_not_lock_it(world):
    world.request_release(1, 300)
    world.close(1)
    boa.env.time_travel(seconds=RELEASE_DELAY)
    world.release(1)
    assert world.staking.models(1).unbonding == 0


def test_lock_waits_for_every_earlier_round_even_when_settled_out_of_order(world):
    world.close(1)
    world.close(2)
    world.request_release(1, 100)
    boa.env.time_travel(seconds=RELEASE_DELAY)
    world.settle(2, {1: 1})
    assert world.staking.tournaments(TOURNAMENT).rounds_settled == 0
    with boa.env.prank(world.alice), boa.reverts(LOCKED):
        world.staking.release(1)
    world.settle(1, {1: 2})
    assert world.staking.tournaments(TOURNAMENT).rounds_settled == 2
    world.release(1)
    assert world.staking.models(1).stake == STAKE - 100 + 3


def test_new_request_adds_up_and_restarts_the_clock(world):
    world.request_release(2, 100)
    boa.env.time_travel(seconds=RELEASE_DELAY - 10)
    world.request_release(2, 50)
    model = world.staking.models(2)
    assert (model.stake, model.unbonding) == (STAKE - 150, 150)
    boa.env.time_travel(seconds=10)
    with boa.env.prank(world.bob), boa.reverts("ArenaStaking: release delay has not elapsed"):
        world.staking.release(2)
    boa.env.time_travel(seconds=RELEASE_DELAY)
    world.release(2)
    assert world.token.balanceOf(world.bob) == MINTED - STAKE + 150


def test_request_checks_the_amount(world):
    with boa.env.prank(world.alice):
        with boa.reverts("ArenaStaking: amount is zero"):
            world.staking.request_release(1, 0)
        with boa.reverts("ArenaStaking: release exceeds the model's stake"):
            world.staking.request_release(1, STAKE + 1)


def test_rewards_compound_into_stake_and_can_be_released(world):
    world.settle(1, {1: 200})
    world.request_release(1, STAKE + 200)
    boa.env.time_travel(seconds=RELEASE_DELAY)
    world.release(1)
    assert world.token.balanceOf(world.alice) == MINTED + 200


def test_stalled_round_can_be_abandoned_after_90_days_to_unlock_releases(world):
    world.close(1)
    world.request_release(1, 500)
    settlement = world.build(1, {1: 100, 2: -50})
    world.propose(settlement)
    world.finalize_after_window(settlement)  # reserves 100 of the pool
    world.apply(settlement, [2])  # the operator then stalls before model 1's leaf
    boa.env.time_travel(seconds=ABANDON_AFTER - WINDOW - 1)
    with boa.reverts("ArenaStaking: round cannot be abandoned before 90 days after close"):
        world.staking.abandon_round(TOURNAMENT, 1)
    boa.env.time_travel(seconds=WINDOW + 1)
    with boa.env.prank(world.outsider):  # anyone may do it
        world.staking.abandon_round(TOURNAMENT, 1)
    assert world.staking.rounds(TOURNAMENT, 1).status == STATUS_ABANDONED
    assert world.staking.pool_of(TOURNAMENT) == POOL  # the unpaid reserve came back
    assert world.staking.tournaments(TOURNAMENT).rounds_settled == 1
    with boa.reverts("ArenaStaking: settlement not finalized"):
        world.apply(settlement, [1])
    with boa.reverts("ArenaStaking: round already settled"):
        world.staking.abandon_round(TOURNAMENT, 1)
    with boa.reverts("ArenaStaking: round was abandoned"):
        world.propose(settlement)
    world.release(1)
    assert world.token.balanceOf(world.alice) == MINTED - STAKE + 500
    assert world.staking.stake_of(2) == STAKE - 50


def test_completed_or_open_rounds_cannot_be_abandoned(world):
    with boa.reverts("ArenaStaking: round is not closed (no commitments root)"):
        world.staking.abandon_round(TOURNAMENT, 1)
    world.settle(1, {1: 1})
    boa.env.time_travel(seconds=ABANDON_AFTER)
    with boa.reverts("ArenaStaking: round already settled"):
        world.staking.abandon_round(TOURNAMENT, 1)


# --- Rounds opened on-chain: a release sent while one is open waits for it ----------------


def test_a_release_requested_while_a_round_is_open_waits_for_that_round(world):
    world.open(1)
    assert world.staking.rounds(TOURNAMENT, 1).opened_at > 0
    world.request_release(1, 300)
    assert world.staking.models(1).unbonding_waits_for == 1
    world.close(1)
    boa.env.time_travel(seconds=RELEASE_DELAY)
    with boa.env.prank(world.alice), boa.reverts(LOCKED):
        world.staking.release(1)
    # The round may still burn the released amount: stake first, then unbonding.
    assert world.staking.stake_at_risk(1, 1) == STAKE
    world.settle(1, {1: -(STAKE - 100)})
    model = world.staking.models(1)
    assert (model.stake, model.unbonding) == (0, 100)
    world.release(1)
    assert world.token.balanceOf(world.alice) == MINTED - STAKE + 100


def test_stake_at_risk_counts_unbonding_only_for_the_rounds_it_waits_for(world):
    world.request_release(2, 100)  # before round 1 opened: round 1 cannot burn it
    world.open(1)
    assert world.staking.stake_at_risk(2, 1) == STAKE - 100
    world.request_release(2, 50)  # while round 1 is open: now the whole 150 waits for it
    assert world.staking.stake_at_risk(2, 1) == STAKE
    assert world.staking.models(2).unbonding == 150


def test_rounds_are_ordered_by_opening_not_closing(world):
    world.open(1)
    world.open(2)
    world.close(2)
    world.close(1)
    assert (world.staking.rounds(TOURNAMENT, 1).close_ordinal, world.staking.rounds(TOURNAMENT, 2).close_ordinal) == (0, 1)
    world.request_release(1, 10)
    assert world.staking.models(1).unbonding_waits_for == 2


def test_a_round_is_opened_once_and_only_by_the_operator(world):
    world.open(1)
    with boa.env.prank(world.operator), boa.reverts("ArenaStaking: round already opened"):
        world.staking.open_round(TOURNAMENT, 1)
    with boa.env.prank(world.alice), boa.reverts("ArenaStaking: caller is not the operator"):
        world.staking.open_round(TOURNAMENT, 2)


def test_a_round_opened_and_never_closed_can_be_abandoned_after_90_days(world):
    world.open(1)
    world.request_release(1, 100)
    boa.env.time_travel(seconds=ABANDON_AFTER - 10)
    with boa.reverts("ArenaStaking: round cannot be abandoned before 90 days after it opened"):
        world.staking.abandon_round(TOURNAMENT, 1)
    boa.env.time_travel(seconds=10)
    world.staking.abandon_round(TOURNAMENT, 1)
    assert world.staking.rounds(TOURNAMENT, 1).status == STATUS_ABANDONED
    world.release(1)
    assert world.staking.models(1).unbonding == 0
