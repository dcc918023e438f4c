"""The platform's ledger of a vault, its reconciliation with the chain, and marking to market.

**Ledger.** Balances per token that the platform derives from the vault's own recorded
flows only — ``Deposited`` (+quote), ``Withdrawn`` (−token) and ``TradeExecuted``
(−amount_in of token_in, +amount_out of token_out, the amounts the router *promised*) —
applied block range by block range, each range exactly once (the next block to read is
saved with the balances in one journal document). ``reconcile()`` compares every balance
with the token's ``balanceOf(vault)`` at the same block. Any difference means tokens moved
without a recorded flow (a stray transfer in, a fee-on-transfer token, a vault bug, a trade
recorded twice or missed): the ledger then saves ``halted`` with the reason and raises
``LedgerMismatch``; the rebalancer refuses to trade until an operator books the explained
difference with ``resolve`` (an adjustment entry) and the ledger reconciles again.

**Marking to market** (``mark_to_market``): balances read at one block B. With R_token,
R_quote the reserves a token's pool is valued at and h its holding::

    mid value        = h·R_quote // R_token
    liquidation      = h·997·R_quote // (R_token·1000 + h·997)    (sell each position alone)
    value_at_mid     = quote balance + Σ mid values                 (= ArenaVault.value_at_mid)

With ``twap_blocks = 0`` those are the pool's reserves at B (the spot price, which anyone
can move for one block). With ``twap_blocks = N > 0`` they are the pool's time-weighted
average price over the N blocks before B, at its depth at the end of block B−1
(chain/dex/twap.py): a price that a sandwich around the read cannot move at all and a price
held for one block moves by that block's share of the window's time only. The holdings
are still read at B. ``spot_reserves`` keeps the pools' reserves at B either way.

Amounts in saved documents are decimal strings: JSON readers outside Python lose integers
beyond 2**53.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_utils import to_checksum_address

from chain.dex import amm, twap
from chain.dex.gateway import DexGateway
from chain.dex.journal import Journal
from chain.dex.reader import BlockRef


class LedgerMismatch(Exception):
    """The vault's on-chain balances differ from the platform's ledger: trading stops."""


@dataclass(frozen=True)
class Valuation:
    block: int
    quote_balance: int
    holdings: dict[str, int]  # token -> amount held
    reserves: dict[str, tuple[int, int]]  # token -> (R_token, R_quote) valued at
    mid_values: dict[str, int]  # token -> h·R_quote // R_token
    value_at_mid: int
    liquidation_value: int
    # token -> (R_token, R_quote) at `block` (= reserves when twap_blocks is 0)
    spot_reserves: dict[str, tuple[int, int]] = field(default_factory=dict)
    twap_blocks: int = 0  # the average's window: blocks before `block` (0: spot)
    window_start: int | None = None  # first block of that window

    def weights(self) -> dict[str, float]:
        """Each position's share of the value at mid (the quote balance is the rest)."""
        return {t: v / self.value_at_mid for t, v in self.mid_values.items()}

    def price(self, token: str) -> float:
        """Price of ``token`` in the quote token it is valued at (R_quote / R_token): the
        spot mid price, or the time-weighted average when ``twap_blocks`` > 0."""
        reserve_token, reserve_quote = self.reserves[token]
        return reserve_quote / reserve_token


def mark_to_market(
    dex: DexGateway, vault: str, *, block: int | None = None, twap_blocks: int = 0
) -> Valuation:
    """The vault's holdings read at one block (latest by default), valued at each pool's
    spot reserves there (``twap_blocks = 0``) or at its time-weighted average price over
    the ``twap_blocks`` blocks before it."""
    block = dex.chain.block_number() if block is None else block
    window = dex.reader.block_window(block, twap_blocks) if twap_blocks > 0 else None
    quote = dex.vault_quote(vault)
    quote_balance = dex.balance_of(quote, vault, block=block)
    holdings: dict[str, int] = {}
    reserves: dict[str, tuple[int, int]] = {}
    spot_reserves: dict[str, tuple[int, int]] = {}
    mid_values: dict[str, int] = {}
    liquidation = quote_balance
    for token in dex.vault_tokens(vault):
        pair = dex.vault_pair(vault, token)
        info = dex.reader.pair(pair)
        if window is None:
            spot = dex.reader.reserves(pair, block=block).oriented(info, token)
            reserve_token, reserve_quote = spot
        else:
            spot, (reserve_token, reserve_quote) = averaged_reserves(dex, pair, token, window)
        held = dex.balance_of(token, vault, block=block)
        holdings[token] = held
        reserves[token] = (reserve_token, reserve_quote)
        spot_reserves[token] = spot
        mid_values[token] = amm.quote(held, reserve_token, reserve_quote)
        if held:
            liquidation += amm.amount_out(held, reserve_token, reserve_quote)
    return Valuation(
        block=block,
        quote_balance=quote_balance,
        holdings=holdings,
        reserves=reserves,
        mid_values=mid_values,
        value_at_mid=quote_balance + sum(mid_values.values()),
        liquidation_value=liquidation,
        spot_reserves=spot_reserves,
        twap_blocks=twap_blocks if window is not None else 0,
        window_start=window[0].number if window is not None else None,
    )


