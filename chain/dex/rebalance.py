"""Rebalance a vault to target weights: plan, trade (sells first, then buys), reconcile.

**Plan.** Mark the vault to market at one block (``value_at_mid`` V, mid values v_k, see
chain/dex/vault_ledger.py) — at each pool's time-weighted average price over the
``twap_blocks`` blocks before it (its depth placed at that price, chain/dex/twap.py), or at its
spot reserves when ``twap_blocks`` is 0; every reserve below is the valuation's. Targets
t_k = ⌊w_k·V⌋ in the quote token (Σ w_k ≤ 1, the rest stays in cash). Then:

* sells, planned at once — every token with v_k − t_k above ``min_trade_quote`` sells
  h_k − ⌊t_k·R_token/R_quote⌋ of its holding h_k;
* buys, for the tokens below target by more than ``min_trade_quote`` at planning, planned
  only once every sell has executed or failed, from the quote balance Q then held —
  deficits d_k = t_k − v_k (at the mid prices then), and each buys with
  ⌊d_k·min(Q, Σd)/Σd⌋ of quote. The sells' fees and slippage therefore shrink the buys
  instead of overdrawing the cash, and a token sold (whose price the sale pushed down) is
  never bought back in the same rebalance.

**Slippage limit and deadline.** A trade's expected output e is the exact constant-product
amount at its planning reserves (chain/dex/amm.py) — with ``twap_blocks`` > 0 at the average
price, so a price pushed for a block just before the trade (a sandwich's front-run) does not
lower the limit: the trade reverts instead of filling at it. Attempt n (0, 1, …) sends with
min_out = ⌊e·(10⁴ − slippage_bps − n·retry_widening_bps)/10⁴⌋ and deadline = the latest
block's timestamp + ``deadline_seconds``. A revert for slippage ("insufficient output
amount") or deadline ("expired") is recorded and retried, up to ``max_attempts``; then the
trade is recorded as failed and the rebalance goes on without it. So no trade ever executes
below e·(1 − slippage − (max_attempts − 1)·widening). Any other revert stops the rebalance.

**Crash safety.** Plan and progress live in a journal document (chain/dex/journal.py),
saved before every send and after every result. Each trade has an idempotency key,
keccak256 of (vault, rebalance id, phase, token), and ArenaVault executes a key at most
once. Before sending, and again before any resend, the keeper asks the chain whether the
key has executed (``trades(key)``); if so it books the recorded amounts instead of trading.
Running ``run`` again with the same rebalance id — after a crash, or after success — only
finishes what is left.

**Reconciliation.** After the last trade the vault ledger is synced and every token's
on-chain balance must equal it to the wei (``LedgerMismatch`` otherwise, which also halts
trading), and every executed trade of the plan must appear exactly once among the vault's
``TradeExecuted`` events with the booked amounts.

**Execution cost** of a trade is measured against the pre-trade mid price (the reserves
read just before its executing attempt): mid_in − mid_out, where a sell's mid_in =
amount_in·R_quote//R_token and mid_out = amount_out, and a buy's mid_in = amount_in and
mid_out = amount_out·R_quote//R_token. cost_bps = 10⁴·Σ(mid_in − mid_out)/Σ mid_in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from eth_utils import keccak, to_checksum_address

from chain.dex import amm
from chain.dex.gateway import DexGateway
from chain.dex.journal import Journal
from chain.dex.twap import MAX_TWAP_BLOCKS
from chain.dex.vault_ledger import VaultLedger, mark_to_market
from chain.gateway import ChainRevert

RETRYABLE_REASONS = ("ArenaRouter: insufficient output amount", "ArenaRouter: expired")
KEY_USED_REASON = "ArenaVault: trade key already used"
BPS = 10_000


class RebalanceError(Exception):
    """The rebalance cannot go on (a non-retryable revert, inconsistent input or records)."""


class TradingHalted(RebalanceError):
    """The vault's ledger is halted after a reconciliation mismatch."""


