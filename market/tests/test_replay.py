"""Reference paths (CSV, factor model) and the market replay on the in-process chain."""

from __future__ import annotations

import io
from fractions import Fraction

import numpy as np
import pytest
from scipy.stats import spearmanr

from chain.dex.gateway import DexGateway
from chain.gateway import ChainGateway
from market.price_paths import factor_model_path, load_price_csv
from market.replay import MarketReplay
from market.universe import build_universe
from scoring.dex_features import forward_return_target, resample_pool, token_features

E18 = 10**18
CSV = """timestamp,token,price
1700000000,BBB,0.5
1700000000,AAA,2.0
1700003600,AAA,2.2
1700003600,BBB,0.45
1700007200,BBB,0.47
1700007200,AAA,1.9
1700010800,AAA,2.05
1700010800,BBB,0.52
"""


def test_csv_path_is_read_into_a_complete_grid():
    path = load_price_csv(io.StringIO(CSV))
    assert path.tokens == ("AAA", "BBB")
    assert path.timestamps.tolist() == [1700000000, 1700003600, 1700007200, 1700010800]
    assert path.prices.tolist() == [[2.0, 0.5], [2.2, 0.45], [1.9, 0.47], [2.05, 0.52]]
    assert path.price(2, "BBB") == 0.47


def test_iso_dates_and_datetimes_are_read_as_utc_unless_they_say():
    text = (
        "timestamp,token,price\n"
        "1949-01-01,A,1\n1949-01-01,B,2\n"
        "1949-02-01T00:00:00Z,A,1.5\n1949-02-01 01:00:00+01:00,B,2.5\n"
        "-631152000,A,1.2\n-631152000,B,2.2\n"
    )
    path = load_price_csv(io.StringIO(text))
    # 1949-01-01 00:00 UTC is -662688000; Feb 1 both spellings are -660009600.
    assert path.timestamps.tolist() == [-662688000, -660009600, -631152000]
    assert path.prices.tolist() == [[1.0, 2.0], [1.5, 2.5], [1.2, 2.2]]


def test_a_price_file_of_ten_portfolios_and_819_months_loads(tmp_path):
    """The size of the file a new user tried (10 industry portfolios, 819 monthly prices)."""
    rows = ["timestamp,token,price"]
    for month in range(819):
        year, m = divmod(month, 12)
        rows += [f"{1949 + year}-{m + 1:02d}-01,IND{k},{100 + month + k}" for k in range(10)]
    csv_file = tmp_path / "industries.csv"
    csv_file.write_text("\n".join(rows) + "\n")
    path = load_price_csv(csv_file)
    assert path.prices.shape == (819, 10)
    assert path.tokens[0] == "IND0" and path.price(818, "IND9") == 100 + 818 + 9
    assert np.all(np.diff(path.timestamps) > 0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("time,token,price\n1,A,1\n", "header must be timestamp,token,price"),
        ("timestamp,token,price\n1,A,1\n1,B,1\n2,A,1\n", r"incomplete: 1 missing, e.g. B@2"),
        ("timestamp,token,price\n1,A,-3\n", "line 2: price must be finite and positive"),
        ("timestamp,token,price\n1,A,1\n1,A,2\n", "line 3: second price for A at 1"),
        ("timestamp,token,price\nx,A,1\n", "line 2: timestamp 'x' is neither Unix seconds nor an ISO 8601 date"),
        ("timestamp,token,price\n1949-13-01,A,1\n", "line 2: timestamp '1949-13-01' is neither"),
        ("timestamp,token,price\n1,A,cheap\n", "line 2: price 'cheap' is not a number"),
        ("timestamp,token,price\n", "no rows"),
    ],
)
def test_bad_csv_is_refused_with_the_line(text, message):
    with pytest.raises(ValueError, match=message):
        load_price_csv(io.StringIO(text))


