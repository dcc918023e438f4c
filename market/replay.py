"""Market replay keeper: walk each pool's price along a reference path, with noise traders.

Each step t of the path, for every market, in a fixed order:

1. noise trades — ``noise_trades`` swaps by randomly chosen noise-trader accounts, each
   in a random direction, sized as a log-uniform fraction in ``noise_fraction`` of the
   input side's reserve (volume, and price moves the arbitrage then has to undo);
2. arbitrage — one swap by the arbitrageur of exactly the input that brings the pool's
   mid price R_quote/R_token to the reference price p_t (closed form, see
   ``chain.dex.amm.arbitrage_input``): buy the token with quote when the pool is below p_t,
   sell it when above. Unlike a profit-seeking arbitrageur it also closes gaps inside
   the fee band, so the pools track the path exactly.

Every swap's minimum output is the exact amount the formula predicts from the reserves
just read, so a replay swap that lands differently reverts instead of drifting. Random
draws come from ``numpy.random.default_rng(seed)`` in a fixed order and sizes are fractions
of on-chain reserves, so the same seed on a fresh chain gives the same swaps and the same
reserves to the wei. The traders' inventory is minted on dev chains by ``fund_traders``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from chain.dex import amm
from chain.dex.gateway import MAX_UINT256, DexGateway
from market.price_paths import PricePath
from market.universe import Market, Universe


@dataclass(frozen=True)
class ReplaySwap:
    step: int
    symbol: str
    kind: str  # "noise" or "arbitrage"
    trader: str
    sold: str  # "quote" or "token"
    amount_in: int
    amount_out: int
    tx_hash: str


@dataclass
class StepReport:
    step: int
    swaps: list[ReplaySwap] = field(default_factory=list)
    # symbol -> (token reserve, quote reserve) after the step
    reserves: dict[str, tuple[int, int]] = field(default_factory=dict)


class MarketReplay:
    """Moves a universe's pools along a ``PricePath`` (tokens matched by symbol)."""

    def __init__(
        self,
        dex: DexGateway,
        universe: Universe,
        path: PricePath,
        *,
        seed: int,
        arbitrageur: str,
        noise_traders: Sequence[str],
        noise_trades: int = 1,
        noise_fraction: tuple[float, float] = (0.001, 0.01),
        advance_time: bool = False,
    ) -> None:
        missing = [m.symbol for m in universe.markets if m.symbol not in path.tokens]
        if missing:
            raise ValueError(f"the path has no prices for {missing}")
        if noise_trades and not noise_traders:
            raise ValueError("noise trades need at least one noise-trader account")
        low, high = noise_fraction
        if not 0 < low <= high < 1:
            raise ValueError("noise_fraction must satisfy 0 < low <= high < 1")
        self.dex = dex
        self.universe = universe
        self.path = path
        self.arbitrageur = arbitrageur
        self.noise_traders = list(noise_traders)
        self.noise_trades = noise_trades
        self.noise_fraction = noise_fraction
        self.advance_time = advance_time
        self._rng = np.random.default_rng(seed)

    # --- setup ---------------------------------------------------------------------------

    def fund_traders(self, *, quote_amount: int, token_amount: int) -> None:
        """Dev chains: mint inventory to every trader and approve the router once."""
        router = self.dex.exchange.router
        tokens = [self.universe.quote, *self.universe.tokens]
        for trader in [self.arbitrageur, *self.noise_traders]:
            for token in tokens:
                amount = quote_amount if token == self.universe.quote else token_amount
                self.dex.mint(token=token, to=trader, amount=amount)
                self.dex.approve(token=token, spender=router, amount=MAX_UINT256, sender=trader)

    # --- stepping ------------------------------------------------------------------------

    def _reserves(self, market: Market) -> tuple[int, int]:
        info = self.dex.reader.pair(market.pair)
        return self.dex.reader.reserves(market.pair).oriented(info, market.token)

    def _swap(
        self, step: int, market: Market, kind: str, trader: str, sell_quote: bool, amount: int
    ) -> ReplaySwap | None:
        reserve_token, reserve_quote = self._reserves(market)
        if sell_quote:
            path = [self.universe.quote, market.token]
            expected = amm.amount_out(amount, reserve_quote, reserve_token)
        else:
            path = [market.token, self.universe.quote]
            expected = amm.amount_out(amount, reserve_token, reserve_quote)
        if expected == 0:
            return None  # too small to move the pool by one wei
        result = self.dex.swap_exact_in(
            path=path, amount_in=amount, min_out=expected, sender=trader
        )
        return ReplaySwap(
            step=step,
            symbol=market.symbol,
            kind=kind,
            trader=trader,
            sold="quote" if sell_quote else "token",
            amount_in=amount,
            amount_out=expected,
            tx_hash=result.tx_hash or "",
        )

    def _noise(self, step: int, market: Market) -> list[ReplaySwap]:
        swaps = []
        low, high = np.log(self.noise_fraction[0]), np.log(self.noise_fraction[1])
        for _ in range(self.noise_trades):
            # Draw everything first: the number of draws never depends on chain state.
            trader = self.noise_traders[int(self._rng.integers(len(self.noise_traders)))]
            sell_quote = bool(self._rng.integers(2))
            fraction = Fraction(float(np.exp(self._rng.uniform(low, high))))
            reserve_token, reserve_quote = self._reserves(market)
            reserve_in = reserve_quote if sell_quote else reserve_token
            amount = int(fraction * reserve_in)
            if amount > 0:
                swap = self._swap(step, market, "noise", trader, sell_quote, amount)
                if swap is not None:
                    swaps.append(swap)
        return swaps

    def _arbitrage(self, step: int, market: Market) -> ReplaySwap | None:
        target = amm.price_ratio(self.path.price(step, market.symbol))  # R_quote / R_token
        reserve_token, reserve_quote = self._reserves(market)
        if Fraction(reserve_quote, reserve_token) < target:
            amount = amm.arbitrage_input(reserve_quote, reserve_token, target)
            sell_quote = True
        else:
            amount = amm.arbitrage_input(reserve_token, reserve_quote, 1 / target)
            sell_quote = False
        if amount == 0:
            return None
        return self._swap(step, market, "arbitrage", self.arbitrageur, sell_quote, amount)

    def step(self, step: int) -> StepReport:
        """Noise then arbitrage on every market; returns the swaps and the new reserves."""
        if not 0 <= step < self.path.steps:
            raise ValueError(f"step {step} is outside the path (0..{self.path.steps - 1})")
        if self.advance_time and step > 0:
            gap = int(self.path.timestamps[step] - self.path.timestamps[step - 1])
            self.dex.chain.advance_time(gap)
        report = StepReport(step=step)
        for market in self.universe.markets:
            report.swaps.extend(self._noise(step, market))
            swap = self._arbitrage(step, market)
            if swap is not None:
                report.swaps.append(swap)
            report.reserves[market.symbol] = self._reserves(market)
        return report

    def run(self, steps: Sequence[int]) -> list[StepReport]:
        return [self.step(t) for t in steps]
