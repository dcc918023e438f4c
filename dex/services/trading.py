"""A DEX round's trading: the book at close (meta-model → target weights, opening marks), the
rebalance through the vault (a retrying task runs it; crash-safe, never trades twice), and
trading halts when the vault does not reconcile with the ledger.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from chain.client import use_gateway
from chain.dex.rebalance import (
    RebalanceError,
    RebalanceLimits,
    Rebalancer,
    RebalanceResult,
    TradingHalted,
)
from chain.dex.vault_ledger import LedgerMismatch, VaultLedger, mark_to_market
from core.errors import Conflict, InvalidInput
from dex.journal import DatabaseJournal
from dex.models import DexBook, DexMarket, RebalanceState, TradingHalt
from dex.services.exchange import market_dex, require_chain
from scoring.pnl import tilt_weights
from scoring.ranking import gauss_rank
from tournaments import signals
from tournaments.models import Round, RoundState, SubmissionState
from tournaments.selectors import live_ids, predictions_matrix
from tournaments.services.scoring import meta_model_weights
from tournaments.services.submissions import round_decrypt_submissions

log = logging.getLogger("arena.dex")

# A keeper run holds the round's lease this long; a crashed run's lease expires and the next
# tick's run resumes from the journal.
REBALANCE_LEASE = timedelta(minutes=10)
# A round trades between its close and its resolution.
TRADING_STATES = (RoundState.CLOSED, RoundState.SCORING)


def reserves_json(valuation, symbols: dict[str, str], *, spot: bool = False) -> dict[str, list[str]]:
    """{symbol: [R_token, R_quote]} as decimal strings, from a Valuation keyed by address:
    the reserves it values at (the time-weighted average's), or with `spot` the pools'."""
    reserves = valuation.spot_reserves if spot else valuation.reserves
    return {
        symbol: [str(reserves[address][0]), str(reserves[address][1])] for address, symbol in symbols.items()
    }


def market_symbols(market: DexMarket) -> dict[str, str]:
    """token address → symbol, in the universe's order."""
    return {t.token: t.symbol for t in market.tokens.all()}


def meta_weights(*, round: Round, market: DexMarket) -> tuple[dict[str, float], int]:
    """The round's target weights by symbol (scoring/pnl.py's tilt of the stake-weighted
    meta-model of the counted, valid predictions) and how many models went in. With no
    valid prediction the vault holds equal weights."""
    symbols = live_ids(round=round)
    models, predictions = predictions_matrix(round=round)
    if not models:
        return {s: 1.0 / len(symbols) for s in symbols}, 0
    stakes = meta_model_weights(round=round, models=models)
    weights = tilt_weights(gauss_rank(predictions), stakes, tilt=market.tilt)
    return dict(zip(symbols, weights.tolist(), strict=True)), len(models)


def dex_round_book(
    *, round: Round, now: datetime, enqueue_rebalance: Callable[[int], None]
) -> DexBook:
    """At close: target weights from the meta-model and the vault's opening marks (read
    before any trade, so the rebalance's costs fall inside the round's P&L), at the pools'
    time-weighted average prices over the market's window, which the book freezes for the
    round's marks, targets and rebalance. Idempotent.

    `enqueue_rebalance(round_id)` schedules the rebalance (dex.tasks.rebalance_round_enqueue);
    it is called once, after the commit that opened the book."""
    book = DexBook.objects.filter(round=round).first()
    if book is not None:
        return book
    # One vault, one round at a time: a round opened late (it got its whole window) may still
    # be trading when the next one closes; the next book waits for it, or its rebalance would
    # move the vault inside the earlier round's P&L.
    # (Any other round: a later round may have opened first, when a long history sync
    # finished on its tick.)
    others = round.tournament.rounds.filter(state__in=TRADING_STATES).exclude(pk=round.pk)
    if busy := others.order_by("number").first():
        raise Conflict(
            f"round {round.number} waits for round {busy.number}, still trading the vault",
            code="vault_busy",
        )
    round_decrypt_submissions(round=round, now=now)  # normally done by the close already
    if round.submissions.filter(is_counted=True, state=SubmissionState.RECEIVED).exists():
        raise Conflict(
            f"round {round.number}: counted predictions are not all opened yet", code="not_opened"
        )
    market = round.tournament.dex
    weights, n_models = meta_weights(round=round, market=market)
    symbols = market_symbols(market)
    twap_blocks = market.twap_blocks
    with use_gateway() as gateway:
        opening = mark_to_market(market_dex(market, gateway), market.vault, twap_blocks=twap_blocks)
    with transaction.atomic():
        Round.objects.select_for_update().get(pk=round.pk)  # one book per round
        book, created = DexBook.objects.get_or_create(
            round=round,
            defaults={
                "weights": weights,
                "n_models": n_models,
                "start_block": opening.block,
                "start_value": opening.value_at_mid,
                "start_reserves": reserves_json(opening, symbols),
                "start_spot_reserves": reserves_json(opening, symbols, spot=True),
                "twap_blocks": twap_blocks,
                "created_at": now,
            },
        )
        if created:
            transaction.on_commit(lambda: enqueue_rebalance(round.pk))
    if created:
        log.info("%s: book opened (%d models, value %s)", round, n_models, opening.value_at_mid)
    return book


def rebalance_due(book: DexBook) -> bool:
    """Pending and nobody holds the lease: the scheduler may (re)start it."""
    return book.rebalance_state == RebalanceState.PENDING and (
        book.lease_until is None or book.lease_until < timezone.now()
    )


def dex_rebalance_enqueue_if_due(*, round: Round, enqueue_rebalance: Callable[[int], None]) -> bool:
    """Schedule the round's rebalance with `enqueue_rebalance(round_id)` if it is due."""
    book = DexBook.objects.filter(round=round).first()
    if book is None or not rebalance_due(book):
        return False
    enqueue_rebalance(round.pk)
    return True


def _take_lease(book: DexBook) -> bool:
    # Leases use the wall clock, whatever clock the scheduler runs on: they guard against
    # two real processes running one rebalance at once.
    now = timezone.now()
    return bool(
        DexBook.objects.filter(pk=book.pk, rebalance_state=RebalanceState.PENDING)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + REBALANCE_LEASE, rebalance_attempts=F("rebalance_attempts") + 1)
    )