def averaged_reserves(
    dex: DexGateway, pair: str, token: str, window: list[BlockRef]
) -> tuple[tuple[int, int], tuple[int, int]]:
    """(spot, averaged) reserves of ``token``'s pool, each as (R_token, R_quote): spot at the
    window's last block B; averaged = the time-weighted average price over the window's
    blocks before B, at the depth of the last of them (chain/dex/twap.py). Nothing of block B's
    own state enters the averaged reserves."""
    info = dex.reader.pair(pair)
    states = dex.reader.reserves_over(pair, window)
    if states[-1] is None:
        raise ValueError(f"pair {pair} has no reserves at block {window[-1].number}")
    spot = states[-1].oriented(info, token)
    before = [None if s is None else s.oriented(info, token) for s in states[:-1]]
    price = twap.time_weighted_price(before, [ref.timestamp for ref in window])
    if price is None:  # the pool is younger than one block interval: only its spot exists
        return spot, spot
    depth = next(s for s in reversed(before) if s is not None and s[0] > 0 and s[1] > 0)
    return spot, twap.reserves_at_price(price, *depth)


@dataclass(frozen=True)
class Reconciliation:
    block: int
    balances: dict[str, int]  # token -> amount, equal on the ledger and on-chain


class VaultLedger:
    """The platform's record of one vault's balances, kept in a journal document."""

    def __init__(
        self,
        dex: DexGateway,
        vault: str,
        journal: Journal,
        *,
        start_block: int,
        confirmations: int = 0,
    ) -> None:
        """``start_block``: the vault's deployment block (its balances are zero before).
        ``confirmations``: blocks to stay behind the head on chains that can reorganise."""
        self.dex = dex
        self.vault = to_checksum_address(vault)
        self.journal = journal
        self.key = f"ledger:{self.vault}"
        self.confirmations = confirmations
        state = journal.load(self.key)
        if state is None:
            tokens = [dex.vault_quote(vault), *dex.vault_tokens(vault)]
            state = {
                "vault": self.vault,
                "next_block": start_block,
                "balances": {token: "0" for token in tokens},
                "halted": None,
            }
            journal.save(self.key, state)
        self._state: dict[str, Any] = state

    def _reload(self) -> None:
        # The journal is the truth: another ledger object (another process) may have synced
        # or resolved since this one last looked, and re-applying its blocks would count
        # their flows twice.
        state = self.journal.load(self.key)
        if state is not None:
            self._state = state

    @property
    def balances(self) -> dict[str, int]:
        self._reload()
        return {token: int(amount) for token, amount in self._state["balances"].items()}

    @property
    def halted(self) -> str | None:
        self._reload()
        return self._state["halted"]

    @property
    def synced_to(self) -> int:
        """Last block whose vault events are in the balances."""
        self._reload()
        return int(self._state["next_block"]) - 1

    def sync(self) -> int:
        """Apply the vault's events from the next unread block to the head (minus
        confirmations); returns the last block applied."""
        self._reload()
        head = self.dex.chain.block_number() - self.confirmations
        start = int(self._state["next_block"])
        if head < start:
            return start - 1
        balances = self.balances
        for event in self.dex.vault_events(self.vault, start, head):
            if event["address"] != self.vault:
                continue
            args = event["args"]
            if event["name"] == "Deposited":
                quote = self.dex.vault_quote(self.vault)
                balances[quote] = balances.get(quote, 0) + args["amount"]
            elif event["name"] == "Withdrawn":
                balances[args["token"]] = balances.get(args["token"], 0) - args["amount"]
            elif event["name"] == "TradeExecuted":
                balances[args["token_in"]] = balances.get(args["token_in"], 0) - args["amount_in"]
                balances[args["token_out"]] = (
                    balances.get(args["token_out"], 0) + args["amount_out"]
                )
        self._state["balances"] = {token: str(amount) for token, amount in balances.items()}
        self._state["next_block"] = head + 1
        self.journal.save(self.key, self._state)
        return head

    def reconcile(self) -> Reconciliation:
        """Sync, then require every ledger balance to equal the chain's, to the wei."""
        block = self.sync()
        ledger = self.balances
        mismatches = []
        for token, expected in sorted(ledger.items()):
            actual = self.dex.balance_of(token, self.vault, block=block)
            if actual != expected:
                mismatches.append(
                    f"{token}: ledger {expected}, chain {actual} (difference {actual - expected:+d})"
                )
        if mismatches:
            reason = f"vault {self.vault} does not reconcile at block {block}: " + "; ".join(
                mismatches
            )
            self._state["halted"] = reason
            self.journal.save(self.key, self._state)
            raise LedgerMismatch(reason + ". Trading is stopped until the difference is explained.")
        return Reconciliation(block=block, balances=ledger)

    def resolve(self, adjustments: dict[str, int], *, reason: str) -> Reconciliation:
        """Operator action after investigating a mismatch: book the explained differences
        (e.g. +amount for a stray transfer in) as adjustment entries, then reconcile again;
        trading resumes only if the ledger now matches the chain to the wei. Adjustments
        that do not make it reconcile are taken back (the ledger stays halted)."""
        amounts = {to_checksum_address(token): int(amount) for token, amount in adjustments.items()}
        balances = self.balances  # reloads the saved state
        booked = list(self._state.get("adjustments", []))
        for token, amount in amounts.items():
            balances[token] = balances.get(token, 0) + amount
        self._state["balances"] = {token: str(amount) for token, amount in balances.items()}
        self._state["adjustments"] = booked + [
            {"reason": reason, "amounts": {t: str(a) for t, a in amounts.items()}}
        ]
        self.journal.save(self.key, self._state)
        try:
            result = self.reconcile()
        except LedgerMismatch:
            # Take the entries back, keeping the blocks reconcile applied meanwhile.
            self._state["balances"] = {
                token: str(int(amount) - amounts.get(token, 0))
                for token, amount in self._state["balances"].items()
            }
            self._state["adjustments"] = booked
            self.journal.save(self.key, self._state)
            raise
        self._state["halted"] = None
        self.journal.save(self.key, self._state)
        return result
