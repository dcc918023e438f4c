"""A DEX market recorded in the database without a chain: tokens, pools' copied history."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from dex.models import DexMarket, DexToken, PoolObservation
from tournaments.models import TournamentKind
from tournaments.services.tournaments import tournament_create

E18 = 10**18
ERA = 15
T0 = 1_800_000_000
SYMBOLS = ["AAA", "BBB", "CCC", "DDD", "EEE"]
# prices[e][k]: token k at era e (one Sync per era, at the era's end).
PRICES = np.array(
    [
        [1.0, 2.0, 3.0, 4.0, 5.0],
        [1.1, 2.0, 2.7, 4.4, 5.0],
        [1.2, 1.8, 2.7, 4.8, 5.5],
        [1.3, 1.9, 2.4, 4.8, 5.0],
        [1.1, 2.1, 2.5, 5.2, 5.1],
        [1.0, 2.4, 2.6, 5.0, 5.3],
    ]
)


def reserves_of(prices) -> dict[str, list[str]]:
    """{symbol: [R_token, R_quote]} as stored marks keep them, for prices in quote per token."""
    return {s: [str(1000 * E18), str(int(p * 1000) * E18)] for s, p in zip(SYMBOLS, prices, strict=True)}


def address(i: int) -> str:
    return "0x" + f"{i:040x}"


@pytest.fixture
def market(sponsor):
    tournament = tournament_create(
        sponsor=sponsor,
        name="Dex data",
        kind=TournamentKind.DEX,
        first_round_at=timezone.now(),
        resolution_lag=timedelta(seconds=15),
        score_days=2,
        score_day_interval=timedelta(seconds=15),  # horizon 30 s = 2 eras
    )
    market = DexMarket.objects.create(
        tournament=tournament, quote_token=address(1), quote_symbol="Q", factory=address(2),
        router=address(3), vault=address(4), vault_block=1, keeper=address(5), capital=E18,
        era_seconds=ERA, history_eras=6, feature_windows=[1, 2],
    )
    for k, symbol in enumerate(SYMBOLS):
        token = DexToken.objects.create(market=market, position=k, symbol=symbol, token=address(10 + k),
                                        pair=address(20 + k))
        for e in range(len(PRICES)):
            PoolObservation.objects.create(
                token=token, block=e + 1, timestamp=T0 + e * ERA, reserve_base=1000 * E18,
                reserve_quote=int(PRICES[e, k] * 1000) * E18, volume_quote=(e + k) * E18,
            )
    return market