def test_factor_model_is_deterministic_and_its_signal_is_the_momentum_feature():
    tokens = [f"T{i}" for i in range(20)]
    a = factor_model_path(tokens, 300, seed=5)
    b = factor_model_path(tokens, 300, seed=5)
    c = factor_model_path(tokens, 300, seed=6)
    assert np.array_equal(a.prices, b.prices) and np.array_equal(a.signal, b.signal)
    assert not np.array_equal(a.prices, c.prices)
    # The planted signal is the ranked return_5 feature computed from the prices alone...
    features = token_features(
        a.prices, np.zeros_like(a.prices), np.ones_like(a.prices), windows=(5,)
    )
    for t in range(5, 300):
        assert spearmanr(features["return_5"][t], a.signal[t]).statistic == pytest.approx(1.0)
    # ...and it predicts the next step's five-bin target: a learnable edge.
    target = forward_return_target(a.prices, horizon=1)
    per_era = [spearmanr(features["return_5"][t], target[t]).statistic for t in range(5, 299)]
    mean, spread = np.mean(per_era), np.std(per_era)
    assert mean > 0.15
    assert mean / (spread / np.sqrt(len(per_era))) > 8  # t-statistic of the edge


def replay_on_a_fresh_chain(seed: int, steps: int = 3):
    chain = ChainGateway.in_process(deploy=False)
    dex = DexGateway(chain)
    path = factor_model_path(["AAA", "BBB", "CCC"], steps + 1, seed=11, window=2)
    universe = build_universe(
        dex,
        symbols=["AAA", "BBB", "CCC"],
        start_prices=path.prices[0].tolist(),
        depth_quote=10**5 * E18,
    )
    replay = MarketReplay(
        dex,
        universe,
        path,
        seed=seed,
        arbitrageur=chain.dev_accounts[1],
        noise_traders=chain.dev_accounts[2:4],
        noise_trades=2,
    )
    replay.fund_traders(quote_amount=10**7 * E18, token_amount=10**9 * E18)
    return dex, universe, path, replay.run(range(1, steps + 1))


@pytest.mark.slow  # two full replays on the in-process chain (~30 s)
def test_replay_is_deterministic_given_the_seed_and_tracks_the_path():
    dex, universe, path, reports = replay_on_a_fresh_chain(seed=42)
    _, _, _, same = replay_on_a_fresh_chain(seed=42)
    _, _, _, other = replay_on_a_fresh_chain(seed=43)

    def fingerprint(rs):
        return [
            (
                r.step,
                [(s.symbol, s.kind, s.trader, s.sold, s.amount_in, s.amount_out) for s in r.swaps],
                r.reserves,
            )
            for r in rs
        ]

    assert fingerprint(reports) == fingerprint(same)  # same swaps, same reserves to the wei
    assert fingerprint(reports) != fingerprint(other)
    for report in reports:
        kinds = [s.kind for s in report.swaps]
        assert kinds.count("noise") == 2 * 3 and kinds.count("arbitrage") == 3
        for symbol, (reserve_token, reserve_quote) in report.reserves.items():
            reference = Fraction(path.price(report.step, symbol))
            pool = Fraction(reserve_quote, reserve_token)
            assert abs(pool / reference - 1) < Fraction(1, 10**12)

    # The history is readable through the V2 reader and turns into features.
    market = universe.market("BBB")
    rows = dex.reader.pool_observations(market.pair, market.token, dex.exchange.block)
    swaps_in_bbb = sum(1 for r in reports for s in r.swaps if s.symbol == "BBB")
    assert len(rows.timestamp) == 1 + swaps_in_bbb  # the seeding Sync, then one per swap
    quote_volume = sum(
        s.amount_in if s.sold == "quote" else s.amount_out
        for r in reports
        for s in r.swaps
        if s.symbol == "BBB"
    )
    assert sum(rows.volume_quote) == quote_volume
    series = resample_pool(
        rows.timestamp,
        rows.reserve_base,
        rows.reserve_quote,
        rows.volume_quote,
        era_ends=[rows.timestamp[-1]],
    )
    assert series["price"][0] == pytest.approx(path.price(3, "BBB"), rel=1e-12)
    assert series["volume"][0] == pytest.approx(quote_volume / E18, rel=1e-12)


def test_replay_refuses_a_path_without_the_universe_tokens():
    chain = ChainGateway.in_process(deploy=False)
    dex = DexGateway(chain)
    universe = build_universe(dex, symbols=["AAA"], start_prices=[1.0], depth_quote=10 * E18)
    path = load_price_csv(io.StringIO(CSV.replace("AAA", "ZZZ")))
    with pytest.raises(ValueError, match=r"no prices for \['AAA'\]"):
        MarketReplay(dex, universe, path, seed=1, arbitrageur=chain.operator, noise_traders=[])
