"""The process's DexGateway per chain gateway, attached to a market's exchange.

Building a DexGateway loads four compiled contracts; doing it once per process (per chain
gateway) keeps scheduler ticks cheap. Call inside `use_gateway()`: like the chain gateway
it wraps, it is not thread-safe.
"""

from chain.client import chain_enabled, contract_build_cache
from chain.dex.gateway import DexGateway
from chain.gateway import ChainGateway
from core.errors import Conflict
from dex.models import DexMarket

_cache: dict[int, DexGateway] = {}


def require_chain() -> None:
    if not chain_enabled():
        raise Conflict(
            "DEX tournaments trade on a chain: run with ARENA_CHAIN=embedded (the default) or rpc",
            code="chain_off",
        )


def dex_for(gateway: ChainGateway) -> DexGateway:
    dex = _cache.get(id(gateway))
    if dex is None or dex.chain is not gateway:
        dex = DexGateway(gateway, build_cache_dir=contract_build_cache())
        _cache.clear()  # a new chain gateway (tests, a reset): forget the old one's
        _cache[id(gateway)] = dex
    return dex


def market_dex(market: DexMarket, gateway: ChainGateway) -> DexGateway:
    """A DexGateway attached to the market's factory and router."""
    dex = dex_for(gateway)
    exchange = dex.exchange if dex.has_exchange else None
    if exchange is None or exchange.router.lower() != market.router.lower():
        dex.attach_exchange(factory=market.factory, router=market.router)
    return dex
