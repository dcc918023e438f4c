"""A DEX market's trading rules are bounded: a sponsor cannot make every round build a
training frame of billions of rows in the scheduler's process."""

import pytest

from dex.services.markets import MAX_HISTORY_ERAS, TradingRules, _check_rules

pytestmark = pytest.mark.django_db


def test_history_eras_is_bounded(market):
    huge = TradingRules(
        capital=1, era_seconds=1, history_eras=2_000_000_000, feature_windows=(1_999_999_990,)
    )
    assert f"history_eras must be at most {MAX_HISTORY_ERAS:,}" in _check_rules(
        huge, market.tournament
    )
    fine = TradingRules(
        capital=1, era_seconds=1, history_eras=MAX_HISTORY_ERAS, feature_windows=(5,)
    )
    assert not any("history_eras" in p for p in _check_rules(fine, market.tournament))
