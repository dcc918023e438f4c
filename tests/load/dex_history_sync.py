"""A DEX market's first pool-history read on the embedded chain, with and without the log index.

    python -m tests.load.dex_history_sync [--months 819] [--tokens 10] [--prices FILE]

Sets up, in a throwaway var/ folder with its own SQLite file and embedded chain, the demo
DEX market that `manage.py up --dex-prices FILE` builds (a price file of `--months` monthly
prices for `--tokens` portfolios with ISO dates, generated unless `--prices` names one).
Then reads every token's Sync/Swap history from block 0 to the head three ways, in this one
run, and checks that all three return the same rows:

* eth-tester's own ``get_logs`` (every receipt of the range serialised on every query);
* the log index of chain/_indexed_backend.py, cold (this process's first query reads each
  block's receipts once);
* the log index again, warm.

Also prints which secp256k1 backend eth-keys uses (coincurve's C library when installed,
else pure Python), since each receipt eth-tester serialises recovers its sender.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _price_file(folder: Path, months: int, tokens: int) -> Path:
    rng = np.random.default_rng(3)
    prices = 100 * np.exp(np.cumsum(rng.normal(0.005, 0.05, (months, tokens)), axis=0))
    lines = ["timestamp,token,price"]
    for month in range(months):
        date = f"{1949 + month // 12:04d}-{month % 12 + 1:02d}-01"
        lines += [f"{date},P{k:02d},{prices[month, k]:.4f}" for k in range(tokens)]
    path = folder / "prices.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _read_all(market, gateway) -> tuple[float, int]:
    from dex.services.exchange import market_dex

    reader = market_dex(market, gateway).reader
    head = gateway.block_number()
    started = time.perf_counter()
    rows = 0
    for token in market.tokens.all():
        rows += len(
            reader.pool_observations(token.pair, token.token, market.history_from_block, head).block
        )
    return time.perf_counter() - started, rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--months", type=int, default=819)
    parser.add_argument("--tokens", type=int, default=10)
    parser.add_argument("--prices", type=Path, default=None)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="arena-dex-sync-"))
    os.environ.update(
        {
            "ARENA_VAR_DIR": str(work),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "ARENA_CHAIN": "embedded",
        }
    )
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone
    from eth_keys import KeyAPI
    from eth_tester import EthereumTester

    from chain.client import use_gateway
    from demo.dex import demo_dex_create
    from demo.services import demo_user

    call_command("migrate", interactive=False, verbosity=0)
    prices = args.prices or _price_file(work, args.months, args.tokens)
    started = time.perf_counter()
    tournament = demo_dex_create(
        now=timezone.now(), sponsor=demo_user("bench-sponsor"), slug="bench", price_csv=prices
    )
    setup_s = time.perf_counter() - started
    market = tournament.dex
    with use_gateway() as gateway:
        tester = gateway._w3.provider.ethereum_tester  # the embedded node the gateway built
        blocks = gateway.block_number() + 1
        tester.get_logs = lambda **kw: EthereumTester.get_logs(
            tester, **kw
        )  # eth-tester's own scan
        scan_s, scan_rows = _read_all(market, gateway)
        del tester.get_logs  # back to the class's (indexed) method
        cold_s, cold_rows = _read_all(market, gateway)
        warm_s, warm_rows = _read_all(market, gateway)
    if not scan_rows == cold_rows == warm_rows:
        sys.exit(f"the readers disagree: {scan_rows}, {cold_rows}, {warm_rows} rows")
    backend = type(KeyAPI().backend).__name__
    print(f"chain: {blocks} blocks; market set up in {setup_s:.1f} s; eth-keys backend {backend}")
    print(f"{'history read, block 0 to head':<34} {'seconds':>8}  rows")
    for label, seconds in (
        ("eth-tester's own get_logs", scan_s),
        ("log index, cold", cold_s),
        ("log index, warm", warm_s),
    ):
        print(f"{label:<34} {seconds:>8.2f}  {scan_rows}")
    print(
        json.dumps(
            {
                "blocks": blocks,
                "rows": scan_rows,
                "eth_keys_backend": backend,
                "eth_tester_s": round(scan_s, 3),
                "indexed_cold_s": round(cold_s, 3),
                "indexed_warm_s": round(warm_s, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