@dataclass(frozen=True)
class RebalanceLimits:
    slippage_bps: int = 50
    retry_widening_bps: int = 50
    max_attempts: int = 3
    deadline_seconds: int = 300
    min_trade_quote: int = 0  # trades worth no more than this at mid are skipped
    # Plan and limits at the time-weighted average price over this many blocks before the
    # planning block (chain/dex/twap.py). 0 plans at the spot reserves: only for chains where
    # nobody else trades (tests and figures that pin amounts to the wei); the platform
    # always passes its market's window (DexMarket.twap_blocks, frozen in the round's book).
    twap_blocks: int = 0

    def __post_init__(self) -> None:
        worst = self.slippage_bps + (self.max_attempts - 1) * self.retry_widening_bps
        if self.max_attempts < 1 or self.slippage_bps < 0 or self.retry_widening_bps < 0:
            raise ValueError("limits must be non-negative, with at least one attempt")
        if not 0 <= self.twap_blocks <= MAX_TWAP_BLOCKS:
            raise ValueError(f"twap_blocks must be between 0 and {MAX_TWAP_BLOCKS}")
        if worst >= BPS:
            raise ValueError(f"slippage limits allow a {worst} bps loss: must stay below 10,000")


@dataclass(frozen=True)
class RebalanceResult:
    rebalance_id: str
    trades: list[dict[str, Any]]  # the journal's trade records, sells then buys
    executed: int
    failed: int
    gas_used: int  # Σ receipt gas of the executed trades
    traded_quote: int  # Σ mid_in
    cost_quote: int  # Σ (mid_in − mid_out)
    value_before: int  # value at mid at planning
    value_after: int  # value at mid after reconciliation
    reconciled_block: int

    @property
    def execution_cost_bps(self) -> float:
        return BPS * self.cost_quote / self.traded_quote if self.traded_quote else 0.0


def trade_key(vault: str, rebalance_id: str, phase: str, token: str) -> bytes:
    """keccak256("arena-trade" ‖ vault ‖ len(id) ‖ id ‖ phase ‖ token): one key per trade."""
    rid = rebalance_id.encode()
    return keccak(
        b"arena-trade"
        + bytes.fromhex(to_checksum_address(vault)[2:])
        + len(rid).to_bytes(4, "big")
        + rid
        + phase.encode()
        + bytes.fromhex(to_checksum_address(token)[2:])
    )


def target_values(weights: Mapping[str, float], total: int) -> dict[str, int]:
    """t_k = ⌊w_k·V⌋ (exact rational arithmetic on the float weights)."""
    return {token: int(Fraction(w) * total) for token, w in weights.items()}


