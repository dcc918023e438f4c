"""The exchange (pair blueprint, factory, router), tokens and a vault on titanoboa's EVM.

Used by the DEX contract unit tests. Compiles each contract once per session through
``contract_world.deployer`` (which also applies the boa cache-directory workaround).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boa

from chain.tests.contract_world import deployer

FAR_DEADLINE = 2**40
MAX = 2**256 - 1


@dataclass
class Exchange:
    factory: Any
    router: Any
    owner: str

    def token(self, symbol: str) -> Any:
        return deployer("ArenaToken").deploy(f"Token {symbol}", symbol, 0, True)

    def pair(self, token_a: Any, token_b: Any) -> Any:
        address = self.factory.getPair(token_a.address, token_b.address)
        if int(address, 16) == 0:
            address = self.factory.createPair(token_a.address, token_b.address)
        return deployer("ArenaPair").at(address)

    def fund(self, account: str, *tokens: Any, amount: int = 10**30) -> None:
        for token in tokens:
            token.mint(account, amount)
            with boa.env.prank(account):
                token.approve(self.router.address, MAX)

    def seed(self, token_a: Any, token_b: Any, amount_a: int, amount_b: int) -> Any:
        """Pool with exactly these reserves, liquidity from ``owner``."""
        self.fund(self.owner, token_a, token_b, amount=max(amount_a, amount_b))
        with boa.env.prank(self.owner):
            self.router.addLiquidity(
                token_a.address, token_b.address, amount_a, amount_b, 0, 0, self.owner, FAR_DEADLINE
            )
        return self.pair(token_a, token_b)


def reserves_of(pair: Any, token: Any) -> tuple[int, int]:
    """(token's reserve, the other reserve)."""
    r0, r1, _ = pair.getReserves()
    return (r0, r1) if pair.token0() == token.address else (r1, r0)


def make_exchange() -> Exchange:
    blueprint = deployer("ArenaPair").deploy_as_blueprint()
    factory = deployer("ArenaFactory").deploy(blueprint.address)
    router = deployer("ArenaRouter").deploy(factory.address)
    return Exchange(factory=factory, router=router, owner=boa.env.generate_address("lp"))
