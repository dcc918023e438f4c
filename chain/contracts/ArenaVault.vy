# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title Arena tournament vault
@notice Holds one DEX tournament's trading capital: the quote token plus the
        positions in its universe of tokens, each traded against the quote
        token through one ArenaRouter (fixed at deployment).

        Roles:
        - owner (the platform, two-step transfer): `set_keeper`, `add_token`,
          `withdraw`;
        - keeper (the platform's trading key): `swap` only — between the quote
          token and a universe token, paid to the vault itself, with a positive
          minimum output (the slippage limit) and a deadline, under a trade key
          that can be used once. A keeper key can trade badly but can never
          move capital out of the vault;
        - anyone: `deposit` quote tokens (the sponsor's capital).

        Idempotency: `trades(key)` records (amount_in, amount_out) of every
        executed trade; a key executes at most once, so a keeper resuming after
        a crash asks the chain whether a trade ran before resending it.

        Marking to market (views; floor division per token, in quote units):
        value_at_mid       = quote + sum_k balance_k * R_quote_k // R_token_k
        liquidation_value  = quote + sum_k amount_out(balance_k, R_token_k, R_quote_k)
"""

from ethereum.ercs import IERC20

from snekmate.auth import ownable
initializes: ownable

from snekmate.auth import ownable_2step
initializes: ownable_2step[ownable := ownable]

exports: (
    ownable_2step.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
)

interface IRouter:
    def factory() -> address: view
    def swapExactTokensForTokens(
        amountIn: uint256,
        amountOutMin: uint256,
        path: DynArray[address, 4],
        to: address,
        deadline: uint256,
    ) -> DynArray[uint256, 4]: nonpayable

interface IFactory:
    def getPair(tokenA: address, tokenB: address) -> address: view

interface IPair:
    def getReserves() -> (uint112, uint112, uint32): view
    def token0() -> address: view

struct Trade:
    amount_in: uint128
    amount_out: uint128

event Deposited:
    sender: indexed(address)
    amount: uint256

event Withdrawn:
    token: indexed(address)
    to: indexed(address)
    amount: uint256

event TradeExecuted:
    key: indexed(bytes32)
    token_in: indexed(address)
    token_out: indexed(address)
    amount_in: uint256
    amount_out: uint256

event KeeperChanged:
    previous_keeper: indexed(address)
    new_keeper: indexed(address)

event TokenAdded:
    token: indexed(address)
    pair: address

MAX_TOKENS: constant(uint256) = 128
LOW_128_BITS: constant(uint256) = 2**128 - 1

quote: public(immutable(address))
router: public(immutable(address))
factory: public(immutable(address))
tournament_id: public(immutable(uint256))

keeper: public(address)
tokens: public(DynArray[address, MAX_TOKENS])
pair_of: public(HashMap[address, address])
# amount_in << 128 | amount_out: one storage slot per trade (Vyper does not pack structs).
packed_trades: HashMap[bytes32, uint256]


@deploy
def __init__(
    quote_: address,
    router_: address,
    keeper_: address,
    tournament_id_: uint256,
    tokens_: DynArray[address, MAX_TOKENS],
):
    assert router_.is_contract, "ArenaVault: router has no code"
    assert keeper_ != empty(address), "ArenaVault: keeper is the zero address"
    ownable.__init__()
    ownable_2step.__init__()
    quote = quote_
    router = router_
    factory = staticcall IRouter(router_).factory()
    tournament_id = tournament_id_
    self.keeper = keeper_
    log KeeperChanged(previous_keeper=empty(address), new_keeper=keeper_)
    self._approve_router(quote_)
    for token: address in tokens_:
        self._add_token(token)


@internal
def _approve_router(token: address):
    # The router is immutable and only moves what `swap` asks it to, so one
    # unlimited approval per token saves an approval on every trade.
    assert extcall IERC20(token).approve(router, max_value(uint256), default_return_value=True), "ArenaVault: approve failed"


@internal
def _add_token(token: address):
    assert token != quote, "ArenaVault: the quote token is not a position"
    assert self.pair_of[token] == empty(address), "ArenaVault: token already in the universe"
    pair: address = staticcall IFactory(factory).getPair(token, quote)
    assert pair != empty(address), "ArenaVault: no pair with the quote token"
    self.pair_of[token] = pair
    self.tokens.append(token)
    self._approve_router(token)
    log TokenAdded(token=token, pair=pair)


@external
def add_token(token: address):
    """
    @notice Add a token (with an existing pair against the quote token) to the universe.
    """
    ownable._check_owner()
    self._add_token(token)


@external
def set_keeper(new_keeper: address):
    ownable._check_owner()
    assert new_keeper != empty(address), "ArenaVault: keeper is the zero address"
    log KeeperChanged(previous_keeper=self.keeper, new_keeper=new_keeper)
    self.keeper = new_keeper


@external
def deposit(amount: uint256):
    """
    @notice Add `amount` of the quote token to the vault (approve it first).
    """
    assert amount > 0, "ArenaVault: zero deposit"
    assert extcall IERC20(quote).transferFrom(msg.sender, self, amount, default_return_value=True), "ArenaVault: token transfer failed"
    log Deposited(sender=msg.sender, amount=amount)


@external
def withdraw(token: address, amount: uint256, to: address):
    """
    @notice Owner only: pay `amount` of `token` (quote or a position) to `to`.
    """
    ownable._check_owner()
    assert to != empty(address), "ArenaVault: withdraw to the zero address"
    assert extcall IERC20(token).transfer(to, amount, default_return_value=True), "ArenaVault: token transfer failed"
    log Withdrawn(token=token, to=to, amount=amount)


@external
def swap(
    key: bytes32,
    token_in: address,
    token_out: address,
    amount_in: uint256,
    min_out: uint256,
    deadline: uint256,
) -> uint256:
    """
    @notice Keeper only: sell exactly `amount_in` of `token_in` for at least
            `min_out` of `token_out` before `deadline`, once per `key`.
    @return The amount of `token_out` received.
    """
    assert msg.sender == self.keeper, "ArenaVault: caller is not the keeper"
    assert key != empty(bytes32), "ArenaVault: empty trade key"
    assert self.packed_trades[key] == 0, "ArenaVault: trade key already used"
    assert (token_in == quote and self.pair_of[token_out] != empty(address)) or (
        token_out == quote and self.pair_of[token_in] != empty(address)
    ), "ArenaVault: trades must be between the quote token and a universe token"
    assert amount_in > 0, "ArenaVault: zero amount in"
    assert amount_in <= convert(max_value(uint128), uint256), "ArenaVault: amount in too large"
    assert min_out > 0, "ArenaVault: a positive minimum output (slippage limit) is required"
    amounts: DynArray[uint256, 4] = extcall IRouter(router).swapExactTokensForTokens(
        amount_in, min_out, [token_in, token_out], self, deadline
    )
    amount_out: uint256 = amounts[1]
    assert amount_out <= convert(max_value(uint128), uint256), "ArenaVault: amount out too large"
    self.packed_trades[key] = (amount_in << 128) | amount_out
    log TradeExecuted(key=key, token_in=token_in, token_out=token_out, amount_in=amount_in, amount_out=amount_out)
    return amount_out


# --- views ----------------------------------------------------------------------------

@external
@view
def trades(key: bytes32) -> Trade:
    """
    @notice (amount_in, amount_out) of the trade executed under `key`; zeros if none.
    """
    packed: uint256 = self.packed_trades[key]
    return Trade(amount_in=convert(packed >> 128, uint128), amount_out=convert(packed & LOW_128_BITS, uint128))


@external
@view
def token_count() -> uint256:
    return len(self.tokens)


@internal
@view
def _reserves(token: address) -> (uint256, uint256):
    """(token reserve, quote reserve) of the token's pair."""
    pair: address = self.pair_of[token]
    r0: uint112 = 0
    r1: uint112 = 0
    ts: uint32 = 0
    r0, r1, ts = staticcall IPair(pair).getReserves()
    if staticcall IPair(pair).token0() == token:
        return convert(r0, uint256), convert(r1, uint256)
    return convert(r1, uint256), convert(r0, uint256)


@external
@view
def holdings() -> DynArray[uint256, MAX_TOKENS]:
    """
    @notice The vault's balance of each universe token, in `tokens` order.
    """
    balances: DynArray[uint256, MAX_TOKENS] = []
    for token: address in self.tokens:
        balances.append(staticcall IERC20(token).balanceOf(self))
    return balances


@external
@view
def value_at_mid() -> uint256:
    """
    @notice quote balance + sum_k balance_k * R_quote_k // R_token_k.
    """
    total: uint256 = staticcall IERC20(quote).balanceOf(self)
    for token: address in self.tokens:
        held: uint256 = staticcall IERC20(token).balanceOf(self)
        if held == 0:
            continue
        reserve_token: uint256 = 0
        reserve_quote: uint256 = 0
        reserve_token, reserve_quote = self._reserves(token)
        total += held * reserve_quote // reserve_token
    return total


@external
@view
def liquidation_value() -> uint256:
    """
    @notice quote balance + what selling each position alone would pay now:
            sum_k balance_k*997*R_quote_k // (R_token_k*1000 + balance_k*997).
    """
    total: uint256 = staticcall IERC20(quote).balanceOf(self)
    for token: address in self.tokens:
        held: uint256 = staticcall IERC20(token).balanceOf(self)
        if held == 0:
            continue
        reserve_token: uint256 = 0
        reserve_quote: uint256 = 0
        reserve_token, reserve_quote = self._reserves(token)
        in_with_fee: uint256 = held * 997
        total += in_with_fee * reserve_quote // (reserve_token * 1000 + in_with_fee)
    return total