def limits_of(market: DexMarket, *, twap_blocks: int) -> RebalanceLimits:
    """The keeper's limits: the market's slippage rules, set against the time-weighted
    average over `twap_blocks` (the round's book's window)."""
    return RebalanceLimits(
        slippage_bps=market.slippage_bps,
        retry_widening_bps=market.retry_widening_bps,
        max_attempts=market.max_attempts,
        twap_blocks=twap_blocks,
    )


def rebalance_id(round: Round) -> str:
    return f"{round.tournament.slug}-round-{round.number}"


def vault_ledger(market: DexMarket, dex) -> VaultLedger:
    return VaultLedger(dex, market.vault, DatabaseJournal(), start_block=market.vault_block)


def _finish(book: DexBook, state: str, **fields) -> None:
    DexBook.objects.filter(pk=book.pk).update(rebalance_state=state, lease_until=None, **fields)


def dex_rebalance(*, round: Round) -> DexBook:
    """Trade the vault to the book's weights (chain/dex/rebalance.py): sells, then buys, each with
    its slippage and deadline limits; then reconcile the vault to the wei.

    Call outside any transaction: the keeper's journal must be durable before each trade.
    Safe to call again at any time: a finished rebalance sends nothing; one that crashed
    resumes with only the trades that did not execute. Node errors propagate (the task
    retries); a ledger mismatch halts trading and raises an alert (TradingHalt).
    """
    book = DexBook.objects.select_related("round__tournament__dex").get(round=round)
    if book.rebalance_state != RebalanceState.PENDING or not _take_lease(book):
        return book
    if book.round.state not in TRADING_STATES:
        # Its P&L period is over (e.g. trading was halted past its resolution): trading on
        # its weights now would trade on stale predictions.
        _finish(book, RebalanceState.FAILED, rebalance_error=f"round is {book.round.state}")
        book.refresh_from_db()
        return book
    market = book.round.tournament.dex
    symbols = market_symbols(market)
    by_symbol = {s: a for a, s in symbols.items()}
    weights = {by_symbol[s]: w for s, w in book.weights.items()}
    try:
        with use_gateway() as gateway:
            dex = market_dex(market, gateway)
            result = Rebalancer(
                dex,
                vault=market.vault,
                journal=DatabaseJournal(),
                ledger=vault_ledger(market, dex),
                limits=limits_of(market, twap_blocks=book.twap_blocks),
                keeper=market.keeper,
            ).run(rebalance_id(book.round), weights)
    except (LedgerMismatch, TradingHalted) as exc:
        _halt(market, book.round, str(exc))
        _finish(book, RebalanceState.HALTED, rebalance_error=str(exc)[:2000])
    except RebalanceError as exc:
        log.error("%s: rebalance failed: %s", book.round, exc)
        _finish(book, RebalanceState.FAILED, rebalance_error=str(exc)[:2000])
    except BaseException:
        DexBook.objects.filter(pk=book.pk).update(lease_until=None)  # retry soon
        raise
    else:
        _finish(
            book,
            RebalanceState.DONE,
            rebalance_error="",
            rebalance=_summary(result, symbols),
        )
        log.info("%s: rebalanced, %d trades, %.1f bps", book.round, result.executed, result.execution_cost_bps)
    signals.announce(signals.round_changed, sender=Round, round=book.round)
    book.refresh_from_db()
    return book


