"""ArenaStaking: every role check, two-step ownership, operator rotation."""

import boa
import pytest

from chain.tests.contract_world import OTHER_TOURNAMENT, TOURNAMENT, event_names
from core.merkle import EMPTY_ROOT

ZERO = "0x0000000000000000000000000000000000000000"
NOT_OPERATOR = "ArenaStaking: caller is not the operator"
NOT_GUARDIAN = "ArenaStaking: caller is not the tournament's guardian"
NOT_MODEL_OWNER = "ArenaStaking: caller is not the model's owner"
NOT_OWNER = "ownable: caller is not the owner"


def test_deployment_records_token_operator_and_delay(world):
    assert world.staking.token() == world.token.address
    assert world.staking.operator() == world.operator
    assert world.staking.owner() == world.owner
    assert world.staking.release_delay() == 7 * 86400


@pytest.mark.parametrize(
    "call",
    [
        lambda w: w.staking.register_tournament(99, w.guardian, 60),
        lambda w: w.staking.register_model(99, TOURNAMENT, w.alice),
        lambda w: w.staking.post_commitments_root(TOURNAMENT, 1, EMPTY_ROOT, 0),
        lambda w: w.staking.propose_settlement(TOURNAMENT, 1, EMPTY_ROOT, 0, 0, 0),
    ],
    ids=["register_tournament", "register_model", "post_commitments_root", "propose_settlement"],
)
@pytest.mark.parametrize("caller", ["owner", "guardian", "outsider"])
def test_operator_functions_refuse_everyone_else(world, call, caller):
    with boa.env.prank(getattr(world, caller)), boa.reverts(NOT_OPERATOR):
        call(world)


@pytest.mark.parametrize(
    "call",
    [
        lambda w: w.staking.veto_settlement(TOURNAMENT, 1, "wrong"),
        lambda w: w.staking.set_guardian(TOURNAMENT, w.outsider),
        lambda w: w.staking.set_challenge_window(TOURNAMENT, 1),
    ],
    ids=["veto_settlement", "set_guardian", "set_challenge_window"],
)
@pytest.mark.parametrize("caller", ["owner", "operator", "outsider"])
def test_guardian_functions_refuse_everyone_else(world, call, caller):
    with boa.env.prank(getattr(world, caller)), boa.reverts(NOT_GUARDIAN):
        call(world)


@pytest.mark.parametrize(
    "call",
    [
        lambda w: w.staking.stake(1, 10),
        lambda w: w.staking.request_release(1, 10),
        lambda w: w.staking.release(1),
    ],
    ids=["stake", "request_release", "release"],
)
@pytest.mark.parametrize("caller", ["bob", "operator", "owner"])
def test_model_owner_functions_refuse_everyone_else(world, call, caller):
    with boa.env.prank(getattr(world, caller)), boa.reverts(NOT_MODEL_OWNER):
        call(world)


@pytest.mark.parametrize(
    "call",
    [
        lambda w: w.staking.set_operator(w.outsider),
        lambda w: w.staking.set_release_delay(1),
        lambda w: w.staking.transfer_ownership(w.outsider),
    ],
    ids=["set_operator", "set_release_delay", "transfer_ownership"],
)
@pytest.mark.parametrize("caller", ["operator", "guardian", "outsider"])
def test_owner_functions_refuse_everyone_else(world, call, caller):
    with boa.env.prank(getattr(world, caller)), boa.reverts(NOT_OWNER):
        call(world)


def test_ownership_transfer_needs_acceptance_by_the_new_owner(world):
    world.staking.transfer_ownership(world.outsider)
    assert world.staking.owner() == world.owner
    assert world.staking.pending_owner() == world.outsider
    with boa.env.prank(world.operator), boa.reverts("ownable_2step: caller is not the new owner"):
        world.staking.accept_ownership()
    with boa.env.prank(world.outsider):
        world.staking.accept_ownership()
    assert world.staking.owner() == world.outsider
    with boa.reverts(NOT_OWNER):
        world.staking.set_operator(world.owner)


def test_ownership_cannot_be_renounced(world):
    assert not hasattr(world.staking, "renounce_ownership")


def test_owner_rotates_the_operator(world):
    world.staking.set_operator(world.outsider)
    assert event_names(world.staking) == ["OperatorChanged"]
    with boa.env.prank(world.operator), boa.reverts(NOT_OPERATOR):
        world.staking.register_model(50, TOURNAMENT, world.alice)
    with boa.env.prank(world.outsider):
        world.staking.register_model(50, TOURNAMENT, world.alice)
    assert world.staking.models(50).owner == world.alice
    with boa.reverts("ArenaStaking: operator is the zero address"):
        world.staking.set_operator(ZERO)


def test_release_delay_is_bounded(world):
    world.staking.set_release_delay(90 * 86400)
    assert world.staking.release_delay() == 90 * 86400
    with boa.reverts("ArenaStaking: release delay above the maximum"):
        world.staking.set_release_delay(90 * 86400 + 1)


def test_guardian_hands_its_role_on(world):
    with boa.env.prank(world.guardian):
        world.staking.set_guardian(TOURNAMENT, world.sponsor)
    assert world.staking.tournaments(TOURNAMENT).guardian == world.sponsor
    with boa.env.prank(world.guardian), boa.reverts(NOT_GUARDIAN):
        world.staking.set_challenge_window(TOURNAMENT, 10)
    # The guardian of another tournament is unaffected.
    assert world.staking.tournaments(OTHER_TOURNAMENT).guardian == world.guardian


def test_guardian_sets_the_challenge_window_within_bounds(world):
    with boa.env.prank(world.guardian):
        world.staking.set_challenge_window(TOURNAMENT, 7200)
        with boa.reverts("ArenaStaking: challenge window above the maximum"):
            world.staking.set_challenge_window(TOURNAMENT, 30 * 86400 + 1)
    assert world.staking.tournaments(TOURNAMENT).challenge_window == 7200


def test_registration_rules(world):
    with boa.env.prank(world.operator):
        with boa.reverts("ArenaStaking: tournament already registered"):
            world.staking.register_tournament(TOURNAMENT, world.guardian, 60)
        with boa.reverts("ArenaStaking: guardian is the zero address"):
            world.staking.register_tournament(50, ZERO, 60)
        with boa.reverts("ArenaStaking: challenge window above the maximum"):
            world.staking.register_tournament(50, world.guardian, 30 * 86400 + 1)
        with boa.reverts("ArenaStaking: model already registered"):
            world.staking.register_model(1, TOURNAMENT, world.bob)
        with boa.reverts("ArenaStaking: tournament not registered"):
            world.staking.register_model(50, 12345, world.bob)
        with boa.reverts("ArenaStaking: model owner is the zero address"):
            world.staking.register_model(50, TOURNAMENT, ZERO)
    model = world.staking.models(1)
    assert (model.owner, model.tournament_id) == (world.alice, TOURNAMENT)
