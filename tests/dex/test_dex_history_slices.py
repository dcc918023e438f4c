"""A DEX market's pool history is read a bounded slice per tick, for a price file of the
size a new user tried (10 industry portfolios, 819 monthly prices, ISO dates): the round
waits while the history is read, then opens with its whole window, and the slices add up
to exactly the history one unbounded read returns."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from chain.client import use_gateway
from demo.dex import DexDemoSchedule, demo_dex_create
from demo.services import demo_user
from dex.models import PoolObservation
from dex.services.exchange import market_dex
from tournaments.models import RoundState
from tournaments.selectors import dataset_frame
from tournaments.services.scheduler import scheduler_tick

pytestmark = [
    pytest.mark.chain_integration,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

SCHEDULE = DexDemoSchedule(
    round_interval=timedelta(seconds=90),
    submission_window=timedelta(seconds=30),
    resolution_lag=timedelta(seconds=15),
    score_days=2,
    score_day_interval=timedelta(seconds=15),
    challenge_window=timedelta(seconds=5),
    era_seconds=15,
)
INDUSTRIES = [
    "NoDur",
    "Durbl",
    "Manuf",
    "Enrgy",
    "HiTec",
    "Telcm",
    "Shops",
    "Hlth",
    "Utils",
    "Other",
]


@pytest.fixture
def industry_prices(tmp_path):
    rng = np.random.default_rng(3)
    prices = 100 * np.exp(np.cumsum(rng.normal(0.005, 0.05, (819, 10)), axis=0))
    lines = ["timestamp,token,price"]
    for month in range(819):
        date = f"{1949 + month // 12:04d}-{month % 12 + 1:02d}-01"
        lines += [f"{date},{name},{prices[month, k]:.4f}" for k, name in enumerate(INDUSTRIES)]
    path = tmp_path / "industries.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_history_is_read_in_slices_and_the_round_then_opens_with_its_whole_window(
    settings, industry_prices
):
    settings.ARENA_DEX_SYNC_BLOCKS = 40
    start = timezone.now()
    tournament = demo_dex_create(
        now=start,
        sponsor=demo_user("dex-sponsor"),
        slug="industries",
        schedule=SCHEDULE,
        price_csv=industry_prices,
    )
    market = tournament.dex
    with use_gateway() as gateway:
        head = gateway.block_number()
        reader = market_dex(market, gateway).reader
        expected = sum(
            len(reader.pool_observations(t.pair, t.token, market.history_from_block, head).block)
            for t in market.tokens.all()
        )
    slices = -(-(head - market.history_from_block + 1) // 40)
    assert slices >= 3  # the history is longer than a slice, or this test shows nothing

    now = tournament.first_round_at
    waited, read_to = 0, [market.history_from_block - 1]
    for _ in range(slices + 3):
        report = scheduler_tick(now=now, tournaments=[tournament])
        waited += sum("history is still being read" in w for w in report.waiting)
        market.refresh_from_db()
        read_to.append(market.history_synced_to)
        round = tournament.rounds.get(number=1)
        if round.state == RoundState.OPEN:
            break
        now += timedelta(seconds=1)
    assert round.state == RoundState.OPEN
    # One slice per tick, never more: the round waited while the rest was read.
    assert max(b - a for a, b in zip(read_to, read_to[1:], strict=False)) <= 40
    assert waited == slices - 1
    assert market.history_synced_to >= head
    assert PoolObservation.objects.filter(token__market=market, block__lte=head).count() == expected
    assert sorted(dataset_frame(round.live_dataset)["id"]) == sorted(INDUSTRIES)
    # Opened late (after the slices), so the whole window lies ahead of the tick that opened it.
    assert round.closes_at == max(
        now + SCHEDULE.submission_window, round.opens_at + SCHEDULE.submission_window
    )
