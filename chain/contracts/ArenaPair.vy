# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title Arena constant-product pair (x * y = k, 0.30% fee)
@notice One pool of two ERC-20 tokens, created by ArenaFactory from a
        blueprint. Its external interface and its `Mint` / `Burn` / `Swap` /
        `Sync` events have the same signatures as a Uniswap-V2 pair, so one
        reader serves both this pool and real V2 pools on a public chain.

        Arithmetic (all integer, rounding down):
        - a swap is accepted iff, with b = balances after the output left and
          the input arrived, (b0*1000 - in0*3) * (b1*1000 - in1*3) >=
          r0 * r1 * 1000**2 — the fee is 0.30% of the input, so the largest
          output for `in` is in*997*R_out / (R_in*1000 + in*997);
        - first deposit mints isqrt(a0*a1) liquidity, of which
          MINIMUM_LIQUIDITY is locked forever at a dead address (so the share
          price can never be inflated from a near-empty pool); later deposits
          mint min(a0*S/r0, a1*S/r1);
        - burning L of S liquidity pays L*b_i/S of each token.

        Like a V2 pair it is driven by a router: tokens are transferred in
        first, then `mint`, `swap` or the LP tokens are sent here and `burn`
        is called. Flash swaps (a non-empty `data`) and the V2 price
        accumulators are not implemented; readers use `Sync` events instead.
        The LP token is snekmate's ERC-20 ("Arena LP", 18 decimals).
