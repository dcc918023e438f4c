"""A full DEX round on the in-process chain and on anvil: market and vault deployed, pools
seeded and replayed, the meta-model's tilt traded, marked to market, P&L and contributions."""

from __future__ import annotations

import numpy as np
import pytest

from chain.dex.gateway import DexGateway
from market.simulated_round import E18, run_dex_round
from scoring.pnl import excess_return

N_TOKENS = 6
TILT = 0.5
CAPITAL = 10_000 * E18


# A whole DEX round on both backends takes about a minute on two cores: run with -m slow
# (.ci/run does).
pytestmark = pytest.mark.slow

@pytest.fixture(scope="module")
def dex_round(gateway):
    return gateway, run_dex_round(
        gateway,
        n_tokens=N_TOKENS,
        n_models=25,
        seed=4,
        warmup_steps=5,
        round_steps=3,
        tilt=TILT,
        capital=CAPITAL,
    )


def test_the_vault_holds_the_tilt_of_the_meta_model(dex_round):
    gateway, result = dex_round
    w = result.weights
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert w.min() >= (1 - TILT) / N_TOKENS and w.max() <= (1 + TILT) / N_TOKENS
    assert result.start.value_at_mid == CAPITAL  # all cash before the first rebalance
    rebalance = result.rebalance
    assert (rebalance.executed, rebalance.failed) == (N_TOKENS, 0)
    assert [t["phase"] for t in rebalance.trades] == ["buy"] * N_TOKENS
    for trade, weight in zip(rebalance.trades, w, strict=True):
        assert int(trade["amount_in"]) == pytest.approx(weight * CAPITAL, rel=1e-12)
    dex = DexGateway(gateway)
    for trade in rebalance.trades:
        assert dex.balance_of(trade["token"], result.vault) == int(trade["amount_out"])
    # The 30 bps fee plus the impact of buying 0.1-0.3% of a pool 1M quote deep.
    assert 30 < rebalance.execution_cost_bps < 60


def test_pools_follow_the_path_and_the_vault_is_marked_to_market(dex_round):
    gateway, result = dex_round
    dex = DexGateway(gateway)
    for symbol, token in zip(result.path.tokens, result.universe.tokens, strict=True):
        assert result.end.price(token) == pytest.approx(result.path.price(8, symbol), rel=1e-12)
    assert result.end.value_at_mid == dex.vault_value_at_mid(result.vault, block=result.end.block)
    assert result.end.liquidation_value == dex.vault_liquidation_value(
        result.vault, block=result.end.block
    )
    assert result.replay_swaps >= 8 * N_TOKENS  # an arbitrage per pool and step, plus noise


def test_pnl_is_the_value_change_and_contributions_explain_the_tilt(dex_round):
    _, result = dex_round
    pnl = result.pnl
    assert pnl.pnl == result.end.value_at_mid - result.start.value_at_mid
    returns = result.token_returns
    assert pnl.benchmark_return == pytest.approx(returns.mean(), rel=1e-12)
    frictionless = excess_return(result.weights, returns)
    contributions = result.contributions
    assert contributions.excess_return == pytest.approx(frictionless, rel=1e-9, abs=1e-15)
    # Realised = frictionless tilt − execution cost, up to the cost's second-order effect
    # on the weights actually held.
    cost = result.rebalance.cost_quote / CAPITAL
    assert pnl.excess_return == pytest.approx(frictionless - cost, abs=5e-4)
    assert float(result.stakes @ contributions.gradient) == pytest.approx(0.0, abs=1e-15)
    assert np.isfinite(contributions.normalised).all()
    assert contributions.normalised.std() > 0
