"""One DEX tournament round end to end on any chain the gateway reaches (demo, tests, figures).

``run_dex_round`` does, with generated data, the steps the platform's services will do with
real rounds:

1. market: a factor-model price path with a planted signal (market/price_paths.py), a quote
   token and one seeded pool per token, the replay keeper's traders funded;
2. vault: deployed for the tournament, the sponsor's capital deposited;
3. history: the replay walks the pools along the path for ``warmup_steps``;
4. close: N models' predictions (noisy views of the planted signal, of varying skill) and
   their stakes → gauss ranks → tilt weights (scoring/pnl.py) → rebalance with slippage
   limits, crash-safe and reconciled to the wei (chain/dex/rebalance.py);
5. the round: the replay moves the market ``round_steps`` further;
6. resolve: mark to market; P&L = the vault's value change in the quote token (fees and
   slippage included) and its excess over equal weights; each model's P&L contribution
   from the tokens' mid-price returns over the round.

This module orchestrates; the arithmetic lives in chain/dex/amm.py, chain/dex/rebalance.py and
scoring/pnl.py. It imports ``scoring`` (pure numpy) for the weights and contributions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chain.dex.gateway import DexGateway
from chain.dex.journal import Journal, MemoryJournal
from chain.dex.rebalance import RebalanceLimits, Rebalancer, RebalanceResult
from chain.dex.vault_ledger import Valuation, VaultLedger, mark_to_market
from chain.gateway import ChainGateway
from market.price_paths import PricePath, factor_model_path
from market.replay import MarketReplay
from market.universe import Universe, build_universe
from scoring.pnl import PnlContributions, VaultPnl, pnl_contributions, tilt_weights, vault_pnl
from scoring.ranking import gauss_rank

E18 = 10**18


@dataclass(frozen=True)
class DexRound:
    universe: Universe
    vault: str
    path: PricePath
    predictions: np.ndarray  # (K, N)
    stakes: np.ndarray  # (N,)
    skills: np.ndarray  # (N,) weight of the planted signal in each model's predictions
    weights: np.ndarray  # (K,) target weights
    rebalance: RebalanceResult
    start: Valuation  # before the rebalance (the round's opening marks)
    end: Valuation  # after the round's replay steps
    pnl: VaultPnl
    contributions: PnlContributions
    replay_swaps: int

    @property
    def token_returns(self) -> np.ndarray:
        tokens = self.universe.tokens
        return np.array([self.end.price(t) / self.start.price(t) - 1.0 for t in tokens])


def synthetic_models(
    signal: np.ndarray, n_models: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(predictions (K, N), stakes (N,), skills (N,)): model j predicts
    skill_j·signal + noise; stakes are exponential."""
    skills = rng.uniform(0.0, 1.0, n_models)
    noise = rng.standard_normal((signal.shape[0], n_models))
    predictions = signal[:, None] * skills[None, :] + noise
    stakes = rng.exponential(1_000.0, n_models)
    return predictions, stakes, skills


def run_dex_round(
    chain: ChainGateway,
    *,
    n_tokens: int = 5,
    n_models: int = 20,
    seed: int = 1,
    warmup_steps: int = 6,
    round_steps: int = 3,
    tilt: float = 0.5,
    capital: int = 10_000 * E18,
    depth_quote: int = 1_000_000 * E18,
    noise_trades: int = 1,
    journal: Journal | None = None,
    limits: RebalanceLimits | None = None,
    tournament_id: int = 1,
) -> DexRound:
    """Run one round (see the module docstring). Needs 4 dev accounts with keys in the
    gateway: keeper, arbitrageur and two noise traders; the operator is the minter."""
    keeper, arbitrageur, *noise = chain.dev_accounts[:4]
    dex = DexGateway(chain)
    symbols = [f"T{i:02d}" for i in range(n_tokens)]
    path = factor_model_path(
        symbols, warmup_steps + round_steps + 1, seed=seed, window=min(5, warmup_steps)
    )
    universe = build_universe(
        dex, symbols=symbols, start_prices=path.prices[0].tolist(), depth_quote=depth_quote
    )
    replay = MarketReplay(
        dex,
        universe,
        path,
        seed=seed,
        arbitrageur=arbitrageur,
        noise_traders=noise,
        noise_trades=noise_trades,
    )
    replay.fund_traders(quote_amount=depth_quote * 10, token_amount=10**12 * E18)
    vault = dex.deploy_vault(
        quote=universe.quote, keeper=keeper, tournament_id=tournament_id, tokens=universe.tokens
    )
    vault_block = chain.block_number()
    dex.mint(token=universe.quote, to=chain.operator, amount=capital)
    dex.vault_deposit(vault=vault, amount=capital)

    swaps = sum(len(r.swaps) for r in replay.run(range(1, warmup_steps + 1)))

    rng = np.random.default_rng(seed)
    predictions, stakes, skills = synthetic_models(path.signal[warmup_steps], n_models, rng)
    gauss = gauss_rank(predictions)
    weights = tilt_weights(gauss, stakes, tilt=tilt)
    journal = journal or MemoryJournal()
    ledger = VaultLedger(dex, vault, journal, start_block=vault_block)
    start = mark_to_market(dex, vault)
    rebalance = Rebalancer(
        dex, vault=vault, journal=journal, ledger=ledger, limits=limits, keeper=keeper
    ).run(f"round-{tournament_id}-1", dict(zip(universe.tokens, weights.tolist(), strict=True)))

    last = warmup_steps + round_steps
    swaps += sum(len(r.swaps) for r in replay.run(range(warmup_steps + 1, last + 1)))
    end = mark_to_market(dex, vault)
    tokens = universe.tokens
    prices_start = [start.price(t) for t in tokens]
    prices_end = [end.price(t) for t in tokens]
    pnl = vault_pnl(
        value_start=start.value_at_mid,
        value_end=end.value_at_mid,
        prices_start=prices_start,
        prices_end=prices_end,
    )
    returns = np.array(prices_end) / np.array(prices_start) - 1.0
    contributions = pnl_contributions(gauss, stakes, returns, tilt=tilt)
    return DexRound(
        universe=universe,
        vault=vault,
        path=path,
        predictions=predictions,
        stakes=stakes,
        skills=skills,
        weights=weights,
        rebalance=rebalance,
        start=start,
        end=end,
        pnl=pnl,
        contributions=contributions,
        replay_swaps=swaps,
    )
