# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title Arena router
@notice User-facing entry to ArenaFactory's pairs, with the Uniswap-V2
        router's function names and arguments: liquidity in and out with
        minimum amounts, exact-input swaps along a path with a minimum output,
        every state-changing call bounded by a `deadline` (a block timestamp).

        amount_out(in, R_in, R_out) = in*997*R_out // (R_in*1000 + in*997)
        amount_in(out, R_in, R_out) = R_in*out*1000 // ((R_out - out)*997) + 1
        quote(a, R_a, R_b)          = a*R_b // R_a   (no fee: liquidity ratios)

        The router never holds tokens: it moves them from the caller straight
        into the pairs, and each pair pays the next one (or `to`).
"""

from ethereum.ercs import IERC20

interface IFactory:
    def getPair(tokenA: address, tokenB: address) -> address: view
    def createPair(tokenA: address, tokenB: address) -> address: nonpayable

interface IPair:
    def getReserves() -> (uint112, uint112, uint32): view
    def token0() -> address: view
    def mint(to: address) -> uint256: nonpayable
    def burn(to: address) -> (uint256, uint256): nonpayable
    def swap(amount0Out: uint256, amount1Out: uint256, to: address, data: Bytes[1024]): nonpayable

MAX_PATH: constant(uint256) = 4

factory: public(immutable(address))


@deploy
def __init__(factory_: address):
    assert factory_.is_contract, "ArenaRouter: factory has no code"
    factory = factory_


# --- arithmetic -----------------------------------------------------------------------

@internal
@pure
def _amount_out(amount_in: uint256, reserve_in: uint256, reserve_out: uint256) -> uint256:
    assert amount_in > 0, "ArenaRouter: insufficient input amount"
    assert reserve_in > 0 and reserve_out > 0, "ArenaRouter: insufficient liquidity"
    in_with_fee: uint256 = amount_in * 997
    return in_with_fee * reserve_out // (reserve_in * 1000 + in_with_fee)


@internal
@pure
def _amount_in(amount_out: uint256, reserve_in: uint256, reserve_out: uint256) -> uint256:
    assert amount_out > 0, "ArenaRouter: insufficient output amount"
    assert reserve_in > 0 and amount_out < reserve_out, "ArenaRouter: insufficient liquidity"
    return reserve_in * amount_out * 1000 // ((reserve_out - amount_out) * 997) + 1


@internal
@pure
def _quote(amount_a: uint256, reserve_a: uint256, reserve_b: uint256) -> uint256:
    assert amount_a > 0, "ArenaRouter: insufficient amount"
    assert reserve_a > 0 and reserve_b > 0, "ArenaRouter: insufficient liquidity"
    return amount_a * reserve_b // reserve_a


@external
@pure
def getAmountOut(amountIn: uint256, reserveIn: uint256, reserveOut: uint256) -> uint256:
    return self._amount_out(amountIn, reserveIn, reserveOut)


@external
@pure
def getAmountIn(amountOut: uint256, reserveIn: uint256, reserveOut: uint256) -> uint256:
    return self._amount_in(amountOut, reserveIn, reserveOut)


@external
@pure
def quote(amountA: uint256, reserveA: uint256, reserveB: uint256) -> uint256:
    return self._quote(amountA, reserveA, reserveB)


# --- pairs ----------------------------------------------------------------------------

@internal
@view
def _pair(token_a: address, token_b: address) -> address:
    pair: address = staticcall IFactory(factory).getPair(token_a, token_b)
    assert pair != empty(address), "ArenaRouter: no pair for these tokens"
    return pair


@internal
@view
def _reserves(pair: address, token_a: address) -> (uint256, uint256):
    """Reserves of `pair` ordered as (token_a's, the other token's)."""
    r0: uint112 = 0
    r1: uint112 = 0
    ts: uint32 = 0
    r0, r1, ts = staticcall IPair(pair).getReserves()
    if staticcall IPair(pair).token0() == token_a:
        return convert(r0, uint256), convert(r1, uint256)
    return convert(r1, uint256), convert(r0, uint256)


@internal
@view
def _check_deadline(deadline: uint256):
    assert block.timestamp <= deadline, "ArenaRouter: expired"


@internal
@view
def _amounts_out(amount_in: uint256, path: DynArray[address, MAX_PATH]) -> DynArray[uint256, MAX_PATH]:
    assert len(path) >= 2, "ArenaRouter: invalid path"
    amounts: DynArray[uint256, MAX_PATH] = [amount_in]
    for i: uint256 in range(MAX_PATH - 1):
        if i + 1 >= len(path):
            break
        reserve_in: uint256 = 0
        reserve_out: uint256 = 0
        reserve_in, reserve_out = self._reserves(self._pair(path[i], path[i + 1]), path[i])
        amounts.append(self._amount_out(amounts[i], reserve_in, reserve_out))
    return amounts


@external
@view
def getAmountsOut(amountIn: uint256, path: DynArray[address, MAX_PATH]) -> DynArray[uint256, MAX_PATH]:
    """
    @notice Output after each hop of `path` for an exact input, at current reserves.
    """
    return self._amounts_out(amountIn, path)


@internal
def _pull(token: address, owner: address, to: address, amount: uint256):
    assert extcall IERC20(token).transferFrom(owner, to, amount, default_return_value=True), "ArenaRouter: token transfer failed"


# --- liquidity ------------------------------------------------------------------------

@external
def addLiquidity(
    tokenA: address,
    tokenB: address,
    amountADesired: uint256,
    amountBDesired: uint256,
    amountAMin: uint256,
    amountBMin: uint256,
    to: address,
    deadline: uint256,
) -> (uint256, uint256, uint256):
    """
    @notice Deposit at the pool's current ratio (creating the pair if needed):
            the largest (a, b) <= desired with a/b equal to the reserves' ratio.
    @return (amountA, amountB, liquidity minted to `to`).
    """
    self._check_deadline(deadline)
    pair: address = staticcall IFactory(factory).getPair(tokenA, tokenB)
    if pair == empty(address):
        pair = extcall IFactory(factory).createPair(tokenA, tokenB)
    reserve_a: uint256 = 0
    reserve_b: uint256 = 0
    reserve_a, reserve_b = self._reserves(pair, tokenA)
    amount_a: uint256 = amountADesired
    amount_b: uint256 = amountBDesired
    if reserve_a != 0 or reserve_b != 0:
        b_optimal: uint256 = self._quote(amountADesired, reserve_a, reserve_b)
        if b_optimal <= amountBDesired:
            assert b_optimal >= amountBMin, "ArenaRouter: insufficient B amount"
            amount_b = b_optimal
        else:
            a_optimal: uint256 = self._quote(amountBDesired, reserve_b, reserve_a)
            assert a_optimal >= amountAMin, "ArenaRouter: insufficient A amount"
            amount_a = a_optimal
    self._pull(tokenA, msg.sender, pair, amount_a)
    self._pull(tokenB, msg.sender, pair, amount_b)
    liquidity: uint256 = extcall IPair(pair).mint(to)
    return amount_a, amount_b, liquidity


@external
def removeLiquidity(
    tokenA: address,
    tokenB: address,
    liquidity: uint256,
    amountAMin: uint256,
    amountBMin: uint256,
    to: address,
    deadline: uint256,
) -> (uint256, uint256):
    """
    @notice Burn `liquidity` LP tokens of the caller; both tokens go to `to`.
    """
    self._check_deadline(deadline)
    pair: address = self._pair(tokenA, tokenB)
    self._pull(pair, msg.sender, pair, liquidity)
    amount0: uint256 = 0
    amount1: uint256 = 0
    amount0, amount1 = extcall IPair(pair).burn(to)
    amount_a: uint256 = amount0
    amount_b: uint256 = amount1
    if staticcall IPair(pair).token0() != tokenA:
        amount_a = amount1
        amount_b = amount0
    assert amount_a >= amountAMin, "ArenaRouter: insufficient A amount"
    assert amount_b >= amountBMin, "ArenaRouter: insufficient B amount"
    return amount_a, amount_b


# --- swaps ----------------------------------------------------------------------------

@external
def swapExactTokensForTokens(
    amountIn: uint256,
    amountOutMin: uint256,
    path: DynArray[address, MAX_PATH],
    to: address,
    deadline: uint256,
) -> DynArray[uint256, MAX_PATH]:
    """
    @notice Sell exactly `amountIn` of path[0] along `path`; revert unless the
            final output is at least `amountOutMin` and `deadline` has not passed.
    @return The amount after each hop; the last one reached `to`.
    """
    self._check_deadline(deadline)
    amounts: DynArray[uint256, MAX_PATH] = self._amounts_out(amountIn, path)
    assert amounts[len(amounts) - 1] >= amountOutMin, "ArenaRouter: insufficient output amount"
    self._pull(path[0], msg.sender, self._pair(path[0], path[1]), amountIn)
    for i: uint256 in range(MAX_PATH - 1):
        if i + 1 >= len(path):
            break
        pair: address = self._pair(path[i], path[i + 1])
        recipient: address = to
        if i + 2 < len(path):
            recipient = self._pair(path[i + 1], path[i + 2])
        out0: uint256 = 0
        out1: uint256 = amounts[i + 1]
        if staticcall IPair(pair).token0() == path[i + 1]:
            out0 = amounts[i + 1]
            out1 = 0
        extcall IPair(pair).swap(out0, out1, recipient, b"")
    return amounts
