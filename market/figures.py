"""Figures for DEX tournaments: rebalance gas, execution cost, P&L-contribution time.

    .venv/bin/python -m market.figures                        # in-process chain
    .venv/bin/python -m market.figures --backend anvil        # an anvil node (npm ci)
    .venv/bin/python -m market.figures --tokens 10 50 --capital 10000 --depth 1000000

For each universe size N: a fresh chain, N tokens with pools ``--depth`` quote tokens deep,
a vault holding ``--capital`` quote tokens, then two rebalances through the keeper path
(chain/dex/rebalance.py, one transaction per trade, each with its slippage limit, deadline and
idempotency key):

* ``initial``  — all cash into a tilt around equal weight (N buys);
* ``re-tilt``  — to the opposite tilt (sells first, then buys).

Gas is the sum of the trades' receipt gas (intrinsic and calldata included). Execution
cost is measured against each trade's pre-trade mid price (see chain/dex/rebalance.py):
the 30 bps fee plus price impact, which grows with trade size / pool depth. Then the P&L
contribution timing of scoring/bench_pnl.py for N = 5,000 models × K = 500 tokens.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

from chain.anvil import start_anvil
from chain.dex.gateway import DexGateway
from chain.dex.journal import MemoryJournal
from chain.dex.rebalance import Rebalancer, RebalanceResult
from chain.dex.vault_ledger import VaultLedger
from chain.gateway import ChainGateway
from market.universe import build_universe
from scoring.bench_pnl import _time, synthetic_round
from scoring.pnl import contributions_from_predictions, pnl_contributions
from scoring.ranking import gauss_rank

E18 = 10**18


def _summary(result: RebalanceResult) -> dict[str, Any]:
    trades = [t for t in result.trades if t["status"] == "done"]
    return {
        "trades": len(trades),
        "sells": sum(t["phase"] == "sell" for t in trades),
        "buys": sum(t["phase"] == "buy" for t in trades),
        "gas_total": result.gas_used,
        "gas_per_trade": result.gas_used // max(1, len(trades)),
        "traded_quote": result.traded_quote / E18,
        "execution_cost_bps": round(result.execution_cost_bps, 2),
    }


def rebalance_figures(
    chain: ChainGateway, *, n_tokens: int, capital: int, depth_quote: int, seed: int = 1
) -> dict[str, Any]:
    """Deploy N pools and a vault on ``chain``; gas and cost of an initial and a re-tilt."""
    rng = np.random.default_rng(seed)
    dex = DexGateway(chain)
    prices = np.exp(rng.uniform(np.log(0.5), np.log(50.0), n_tokens)).tolist()
    symbols = [f"T{i:02d}" for i in range(n_tokens)]
    universe = build_universe(dex, symbols=symbols, start_prices=prices, depth_quote=depth_quote)
    keeper = chain.dev_accounts[0]
    vault = dex.deploy_vault(
        quote=universe.quote, keeper=keeper, tournament_id=seed, tokens=universe.tokens
    )
    vault_block = chain.block_number()
    dex.mint(token=universe.quote, to=chain.operator, amount=capital)
    dex.vault_deposit(vault=vault, amount=capital)
    journal = MemoryJournal()
    rebalancer = Rebalancer(
        dex,
        vault=vault,
        journal=journal,
        ledger=VaultLedger(dex, vault, journal, start_block=vault_block),
        keeper=keeper,
    )
    # A tilt of ±50% around equal weight, by a random signal, then its mirror image.
    signal = rng.standard_normal(n_tokens)
    z = (signal - signal.mean()) / np.abs(signal - signal.mean()).max()
    first = (1 + 0.5 * z) / n_tokens
    second = (1 - 0.5 * z) / n_tokens
    initial = rebalancer.run("initial", dict(zip(universe.tokens, first.tolist(), strict=True)))
    retilt = rebalancer.run("re-tilt", dict(zip(universe.tokens, second.tolist(), strict=True)))
    return {
        "tokens": n_tokens,
        "capital_quote": capital / E18,
        "pool_depth_quote": depth_quote / E18,
        "initial": _summary(initial),
        "re-tilt": _summary(retilt),
    }


def pnl_timing(n_models: int = 5_000, n_tokens: int = 500, repeats: int = 7) -> dict[str, Any]:
    data = synthetic_round(n_tokens, n_models, seed=7)
    gauss = np.asarray(gauss_rank(data["predictions"]))
    _, from_gauss, _ = _time(
        lambda: pnl_contributions(gauss, data["stakes"], data["returns"], tilt=0.5), repeats
    )
    _, from_raw, _ = _time(
        lambda: contributions_from_predictions(
            data["predictions"], data["stakes"], data["returns"], tilt=0.5
        ),
        repeats,
    )
    return {
        "models": n_models,
        "tokens": n_tokens,
        "median_ms_from_gauss_ranks": round(from_gauss * 1e3, 2),
        "median_ms_from_raw_predictions": round(from_raw * 1e3, 2),
        "target_ms": 100,
    }


def _chain(backend: str, node: Any) -> ChainGateway:
    if backend == "in-process":
        return ChainGateway.in_process(deploy=False)
    return ChainGateway.rpc(
        node.url, node.private_keys[0], dev_keys=node.private_keys[1:], poll_interval=0.02
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["in-process", "anvil"], default="in-process")
    parser.add_argument("--tokens", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--capital", type=int, default=10_000, help="vault capital (quote units)")
    parser.add_argument("--depth", type=int, default=1_000_000, help="quote per pool (units)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()
    figures: dict[str, Any] = {"backend": args.backend, "rebalances": []}
    for n_tokens in args.tokens:
        node = None
        if args.backend == "anvil":
            node = start_anvil()
        try:
            started = time.perf_counter()
            row = rebalance_figures(
                _chain(args.backend, node),
                n_tokens=n_tokens,
                capital=args.capital * E18,
                depth_quote=args.depth * E18,
            )
            row["wall_seconds"] = round(time.perf_counter() - started, 1)
            figures["rebalances"].append(row)
        finally:
            if node is not None:
                node.stop()
    figures["pnl_contributions"] = pnl_timing()
    if args.json:
        print(json.dumps(figures))
        return
    print(f"DEX figures on the {args.backend} chain")
    for row in figures["rebalances"]:
        print(
            f"\n{row['tokens']} tokens, vault {row['capital_quote']:,.0f} quote,"
            f" pools {row['pool_depth_quote']:,.0f} quote deep ({row['wall_seconds']} s)"
        )
        for phase in ("initial", "re-tilt"):
            s = row[phase]
            print(
                f"  {phase:8s} {s['trades']:3d} trades ({s['sells']} sells, {s['buys']} buys)"
                f"  gas {s['gas_total']:>10,}  ({s['gas_per_trade']:,} per trade)"
                f"  traded {s['traded_quote']:>10,.0f}  cost {s['execution_cost_bps']:6.2f} bps"
                " vs pre-trade mid"
            )
    p = figures["pnl_contributions"]
    print(
        f"\nP&L contributions, N={p['models']:,} × K={p['tokens']}:"
        f" {p['median_ms_from_gauss_ranks']} ms from gauss ranks,"
        f" {p['median_ms_from_raw_predictions']} ms from raw predictions"
        f" (target {p['target_ms']} ms)"
    )


if __name__ == "__main__":
    main()