def _min_out(expected: int, attempt: int, limits: RebalanceLimits) -> int:
    band = limits.slippage_bps + attempt * limits.retry_widening_bps
    return max(1, expected * (BPS - band) // BPS)


def _trade(
    phase: str, key: bytes, token: str, token_in: str, token_out: str, amount_in: int, expected: int
) -> dict[str, Any]:
    return {
        "key": "0x" + key.hex(),
        "phase": phase,
        "token": token,
        "token_in": token_in,
        "token_out": token_out,
        "amount_in": str(amount_in),
        "expected_out": str(expected),
        "status": "planned",
        "attempts": [],
        "amount_out": None,
        "mid_in": None,
        "mid_out": None,
        "tx_hash": None,
        "block": None,
        "gas_used": None,
    }


class Rebalancer:
    """Keeper side of one vault. ``run(rebalance_id, weights)`` is idempotent and resumable."""

    def __init__(
        self,
        dex: DexGateway,
        *,
        vault: str,
        journal: Journal,
        ledger: VaultLedger,
        limits: RebalanceLimits | None = None,
        keeper: str | None = None,
    ) -> None:
        self.dex = dex
        self.vault = to_checksum_address(vault)
        self.journal = journal
        self.ledger = ledger
        self.limits = limits or RebalanceLimits()
        self.keeper = keeper or dex.vault_keeper(vault)
        self.quote = dex.vault_quote(vault)
        self.tokens = dex.vault_tokens(vault)

    # --- public --------------------------------------------------------------------------

    def run(self, rebalance_id: str, weights: Mapping[str, float]) -> RebalanceResult:
        """Plan (first call) or resume the rebalance ``rebalance_id`` towards ``weights``
        ({token address: weight}; missing tokens weigh 0), then reconcile."""
        if self.ledger.halted:
            raise TradingHalted(f"trading is halted: {self.ledger.halted}")
        key = f"rebalance:{self.vault}:{rebalance_id}"
        weights = self._check_weights(weights)
        doc = self.journal.load(key)
        if doc is None:
            self.ledger.reconcile()  # never plan on top of an unexplained difference
            doc = self._plan_sells(rebalance_id, weights)
            self.journal.save(key, doc)
        elif doc["weights"] != weights:
            raise RebalanceError(f"rebalance {rebalance_id!r} was planned with other weights")
        if doc["status"] != "done":
            self._execute(key, doc, "sells")
            if doc["buys"] is None:
                doc["buys"] = self._plan_buys(rebalance_id, doc)
                doc["status"] = "buying"
                self.journal.save(key, doc)
            self._execute(key, doc, "buys")
            reconciled = self.ledger.reconcile()
            self._check_trades_on_chain(doc, reconciled.block)
            doc["reconciled_block"] = reconciled.block
            doc["value_after"] = str(self._valuation(block=reconciled.block).value_at_mid)
            doc["status"] = "done"
            self.journal.save(key, doc)
        return self._result(doc)

    # --- planning ------------------------------------------------------------------------

    def _check_weights(self, weights: Mapping[str, float]) -> dict[str, float]:
        clean = {to_checksum_address(t): float(w) for t, w in weights.items()}
        unknown = sorted(set(clean) - set(self.tokens))
        if unknown:
            raise RebalanceError(f"weights for tokens outside the vault's universe: {unknown}")
        if any(not (w >= 0) for w in clean.values()):
            raise RebalanceError("weights must be non-negative (the vault is long-only)")
        if sum(clean.values()) > 1 + 1e-9:
            raise RebalanceError(f"weights sum to {sum(clean.values())!r} > 1")
        return {token: clean.get(token, 0.0) for token in self.tokens}

    def _valuation(self, *, block: int | None = None):
        return mark_to_market(
            self.dex, self.vault, block=block, twap_blocks=self.limits.twap_blocks
        )

    def _plan_sells(self, rebalance_id: str, weights: dict[str, float]) -> dict[str, Any]:
        valuation = self._valuation()
        targets = target_values(weights, valuation.value_at_mid)
        sells = []
        buy_tokens = []
        for token in self.tokens:
            held = valuation.holdings[token]
            reserve_token, reserve_quote = valuation.reserves[token]
            gap = valuation.mid_values[token] - targets[token]
            if -gap > self.limits.min_trade_quote:
                buy_tokens.append(token)
            if gap <= self.limits.min_trade_quote:
                continue
            amount = held - targets[token] * reserve_token // reserve_quote
            if amount <= 0:
                continue
            expected = amm.amount_out(amount, reserve_token, reserve_quote)
            if expected == 0:
                continue
            key = trade_key(self.vault, rebalance_id, "sell", token)
            sells.append(_trade("sell", key, token, token, self.quote, amount, expected))
        return {
            "rebalance_id": rebalance_id,
            "vault": self.vault,
            "status": "selling",
            "weights": weights,
            "planned_block": valuation.block,
            "twap_blocks": valuation.twap_blocks,
            "planning_reserves": _reserves_doc(valuation.reserves),
            "value_before": str(valuation.value_at_mid),
            "targets": {t: str(v) for t, v in targets.items()},
            "sells": sells,
            "buy_tokens": buy_tokens,
            "buys": None,
            "reconciled_block": None,
            "value_after": None,
        }

    def _plan_buys(self, rebalance_id: str, doc: dict[str, Any]) -> list[dict[str, Any]]:
        valuation = self._valuation()
        doc["buy_planning_reserves"] = _reserves_doc(valuation.reserves)
        deficits = {}
        for token in doc["buy_tokens"]:
            deficit = int(doc["targets"][token]) - valuation.mid_values[token]
            if deficit > self.limits.min_trade_quote:
                deficits[token] = deficit
        total = sum(deficits.values())
        budget = min(valuation.quote_balance, total)
        buys = []
        for token, deficit in deficits.items():
            amount = deficit * budget // total
            if amount <= 0:
                continue
            reserve_token, reserve_quote = valuation.reserves[token]
            expected = amm.amount_out(amount, reserve_quote, reserve_token)
            if expected == 0:
                continue
            key = trade_key(self.vault, rebalance_id, "buy", token)
            buys.append(_trade("buy", key, token, self.quote, token, amount, expected))
        return buys

    # --- execution -----------------------------------------------------------------------

    def _reserves(self, token: str) -> tuple[int, int]:
        pair = self.dex.vault_pair(self.vault, token)
        return self.dex.reader.reserves(pair).oriented(self.dex.reader.pair(pair), token)

    def _execute(self, key: str, doc: dict[str, Any], phase: str) -> None:
        for trade in doc[phase]:
            if trade["status"] in ("done", "failed"):
                continue
            self._execute_trade(key, doc, trade)

    def _book(self, trade: dict[str, Any], doc: dict[str, Any], tx: dict[str, Any]) -> None:
        """Record an executed trade from the chain's own record of it."""
        record = self.dex.vault_trade(self.vault, bytes.fromhex(trade["key"][2:]))
        if record is None:
            raise RebalanceError(f"trade {trade['key']} reported executed but has no record")
        if record.amount_in != int(trade["amount_in"]):
            raise RebalanceError(
                f"trade {trade['key']} executed with amount_in {record.amount_in},"
                f" planned {trade['amount_in']}"
            )
        reserve_token, reserve_quote = (int(x) for x in trade["attempts"][-1]["reserves"])
        if trade["phase"] == "sell":
            mid_in = record.amount_in * reserve_quote // reserve_token
            mid_out = record.amount_out
        else:
            mid_in = record.amount_in
            mid_out = record.amount_out * reserve_quote // reserve_token
        if not tx.get("gas_used"):
            found = self.dex.vault_trade_event(
                self.vault, record.key, from_block=doc["planned_block"]
            )
            tx = found or tx
        trade.update(
            status="done",
            amount_out=str(record.amount_out),
            mid_in=str(mid_in),
            mid_out=str(mid_out),
            tx_hash=tx.get("tx_hash"),
            block=tx.get("block"),
            gas_used=tx.get("gas_used"),
        )

    def _execute_trade(self, key: str, doc: dict[str, Any], trade: dict[str, Any]) -> None:
        trade_id = bytes.fromhex(trade["key"][2:])
        # Ask the chain first: this trade may have executed before a crash.
        if trade["attempts"] and self.dex.vault_trade(self.vault, trade_id) is not None:
            self._book(trade, doc, {})
            self.journal.save(key, doc)
            return
        for attempt in trade["attempts"]:
            if attempt["result"] == "sending":
                attempt["result"] = "not executed (resumed after an interruption)"
        while len(trade["attempts"]) < self.limits.max_attempts:
            n = len(trade["attempts"])
            reserves = self._reserves(trade["token"])
            attempt = {
                "min_out": str(_min_out(int(trade["expected_out"]), n, self.limits)),
                "deadline": self.dex.now() + self.limits.deadline_seconds,
                "reserves": [str(reserves[0]), str(reserves[1])],
                "result": "sending",
            }
            trade["attempts"].append(attempt)
            self.journal.save(key, doc)  # recorded before it can execute
            try:
                result = self.dex.vault_swap(
                    vault=self.vault,
                    key=trade_id,
                    token_in=trade["token_in"],
                    token_out=trade["token_out"],
                    amount_in=int(trade["amount_in"]),
                    min_out=int(attempt["min_out"]),
                    deadline=attempt["deadline"],
                    keeper=self.keeper,
                )
            except ChainRevert as exc:
                if exc.reason == KEY_USED_REASON:  # an earlier send of ours landed meanwhile
                    attempt["result"] = "executed by an earlier send"
                    self._book(trade, doc, {})
                    self.journal.save(key, doc)
                    return
                attempt["result"] = f"reverted: {exc.reason}"
                self.journal.save(key, doc)
                if not _retryable(exc.reason):
                    trade["status"] = "failed"
                    self.journal.save(key, doc)
                    raise RebalanceError(
                        f"trade {trade['key']} ({trade['phase']} {trade['token']}) refused: {exc.reason}"
                    ) from exc
                continue
            attempt["result"] = "executed" if result.sent else "executed (found on-chain)"
            self._book(
                trade,
                doc,
                {"tx_hash": result.tx_hash, "block": result.block, "gas_used": result.gas_used},
            )
            self.journal.save(key, doc)
            return
        trade["status"] = "failed"
        self.journal.save(key, doc)

    # --- checks and results --------------------------------------------------------------

    def _check_trades_on_chain(self, doc: dict[str, Any], block: int) -> None:
        seen: dict[str, list[dict[str, Any]]] = {}
        for event in self.dex.vault_events(self.vault, doc["planned_block"], block):
            if event["name"] == "TradeExecuted":
                seen.setdefault(event["args"]["key"], []).append(event["args"])
        for trade in doc["sells"] + (doc["buys"] or []):
            events = seen.get(trade["key"], [])
            if trade["status"] != "done":
                if events:
                    raise RebalanceError(
                        f"trade {trade['key']} is booked {trade['status']} but executed"
                    )
                continue
            if len(events) != 1:
                raise RebalanceError(f"trade {trade['key']} executed {len(events)} times on-chain")
            if (events[0]["amount_in"], events[0]["amount_out"]) != (
                int(trade["amount_in"]),
                int(trade["amount_out"]),
            ):
                raise RebalanceError(f"trade {trade['key']} on-chain amounts differ from the books")

    def _result(self, doc: dict[str, Any]) -> RebalanceResult:
        trades = doc["sells"] + (doc["buys"] or [])
        done = [t for t in trades if t["status"] == "done"]
        traded = sum(int(t["mid_in"]) for t in done)
        return RebalanceResult(
            rebalance_id=doc["rebalance_id"],
            trades=trades,
            executed=len(done),
            failed=sum(t["status"] == "failed" for t in trades),
            gas_used=sum(int(t["gas_used"] or 0) for t in done),
            traded_quote=traded,
            cost_quote=traded - sum(int(t["mid_out"]) for t in done),
            value_before=int(doc["value_before"]),
            value_after=int(doc["value_after"]),
            reconciled_block=int(doc["reconciled_block"]),
        )


def _reserves_doc(reserves: Mapping[str, tuple[int, int]]) -> dict[str, list[str]]:
    return {token: [str(r[0]), str(r[1])] for token, r in reserves.items()}


def _retryable(reason: str) -> bool:
    # A transaction that passed its preflight but reverted when mined (the clock moved past
    # the deadline in between) carries no reason: retrying re-runs the preflight.
    return reason in RETRYABLE_REASONS or (
        reason.startswith("transaction 0x") and "reverted in block" in reason
    )
