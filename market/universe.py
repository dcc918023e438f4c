"""Stand up a DEX tournament's market on a dev chain: quote token, tokens, pools, liquidity.

For demos, tests and the figures script. Every token is a dev-mode ArenaToken (18 decimals,
the operator mints); each gets one ArenaPair against the quote token seeded at its start
price with ``depth_quote`` of the quote token (and depth_quote / price of the token), so
the pool's mid price R_quote/R_token equals the start price to the wei-rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from chain.dex.amm import price_ratio
from chain.dex.gateway import DexGateway, ExchangeDeployment


@dataclass(frozen=True)
class Market:
    """One token of the universe and its pool against the quote token."""

    symbol: str
    token: str
    pair: str


@dataclass(frozen=True)
class Universe:
    exchange: ExchangeDeployment
    quote: str
    markets: tuple[Market, ...]

    @property
    def tokens(self) -> list[str]:
        return [m.token for m in self.markets]

    def market(self, symbol: str) -> Market:
        for market in self.markets:
            if market.symbol == symbol:
                return market
        raise KeyError(symbol)


def build_universe(
    dex: DexGateway,
    *,
    symbols: Sequence[str],
    start_prices: Sequence[float],
    depth_quote: int,
    quote_symbol: str = "AUSD",
    provider: str | None = None,
) -> Universe:
    """Deploy (if needed) the exchange, a quote token and one seeded pool per symbol."""
    if len(symbols) != len(start_prices):
        raise ValueError("one start price per symbol")
    exchange = dex.exchange if dex.has_exchange else dex.deploy_exchange()
    provider = provider or dex.chain.operator
    quote = dex.deploy_token(f"Arena {quote_symbol}", quote_symbol[:5])
    dex.mint(token=quote, to=provider, amount=depth_quote * len(symbols))
    markets = []
    for symbol, price in zip(symbols, start_prices, strict=True):
        token = dex.deploy_token(f"Arena {symbol}", symbol[:5])
        amount_token = int(Fraction(depth_quote) / price_ratio(price))
        dex.mint(token=token, to=provider, amount=amount_token)
        pair = dex.create_pair(token, quote)
        dex.add_liquidity(
            token_a=token,
            token_b=quote,
            amount_a=amount_token,
            amount_b=depth_quote,
            sender=provider,
        )
        markets.append(Market(symbol=symbol, token=token, pair=pair))
    return Universe(exchange=exchange, quote=quote, markets=tuple(markets))