def _summary(result: RebalanceResult, symbols: dict[str, str]) -> dict:
    return {
        "executed": result.executed,
        "failed": result.failed,
        "gas_used": result.gas_used,
        "traded_quote": str(result.traded_quote),
        "cost_quote": str(result.cost_quote),
        "cost_bps": round(result.execution_cost_bps, 3),
        "value_before": str(result.value_before),
        "value_after": str(result.value_after),
        "reconciled_block": result.reconciled_block,
        "failed_tokens": [
            symbols.get(t["token"], t["token"]) for t in result.trades if t["status"] == "failed"
        ],
    }


def _halt(market: DexMarket, round: Round, reason: str) -> None:
    # The operator's alert: logged at error level (alerting hooks into the log) and kept as
    # an open TradingHalt in the admin until resolved.
    log.error("TRADING HALTED for %s: %s", market.tournament.slug, reason)
    if not market.halts.filter(resolved_at__isnull=True).exists():
        TradingHalt.objects.create(market=market, round=round, reason=reason, created_at=timezone.now())


def dex_halt_resolve(
    *, halt: TradingHalt, adjustments: dict[str, int], reason: str, by: User
) -> TradingHalt:
    """Book the explained difference (token address → signed amount) and reconcile again;
    if the vault now matches the ledger to the wei, trading resumes: halted rounds go back
    to pending and the scheduler re-runs their rebalance."""
    require_chain()
    if halt.resolved_at is not None:
        raise Conflict("this halt is already resolved")
    if not reason.strip():
        raise InvalidInput("say what explains the difference (it is kept with the ledger)")
    market = halt.market
    try:
        with use_gateway() as gateway:
            vault_ledger(market, market_dex(market, gateway)).resolve(adjustments, reason=reason)
    except LedgerMismatch as exc:
        raise InvalidInput(f"the ledger still does not reconcile: {exc}") from None
    with transaction.atomic():
        halt.resolved_at = timezone.now()
        halt.resolved_by = by
        halt.resolution = reason
        halt.adjustments = {token: str(amount) for token, amount in adjustments.items()}
        halt.save()
        halted = DexBook.objects.filter(
            round__tournament=market.tournament, rebalance_state=RebalanceState.HALTED
        )
        halted.filter(round__state__in=TRADING_STATES).update(
            rebalance_state=RebalanceState.PENDING, lease_until=None
        )
        halted.update(rebalance_state=RebalanceState.FAILED)  # rounds whose period has ended
    return halt
