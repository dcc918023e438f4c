"""A DEX tournament's market and vault on a real chain, for the rebalance and round tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chain.dex.gateway import DexGateway
from chain.dex.journal import Journal, MemoryJournal
from chain.dex.rebalance import RebalanceLimits, Rebalancer
from chain.dex.vault_ledger import VaultLedger
from chain.gateway import ChainGateway
from market.universe import Universe, build_universe

E18 = 10**18


@dataclass
class DexWorld:
    chain: ChainGateway
    dex: DexGateway
    universe: Universe
    vault: str
    vault_block: int
    keeper: str
    journal: Journal

    def ledger(self, journal: Journal | None = None, dex: DexGateway | None = None) -> VaultLedger:
        return VaultLedger(
            dex or self.dex, self.vault, journal or self.journal, start_block=self.vault_block
        )

    def rebalancer(
        self,
        *,
        journal: Journal | None = None,
        dex: DexGateway | None = None,
        limits: RebalanceLimits | None = None,
    ) -> Rebalancer:
        journal = journal or self.journal
        dex = dex or self.dex
        return Rebalancer(
            dex,
            vault=self.vault,
            journal=journal,
            ledger=self.ledger(journal, dex),
            limits=limits,
            keeper=self.keeper,
        )

    def weights(self, values: Sequence[float]) -> dict[str, float]:
        return dict(zip(self.universe.tokens, values, strict=True))


def make_dex_world(
    chain: ChainGateway | None = None,
    *,
    prices: Sequence[float] = (2.0, 0.5, 10.0, 1.0),
    depth_quote: int = 10**6 * E18,
    capital: int = 10_000 * E18,
    tournament_id: int = 1,
) -> DexWorld:
    chain = chain or ChainGateway.in_process(deploy=False)
    dex = DexGateway(chain)
    symbols = [f"T{i}" for i in range(len(prices))]
    universe = build_universe(dex, symbols=symbols, start_prices=prices, depth_quote=depth_quote)
    keeper = chain.dev_accounts[0]
    vault = dex.deploy_vault(
        quote=universe.quote, keeper=keeper, tournament_id=tournament_id, tokens=universe.tokens
    )
    vault_block = chain.block_number()
    dex.mint(token=universe.quote, to=chain.operator, amount=capital)
    dex.vault_deposit(vault=vault, amount=capital)
    return DexWorld(
        chain=chain,
        dex=dex,
        universe=universe,
        vault=vault,
        vault_block=vault_block,
        keeper=keeper,
        journal=MemoryJournal(),
    )
