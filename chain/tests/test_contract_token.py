"""ArenaToken: dev-mode minting, fixed supply in production, burn, two-step ownership."""

import boa
import pytest

from chain.tests.contract_world import deployer, event_names

MAX_UINT = 2**256 - 1


@pytest.fixture
def accounts():
    with boa.env.anchor():
        yield boa.env.eoa, boa.env.generate_address("minter"), boa.env.generate_address("other")


def deploy(initial_supply: int, dev_mode: bool):
    return deployer("ArenaToken").deploy("Arena Token", "ARENA", initial_supply, dev_mode)


def test_dev_token_lets_the_deployer_mint(accounts):
    owner, _, other = accounts
    token = deploy(0, True)
    token.mint(other, 250)
    assert token.balanceOf(other) == 250
    assert token.totalSupply() == 250
    assert token.dev_mode() is True


def test_non_minter_cannot_mint_on_dev_token(accounts):
    _, _, other = accounts
    token = deploy(0, True)
    with boa.env.prank(other), boa.reverts("ArenaToken: caller is not a minter"):
        token.mint(other, 1)


def test_owner_grants_and_revokes_minter_role_on_dev_token(accounts):
    _, minter, other = accounts
    token = deploy(0, True)
    token.set_minter(minter, True)
    assert event_names(token) == ["RoleMinterChanged"]
    with boa.env.prank(minter):
        token.mint(other, 5)
    token.set_minter(minter, False)
    with boa.env.prank(minter), boa.reverts("ArenaToken: caller is not a minter"):
        token.mint(other, 5)
    assert token.balanceOf(other) == 5


def test_only_owner_sets_minters(accounts):
    _, minter, other = accounts
    token = deploy(0, True)
    with boa.env.prank(other), boa.reverts("ownable: caller is not the owner"):
        token.set_minter(minter, True)


def test_production_token_has_fixed_supply_and_no_minting(accounts):
    owner, minter, _ = accounts
    token = deploy(1_000_000, False)
    assert token.balanceOf(owner) == 1_000_000
    assert token.dev_mode() is False
    with boa.reverts("ArenaToken: minting is disabled on this deployment"):
        token.mint(owner, 1)
    with boa.reverts("ArenaToken: minting is disabled on this deployment"):
        token.set_minter(minter, True)


def test_production_token_needs_an_initial_supply():
    with boa.reverts("ArenaToken: a fixed-supply token needs an initial supply"):
        deploy(0, False)


def test_burn_destroys_supply(accounts):
    owner, _, _ = accounts
    token = deploy(100, False)
    token.burn(40)
    assert token.balanceOf(owner) == 60
    assert token.totalSupply() == 60
    with boa.reverts("erc20: burn amount exceeds balance"):
        token.burn(61)


def test_mint_up_to_max_uint_then_overflow_reverts(accounts):
    _, _, other = accounts
    token = deploy(0, True)
    token.mint(other, MAX_UINT)
    assert token.totalSupply() == MAX_UINT
    with boa.reverts():  # checked arithmetic: totalSupply would overflow
        token.mint(other, 1)
    assert token.totalSupply() == MAX_UINT


def test_ownership_moves_in_two_steps(accounts):
    owner, new_owner, other = accounts
    token = deploy(0, True)
    token.transfer_ownership(new_owner)
    assert token.owner() == owner
    assert token.pending_owner() == new_owner
    with boa.env.prank(other), boa.reverts("ownable_2step: caller is not the new owner"):
        token.accept_ownership()
    with boa.env.prank(new_owner):
        token.accept_ownership()
    assert token.owner() == new_owner
    assert token.pending_owner() == "0x0000000000000000000000000000000000000000"
    with boa.reverts("ownable: caller is not the owner"):
        token.set_minter(other, True)
