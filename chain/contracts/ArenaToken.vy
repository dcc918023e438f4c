# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title Arena tournament token
@notice ERC-20 (+ EIP-2612 permit) with burn, built on snekmate's `erc20`
        module. Two deployment modes, fixed by a constructor flag:
        - production (`dev_mode = False`): the whole supply is minted to the
          deployer in the constructor and `mint` is closed forever;
        - dev/demo (`dev_mode = True`): accounts holding the minter role may
          mint, so local chains can hand out test tokens.
        Ownership moves in two steps (snekmate `ownable_2step`); the owner
        manages the minter role in dev mode only.
"""

from ethereum.ercs import IERC20
implements: IERC20

from ethereum.ercs import IERC20Detailed
implements: IERC20Detailed

from snekmate.auth import ownable
initializes: ownable

from snekmate.auth import ownable_2step
initializes: ownable_2step[ownable := ownable]

from snekmate.tokens import erc20
initializes: erc20[ownable := ownable]

# `mint` and `set_minter` are NOT exported from erc20: our own versions below
# add the dev-mode gate. erc20's one-step `transfer_ownership` is not exported
# either, so ownership can only move through the two-step flow.
exports: (
    erc20.totalSupply,
    erc20.balanceOf,
    erc20.transfer,
    erc20.transferFrom,
    erc20.approve,
    erc20.allowance,
    erc20.name,
    erc20.symbol,
    erc20.decimals,
    erc20.burn,
    erc20.burn_from,
    erc20.is_minter,
    erc20.permit,
    erc20.nonces,
    erc20.DOMAIN_SEPARATOR,
    erc20.eip712Domain,
    ownable_2step.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
)

# True only on dev/demo deployments; immutable so a production token can
# never be switched into a mintable one.
dev_mode: public(immutable(bool))


@deploy
def __init__(name_: String[25], symbol_: String[5], initial_supply: uint256, dev_mode_: bool):
    assert dev_mode_ or initial_supply > 0, "ArenaToken: a fixed-supply token needs an initial supply"
    ownable.__init__()
    ownable_2step.__init__()
    erc20.__init__(name_, symbol_, 18, name_, "1")
    dev_mode = dev_mode_
    if initial_supply > 0:
        erc20._mint(msg.sender, initial_supply)


@external
def mint(owner: address, amount: uint256):
    """
    @notice Create `amount` tokens for `owner`; dev deployments only, minters only.
    """
    assert dev_mode, "ArenaToken: minting is disabled on this deployment"
    assert erc20.is_minter[msg.sender], "ArenaToken: caller is not a minter"
    erc20._mint(owner, amount)


@external
def set_minter(minter: address, status: bool):
    """
    @notice Grant or revoke the minter role; owner only, dev deployments only.
    """
    ownable._check_owner()
    assert dev_mode, "ArenaToken: minting is disabled on this deployment"
    assert minter != empty(address), "ArenaToken: minter is the zero address"
    erc20.is_minter[minter] = status
    log erc20.RoleMinterChanged(minter=minter, status=status)
