"""Marking a DEX round's vault to market, the round's score-day targets and every model's
P&L contribution.

* A **mark** reads the vault at one block B and prices every pool at its time-weighted
  average over the book's `twap_blocks` blocks before B (chain/dex/twap.py: one block's price,
  e.g. a sandwich around B, moves it by that block's share of the window's time at most,
  and B's own state not at all): P&L = value at those prices now − value at the round's
  opening marks (priced the same way; fees and slippage of the rebalance included), and the
  excess over an equal-weight portfolio bought at the opening marks (scoring/pnl.py
  `vault_pnl`).
* A score day's **target** is the tokens' forward log return from the opening marks to the
  day's mark, ranked across tokens into five bins (0, .25, .5, .75, 1) like the classic
  target; the classic scoring (CORR, MMC) then runs on it unchanged.
* A model's **P&L contribution** on a day is scoring/pnl.py's normalised derivative of the
  tilted portfolio's excess return with respect to its stake, over the same returns.
"""

from datetime import datetime

import numpy as np
import pandas as pd
from django.db import IntegrityError, transaction

from chain.client import use_gateway
from chain.dex.vault_ledger import mark_to_market
from core.errors import Conflict
from dex.models import DexBook, PnlMark
from dex.services.exchange import market_dex
from dex.services.trading import market_symbols, reserves_json
from scoring.dex_features import bin_cross_section
from scoring.pnl import pnl_contributions, token_returns, vault_pnl
from scoring.ranking import gauss_rank
from tournaments import signals
from tournaments.models import Round, RoundTarget
from tournaments.selectors import live_ids
from tournaments.services.datasets import round_target_upload


def _returns(book: DexBook, mark: PnlMark, symbols: list[str]) -> np.ndarray:
    return token_returns([book.start_price(s) for s in symbols], [mark.price(s) for s in symbols])


def dex_round_mark(*, round: Round, now: datetime, day: int | None = None) -> PnlMark:
    """Mark the vault to market at the latest block and record it (pushed live)."""
    book = DexBook.objects.get(round=round)
    market = round.tournament.dex
    symbols = market_symbols(market)
    with use_gateway() as gateway:
        valuation = mark_to_market(market_dex(market, gateway), market.vault, twap_blocks=book.twap_blocks)
    reserves = reserves_json(valuation, symbols)
    order = list(symbols.values())
    prices_start = [book.start_price(s) for s in order]
    prices_now = [int(reserves[s][1]) / int(reserves[s][0]) for s in order]
    if book.start_value > 0:
        pnl = vault_pnl(
            value_start=book.start_value,
            value_end=valuation.value_at_mid,
            prices_start=prices_start,
            prices_end=prices_now,
        )
        portfolio, benchmark, excess = pnl.portfolio_return, pnl.benchmark_return, pnl.excess_return
    else:  # an unfunded vault: nothing at stake, nothing earned
        benchmark = float(token_returns(prices_start, prices_now).mean())
        portfolio, excess = 0.0, 0.0
    mark = PnlMark(
        round=round,
        at=now,
        block=valuation.block,
        day=day,
        value_at_mid=valuation.value_at_mid,
        pnl=valuation.value_at_mid - book.start_value,
        portfolio_return=portfolio,
        benchmark_return=benchmark,
        excess_return=excess,
        reserves=reserves,
        spot_reserves=reserves_json(valuation, symbols, spot=True),
        twap_from_block=valuation.window_start,
    )
    try:
        with transaction.atomic():
            mark.save()
    except IntegrityError:  # this day's mark was already taken (a concurrent tick)
        return PnlMark.objects.get(round=round, day=day)
    signals.announce(signals.round_pnl, sender=Round, round=round)
    return mark


def day_target(book: DexBook, mark: PnlMark, symbols: list[str]) -> np.ndarray:
    """Five-bin ranks of ln(p_day / p_open) across the round's tokens."""
    log_returns = np.log1p(_returns(book, mark, symbols))
    return bin_cross_section(log_returns[None, :])[0]


def dex_round_target(*, round: Round, day: int, now: datetime) -> RoundTarget:
    """The target of score day `day` from the day's mark (taken now if not yet taken)."""
    existing = RoundTarget.objects.filter(round=round, day=day).first()
    if existing is not None:
        return existing
    book = DexBook.objects.get(round=round)
    symbols = live_ids(round=round)
    mark = PnlMark.objects.filter(round=round, day=day).first()
    taken_now = mark is None
    if taken_now:
        mark = dex_round_mark(round=round, now=now)
    target = day_target(book, mark, symbols)
    if taken_now:
        if len(np.unique(target)) < 2:
            # Kept as a plain mark; the day's target waits for prices to move.
            raise Conflict(
                f"round {round.number} day {day}: no token's price moved since the open",
                code="no_target",
            )
        PnlMark.objects.filter(pk=mark.pk).update(day=day)
    csv = pd.DataFrame({"id": symbols, "target": target}).to_csv(index=False).encode()
    return round_target_upload(
        round=round,
        by=round.tournament.sponsor,
        day=day,
        data=csv,
        filename=f"target_round_{round.number}_day_{day}.csv",
        market=True,
    )


def dex_day_contributions(
    *, round: Round, day: int, predictions: np.ndarray, weights: np.ndarray
) -> np.ndarray | None:
    """Each model's normalised P&L contribution (N,) over the returns from the open to day
    `day`'s mark; `predictions` (K tokens × N models, live-id order) and the meta-model's
    `weights` (tournaments.services.scoring.meta_model_weights). None when the round has no
    book or no mark for that day."""
    book = DexBook.objects.filter(round=round).first()
    mark = PnlMark.objects.filter(round=round, day=day).first()
    if book is None or mark is None:
        return None
    returns = _returns(book, mark, live_ids(round=round))
    result = pnl_contributions(gauss_rank(predictions), weights, returns, tilt=round.tournament.dex.tilt)
    return result.normalised