"""

from ethereum.ercs import IERC20

from snekmate.auth import ownable
initializes: ownable

from snekmate.tokens import erc20
initializes: erc20[ownable := ownable]

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
)

# V2-compatible event signatures: the topic hashes equal a V2 pair's.
event Mint:
    sender: indexed(address)
    amount0: uint256
    amount1: uint256

event Burn:
    sender: indexed(address)
    amount0: uint256
    amount1: uint256
    to: indexed(address)

event Swap:
    sender: indexed(address)
    amount0In: uint256
    amount1In: uint256
    amount0Out: uint256
    amount1Out: uint256
    to: indexed(address)

event Sync:
    reserve0: uint112
    reserve1: uint112

MINIMUM_LIQUIDITY: public(constant(uint256)) = 1000
# snekmate refuses to mint to the zero address, so the locked liquidity goes to
# the conventional burn address instead; nobody holds its key.
LOCKED_LIQUIDITY_HOLDER: constant(address) = 0x000000000000000000000000000000000000dEaD
FEE_DENOMINATOR: constant(uint256) = 1000
FEE_NUMERATOR: constant(uint256) = 3
RESERVE_MASK: constant(uint256) = 2**112 - 1

factory: public(immutable(address))
token0: public(immutable(address))
token1: public(immutable(address))

# reserve0 | reserve1 << 112 | blockTimestampLast << 224 in one slot: Vyper does not pack
# storage, and a swap writes all three, so one word saves two storage writes per swap.
packed_reserves: uint256


@deploy
def __init__(token0_: address, token1_: address):
    assert token0_ != empty(address), "ArenaPair: zero address token"
    assert convert(token0_, uint256) < convert(token1_, uint256), "ArenaPair: tokens must be sorted and distinct"
    ownable.__init__()
    erc20.__init__("Arena LP", "ALP", 18, "Arena LP", "1")
    factory = msg.sender
    token0 = token0_
    token1 = token1_


@external
@view
def getReserves() -> (uint112, uint112, uint32):
    """
    @notice Reserves as of the last `Sync`, and that block's timestamp mod 2**32.
    """
    return self._reserves()


@internal
@view
def _reserves() -> (uint112, uint112, uint32):
    packed: uint256 = self.packed_reserves
    return (
        convert(packed & RESERVE_MASK, uint112),
        convert((packed >> 112) & RESERVE_MASK, uint112),
        convert(packed >> 224, uint32),
    )


@internal
@view
def _balance(token: address) -> uint256:
    return staticcall IERC20(token).balanceOf(self)


@internal
def _send(token: address, to: address, amount: uint256):
    # default_return_value: tokens that return nothing from `transfer` still work.
    assert extcall IERC20(token).transfer(to, amount, default_return_value=True), "ArenaPair: token transfer failed"


@internal
def _update(balance0: uint256, balance1: uint256):
    assert balance0 <= convert(max_value(uint112), uint256), "ArenaPair: reserve overflows uint112"
    assert balance1 <= convert(max_value(uint112), uint256), "ArenaPair: reserve overflows uint112"
    self.packed_reserves = balance0 | (balance1 << 112) | ((block.timestamp % 2**32) << 224)
    log Sync(reserve0=convert(balance0, uint112), reserve1=convert(balance1, uint112))


@external
@nonreentrant
def mint(to: address) -> uint256:
    """
    @notice Mint liquidity for the tokens transferred in since the last sync.
    @return The liquidity minted to `to`.
    """
    r0: uint256 = self.packed_reserves & RESERVE_MASK
    r1: uint256 = (self.packed_reserves >> 112) & RESERVE_MASK
    balance0: uint256 = self._balance(token0)
    balance1: uint256 = self._balance(token1)
    amount0: uint256 = balance0 - r0
    amount1: uint256 = balance1 - r1
    supply: uint256 = erc20.totalSupply
    liquidity: uint256 = 0
    if supply == 0:
        root: uint256 = isqrt(amount0 * amount1)
        assert root > MINIMUM_LIQUIDITY, "ArenaPair: insufficient liquidity minted"
        liquidity = root - MINIMUM_LIQUIDITY
        erc20._mint(LOCKED_LIQUIDITY_HOLDER, MINIMUM_LIQUIDITY)
    else:
        liquidity = min(amount0 * supply // r0, amount1 * supply // r1)
    assert liquidity > 0, "ArenaPair: insufficient liquidity minted"
    erc20._mint(to, liquidity)
    self._update(balance0, balance1)
    log Mint(sender=msg.sender, amount0=amount0, amount1=amount1)
    return liquidity


@external
@nonreentrant
def burn(to: address) -> (uint256, uint256):
    """
    @notice Burn the LP tokens held by this pair; pay their share of both tokens to `to`.
    """
    balance0: uint256 = self._balance(token0)
    balance1: uint256 = self._balance(token1)
    liquidity: uint256 = erc20.balanceOf[self]
    supply: uint256 = erc20.totalSupply
    assert liquidity > 0, "ArenaPair: insufficient liquidity burned"
    amount0: uint256 = liquidity * balance0 // supply
    amount1: uint256 = liquidity * balance1 // supply
    assert amount0 > 0 and amount1 > 0, "ArenaPair: insufficient liquidity burned"
    erc20._burn(self, liquidity)
    self._send(token0, to, amount0)
    self._send(token1, to, amount1)
    self._update(self._balance(token0), self._balance(token1))
    log Burn(sender=msg.sender, amount0=amount0, amount1=amount1, to=to)
    return amount0, amount1


@external
@nonreentrant
def swap(amount0Out: uint256, amount1Out: uint256, to: address, data: Bytes[1024]):
    """
    @notice Send the outputs to `to`, then require the inputs already transferred
            in to keep (b0*1000 - in0*3) * (b1*1000 - in1*3) >= r0*r1*1000**2.
    """
    assert amount0Out > 0 or amount1Out > 0, "ArenaPair: insufficient output amount"
    assert len(data) == 0, "ArenaPair: flash swaps are not supported"
    r0: uint256 = self.packed_reserves & RESERVE_MASK
    r1: uint256 = (self.packed_reserves >> 112) & RESERVE_MASK
    assert amount0Out < r0 and amount1Out < r1, "ArenaPair: insufficient liquidity"
    assert to != token0 and to != token1, "ArenaPair: invalid recipient"
    if amount0Out > 0:
        self._send(token0, to, amount0Out)
    if amount1Out > 0:
        self._send(token1, to, amount1Out)
    balance0: uint256 = self._balance(token0)
    balance1: uint256 = self._balance(token1)
    # Whatever exceeds the reserve left after the output is this swap's input.
    amount0In: uint256 = 0
    amount1In: uint256 = 0
    if balance0 > r0 - amount0Out:
        amount0In = balance0 - (r0 - amount0Out)
    if balance1 > r1 - amount1Out:
        amount1In = balance1 - (r1 - amount1Out)
    assert amount0In > 0 or amount1In > 0, "ArenaPair: insufficient input amount"
    adjusted0: uint256 = balance0 * FEE_DENOMINATOR - amount0In * FEE_NUMERATOR
    adjusted1: uint256 = balance1 * FEE_DENOMINATOR - amount1In * FEE_NUMERATOR
    assert adjusted0 * adjusted1 >= r0 * r1 * FEE_DENOMINATOR * FEE_DENOMINATOR, "ArenaPair: constant product violated"
    self._update(balance0, balance1)
    log Swap(
        sender=msg.sender,
        amount0In=amount0In,
        amount1In=amount1In,
        amount0Out=amount0Out,
        amount1Out=amount1Out,
        to=to,
    )


@external
@nonreentrant
def skim(to: address):
    """
    @notice Send tokens held above the reserves (e.g. a stray transfer) to `to`.
    """
    self._send(token0, to, self._balance(token0) - (self.packed_reserves & RESERVE_MASK))
    self._send(token1, to, self._balance(token1) - ((self.packed_reserves >> 112) & RESERVE_MASK))


@external
@nonreentrant
def sync():
    """
    @notice Set the reserves to the balances (after a stray transfer in).
    """
    self._update(self._balance(token0), self._balance(token1))
