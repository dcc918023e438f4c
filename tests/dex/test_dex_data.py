"""DEX tournaments without a chain: the feature pipeline over copied pool history, the
score-day target, and the checks a sponsor's universe and schedule must pass."""

from datetime import UTC, timedelta

import numpy as np
import pytest
from django.utils import timezone

from core.errors import Conflict, InvalidInput
from dex.models import DexBook, PnlMark
from dex.services.history import MISSING_FEATURE, live_frame, training_frame
from dex.services.markets import TradingRules, UniverseToken, dex_tournament_create, horizon_eras
from dex.services.marks import day_target
from tests.dex.conftest import E18, ERA, PRICES, SYMBOLS, T0, address, reserves_of
from tournaments.models import TournamentKind
from tournaments.services.tournaments import tournament_create

pytestmark = pytest.mark.django_db

def _bins(values) -> list[float]:
    order = np.argsort(np.argsort(values))
    return [float(np.floor(5 * (r + 0.5) / len(values)) / 4) for r in order]


def test_live_data_is_each_tokens_features_at_the_last_era_ranked_in_five_bins(market):
    live = live_frame(market, chain_now=T0 + 5 * ERA)
    assert live["id"].tolist() == SYMBOLS
    assert set(live["era"]) == {T0 + 5 * ERA}
    one_era = np.log(PRICES[5] / PRICES[4])  # 1.0/1.1, 2.4/2.1, 2.6/2.5, 5.0/5.2, 5.3/5.1
    assert live["feature_return_1"].tolist() == _bins(one_era)
    two_eras = np.log(PRICES[5] / PRICES[3])
    assert live["feature_return_2"].tolist() == _bins(two_eras)
    assert {c for c in live.columns if c.startswith("feature_")} >= {
        "feature_volatility_2", "feature_ma_distance_2", "feature_liquidity", "feature_volume_1",
        "feature_turnover_2",
    }


def test_features_without_enough_history_are_the_middle_bin(market):
    live = live_frame(market, chain_now=T0)  # the first era: no return can be computed yet
    assert live["feature_return_1"].tolist() == [MISSING_FEATURE] * 5
    assert live["feature_liquidity"].tolist() == _bins(PRICES[0])  # liquidity = 2·R_quote


def test_training_data_targets_the_forward_return_over_the_rounds_horizon(market):
    assert horizon_eras(market) == 2
    training = training_frame(market, chain_now=T0 + 5 * ERA)
    # Eras 0..3 have a known return two eras ahead; eras 4 and 5 do not, so they are left out.
    assert sorted(set(training["era"])) == [T0 + e * ERA for e in range(4)]
    era1 = training[training["era"] == T0 + ERA]
    assert era1["id"].tolist() == [f"{T0 + ERA}:{s}" for s in SYMBOLS]
    assert era1["target"].tolist() == _bins(np.log(PRICES[3] / PRICES[1]))



def test_the_score_day_target_ranks_returns_since_the_open(market):
    book = DexBook(start_reserves=reserves_of(PRICES[0]))
    mark = PnlMark(reserves=reserves_of(PRICES[3]))
    assert day_target(book, mark, SYMBOLS).tolist() == _bins(np.log(PRICES[3] / PRICES[0]))


def _create(sponsor, **overrides):
    fields = dict(
        sponsor=sponsor, name="Bad", quote_token=address(1), quote_symbol="Q", factory=address(2),
        router=address(3), tokens=[UniverseToken(s, address(10 + i)) for i, s in enumerate(SYMBOLS)],
        rules=TradingRules(capital=E18), now=timezone.now(), round_interval=timedelta(minutes=2),
        resolution_lag=timedelta(seconds=30), score_days=3, score_day_interval=timedelta(seconds=30),
    )
    return dex_tournament_create(**(fields | overrides))


def test_a_bad_universe_or_schedule_is_refused_with_every_reason(sponsor):
    with pytest.raises(InvalidInput) as caught:
        _create(
            sponsor,
            tokens=[UniverseToken("AAA", address(10)), UniverseToken("AAA", address(11)),
                    UniverseToken("b@d", "0x12"), UniverseToken("QQ", address(1))],
            rules=TradingRules(capital=0, tilt=1.5),
            round_interval=timedelta(seconds=60),
        )
    problems = caught.value.details["problems"]
    assert "a universe has 5 to 128 tokens; got 4" in problems
    assert "tokens[1]: symbol AAA appears twice" in problems
    assert "tokens[2]: symbol 'b@d' must be 1-12 letters, digits, _ or -" in problems
    assert "tokens[2] (b@d): '0x12' is not an address" in problems
    assert "tokens[3] (QQ): the quote token cannot be traded against itself" in problems
    assert "capital must be positive" in problems
    assert "tilt must be between 0 and 1 (weights stay within (1 ± tilt)/K)" in problems
    assert any(p.startswith("resolution_lag + (score_days − 1)·score_day_interval must not exceed") for p in problems)


def test_a_good_universe_needs_a_chain_to_trade_on(sponsor):
    with pytest.raises(Conflict, match="DEX tournaments trade on a chain"):
        _create(sponsor)


def test_only_dex_tournaments_take_a_pnl_multiplier(sponsor):
    with pytest.raises(InvalidInput, match="pnl_multiplier applies to DEX tournaments only"):
        tournament_create(sponsor=sponsor, name="Classic", pnl_multiplier=1.0)
    with pytest.raises(InvalidInput, match="pnl_multiplier must be a finite number, 0 or more"):
        tournament_create(sponsor=sponsor, name="Dex", kind=TournamentKind.DEX, pnl_multiplier=-1.0)


def test_long_rounds_are_marked_at_most_about_240_times(market, settings):
    from datetime import datetime

    from dex.services.rounds import mark_interval
    from tournaments.models import Round

    settings.ARENA_DEX_MARK_SECONDS = 5
    close = datetime(2026, 1, 1, tzinfo=UTC)
    short = Round(tournament=market.tournament, closes_at=close, resolves_at=close + timedelta(minutes=1))
    day = Round(tournament=market.tournament, closes_at=close, resolves_at=close + timedelta(days=1))
    assert mark_interval(short) == timedelta(seconds=5)
    assert mark_interval(day) == timedelta(minutes=6)
