"""A sandwich around a DEX round's score-day read cannot move the day's target, mark or P&L.

Two worlds on fresh in-process chains, built through the platform's services to the same
state: a DEX tournament of five tokens, round 1 closed, its book (opening marks) and
rebalance, then honest trades that give the tokens returns of +12%, +6%, 0, −6% and −12%
since the open, and a quiet stretch longer than the market's 20-block price window. Every
block of both chains after a clock jump lies one second after its parent, so block numbers
and timestamps match block for block. Then the day's target is read:

* honest world: nothing happens around the read (empty blocks where the attacker trades);
* attacked world: an attacker buys the worst token (EEE, −12%) with a fifth of its pool's
  quote, pushing its spot price up ≈ 44% — at spot EEE would rank first — and sells back
  right after the read.

With the attacker's buy in the block the target is read at (a bundled sandwich), that
block's own state has no weight in the average: targets, average prices, the mark's value
and P&L equal the honest world's exactly. With the buy one block earlier (the pushed price
held over one block interval, open to anyone's arbitrage), the average moves by exactly the
push's share of the window's time (1 s of 20 s: ≈ 44%·0.88/20 ≈ 1.9 points of return), far
less than the 6-point gaps between the tokens' returns: the ranking, hence the five-bin
target, is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction

import numpy as np
import pytest
from django.utils import timezone

from chain.client import reset_gateway, use_gateway
from chain.dex import amm
from chain.dex.gateway import MAX_UINT256
from dex.models import JournalDocument, PnlMark, RebalanceState
from dex.services.exchange import dex_for, market_dex
from dex.services.history import dex_round_data
from dex.services.markets import TradingRules, UniverseToken, dex_tournament_create
from dex.services.marks import dex_round_target
from dex.services.trading import dex_rebalance, dex_round_book
from dex.tasks import rebalance_round_enqueue
from market.universe import build_universe
from scoring.dex_features import bin_cross_section
from tournaments.blobs import blob_store
from tournaments.models import Round, RoundState
from tournaments.selectors import live_ids
from tournaments.tables import read_table

# Four worlds through the services take about a minute: run with -m slow (.ci/run does). The
# chain-level twin (chain/tests/test_dex_twap.py) runs by default.
pytestmark = [
    pytest.mark.chain_integration,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

E18 = 10**18
SYMBOLS = ["AAA", "BBB", "CCC", "DDD", "EEE"]
START_PRICES = [1.0, 2.0, 0.5, 4.0, 8.0]
RETURNS = [
    Fraction(112, 100),
    Fraction(106, 100),
    Fraction(1),
    Fraction(94, 100),
    Fraction(88, 100),
]
VICTIM = "EEE"  # the worst token; the attacker makes it look like the best
PUSH_BPS = 2_000  # the attacker's buy: 20% of the pool's quote reserve (price ×1.2² ≈ +44%)
WINDOW = 20
CHAIN_TIME = 4_000_000_000  # both chains' clocks jump here; later blocks tick one second apart


@dataclass(frozen=True)
class Read:
    block: int
    timestamp: int
    ids: list[str]
    target: list[float]  # the day's five-bin target, live-id order
    averaged: dict[str, Fraction]  # the mark's prices: time-weighted averages
    spot: dict[str, Fraction]  # the pools at the read block
    opening: dict[str, Fraction]  # the book's opening marks
    value_at_mid: int
    pnl: int


def _price(reserves: list[str]) -> Fraction:
    return Fraction(int(reserves[1]), int(reserves[0]))


def _reserves(dex, pair: str, token: str) -> tuple[int, int]:
    return dex.reader.reserves(pair).oriented(dex.reader.pair(pair), token)


def _move_to(dex, *, trader: str, quote: str, token: str, pair: str, price: Fraction) -> None:
    """Swap the pool's price (R_quote/R_token) to ``price``, as an arbitrageur would."""
    reserve_token, reserve_quote = _reserves(dex, pair, token)
    if Fraction(reserve_quote, reserve_token) < price:
        amount, path = amm.arbitrage_input(reserve_quote, reserve_token, price), [quote, token]
    else:
        amount, path = amm.arbitrage_input(reserve_token, reserve_quote, 1 / price), [token, quote]
    dex.swap_exact_in(path=path, amount_in=amount, min_out=1, sender=trader)


def _world(settings, tmp_path, sponsor, name: str, sandwich: str, *, attack: bool) -> Read:
    """Build one world (see the module docstring) and read score day 1's target in it.
    ``sandwich`` fixes the blocks around the read: "in the read block" (F: the buy, read at F,
    F+1: the sell-back) or "one block before the read" (F−1: the buy, F: someone else's
    block, read at F, F+1: the sell-back). Without ``attack`` the attacker's blocks are empty."""
    settings.CHAIN_STATE_DIR = tmp_path / name
    reset_gateway()
    # Both worlds' vaults get the same address on their fresh chains, and the keeper's
    # journal is keyed by vault address: the other world's documents must not leak in.
    JournalDocument.objects.all().delete()
    now = timezone.now()
    with use_gateway() as gateway:
        gateway.advance_time(CHAIN_TIME - gateway.block_timestamp())
        dex = dex_for(gateway)
        universe = build_universe(
            dex, symbols=SYMBOLS, start_prices=START_PRICES, depth_quote=10**6 * E18
        )
        trader, attacker = gateway.dev_accounts[1], gateway.dev_accounts[2]
        victim = universe.market(VICTIM).token
        holdings = [(trader, t) for t in [universe.quote, *universe.tokens]] + [
            (attacker, universe.quote)
        ]
        for account, token in holdings:
            dex.mint(token=token, to=account, amount=10**9 * E18)
        for account, token in [*holdings, (attacker, victim)]:  # the attacker sells EEE back
            dex.approve(
                token=token, spender=universe.exchange.router, amount=MAX_UINT256, sender=account
            )
    tournament = dex_tournament_create(
        sponsor=sponsor,
        name=f"Sandwich {name}",
        slug=name,
        quote_token=universe.quote,
        quote_symbol="AUSD",
        factory=universe.exchange.factory,
        router=universe.exchange.router,
        tokens=[UniverseToken(m.symbol, m.token) for m in universe.markets],
        rules=TradingRules(capital=10_000 * E18, twap_blocks=WINDOW),
        now=now,
        round_interval=timedelta(minutes=2),
        submission_window=timedelta(minutes=1),
        resolution_lag=timedelta(seconds=30),
        score_days=2,
        score_day_interval=timedelta(seconds=30),
    )
    market = tournament.dex
    round, _ = Round.objects.get_or_create(
        tournament=tournament,
        number=1,
        defaults={"opens_at": now, "closes_at": now, "resolves_at": now},
    )
    dex_round_data(round=round, now=now)  # the round's live ids, from the pools, before it opens
    Round.objects.filter(pk=round.pk).update(state=RoundState.CLOSED, opens_at=now, closes_at=now)
    round.refresh_from_db()
    # opening marks; the rebalance follows
    book = dex_round_book(round=round, now=now, enqueue_rebalance=rebalance_round_enqueue)
    assert book.twap_blocks == WINDOW
    book = dex_rebalance(round=round)
    assert book.rebalance_state == RebalanceState.DONE and book.rebalance["executed"] == 5, (
        book.rebalance_error
    )

    pairs = {t.symbol: (t.token, t.pair) for t in market.tokens.all()}
    token, pair = pairs[VICTIM]
    with use_gateway() as gateway:
        dex = market_dex(market, gateway)
        for symbol, change in zip(SYMBOLS, RETURNS, strict=True):  # the honest market
            opening = _price(book.start_reserves[symbol])
            _move_to(
                dex,
                trader=trader,
                quote=market.quote_token,
                token=pairs[symbol][0],
                pair=pairs[symbol][1],
                price=opening * change,
            )
        for _ in range(WINDOW + 5):  # quiet: the window holds only the moved prices
            gateway.advance_time(1)
        _, reserve_quote = _reserves(dex, pair, token)
        held_before = dex.balance_of(token, attacker)
        if attack:  # the front-run: a fifth of the pool's quote buys the victim
            amount = reserve_quote * PUSH_BPS // 10_000
            dex.swap_exact_in(
                path=[market.quote_token, token], amount_in=amount, min_out=1, sender=attacker
            )
        else:
            gateway.advance_time(1)  # an empty block where the attacker would trade
        if sandwich == "one block before the read":
            gateway.advance_time(1)  # the read block: someone else's
    dex_round_target(round=round, day=1, now=now)  # the service reads the mark at the latest block
    mark = PnlMark.objects.get(round=round, day=1)
    with use_gateway() as gateway:
        dex = market_dex(market, gateway)
        assert mark.block == gateway.block_number()
        if attack:  # the back-run, right after the read
            bought = dex.balance_of(token, attacker) - held_before
            dex.swap_exact_in(
                path=[token, market.quote_token], amount_in=bought, min_out=1, sender=attacker
            )
        else:
            gateway.advance_time(1)
        timestamp = gateway.block_timestamp(mark.block)
    target = round.targets.get(day=1)
    table = read_table(blob_store().get(target.cid), "target.csv")
    by_id = dict(zip(table["id"].astype(str), table["target"].astype(float), strict=True))
    ids = live_ids(round=round)
    return Read(
        block=mark.block,
        timestamp=timestamp,
        ids=ids,
        target=[by_id[s] for s in ids],
        averaged={s: _price(mark.reserves[s]) for s in SYMBOLS},
        spot={s: _price(mark.spot_reserves[s]) for s in SYMBOLS},
        opening={s: _price(book.start_reserves[s]) for s in SYMBOLS},
        value_at_mid=mark.value_at_mid,
        pnl=mark.pnl,
    )


def _ranks(prices: dict[str, Fraction], opening: dict[str, Fraction]) -> list[float]:
    returns = np.log([float(prices[s] / opening[s]) for s in SYMBOLS])
    return bin_cross_section(returns[None, :])[0].tolist()


@pytest.mark.parametrize("sandwich", ["in the read block", "one block before the read"])
def test_a_sandwich_around_the_read_leaves_the_days_target_unchanged(
    settings, tmp_path, sponsor, sandwich
):
    honest = _world(settings, tmp_path, sponsor, "honest", sandwich, attack=False)
    attacked = _world(settings, tmp_path, sponsor, "attacked", sandwich, attack=True)

    # Like for like: the same read block at the same time, the same opening marks.
    assert (attacked.block, attacked.timestamp) == (honest.block, honest.timestamp)
    assert attacked.opening == honest.opening and attacked.ids == honest.ids == SYMBOLS
    # The honest ranking: returns +12% … −12% since the open, AAA best, EEE worst.
    assert honest.target == [1.0, 0.75, 0.5, 0.25, 0.0]
    for symbol, change in zip(SYMBOLS, RETURNS, strict=True):
        assert float(honest.averaged[symbol] / honest.opening[symbol]) == pytest.approx(
            float(change), rel=1e-12
        )
    assert honest.spot == honest.averaged  # quiet market: the average is the pool's price

    # The attack moved the victim's spot price at the read block by ≈ +44%: read at spot,
    # the worst token would have ranked best.
    spot_move = attacked.spot[VICTIM] / honest.spot[VICTIM] - 1
    assert float(spot_move) == pytest.approx(0.44, abs=0.005)
    assert _ranks(attacked.spot, attacked.opening) == [0.75, 0.5, 0.25, 0.0, 1.0]
    assert all(attacked.spot[s] == honest.spot[s] for s in SYMBOLS if s != VICTIM)

    # The day's target is the honest one.
    assert attacked.target == honest.target
    twap_move = attacked.averaged[VICTIM] / honest.averaged[VICTIM] - 1
    if sandwich == "in the read block":
        # The read block's own state has no weight: nothing moved, to the wei.
        assert attacked.averaged == honest.averaged
        assert (attacked.value_at_mid, attacked.pnl) == (honest.value_at_mid, honest.pnl)
        assert twap_move == 0
    else:
        # Held over one block interval (1 s of the window's 20 s, every block a second apart
        # here): the average moves by the push's share of the time, 44%/20 ≈ 2.2% — the
        # victim's return from −12% to ≈ −10.1%, still the worst by 4 points.
        pushed = attacked.spot[VICTIM]  # the state the buy left, held over that interval
        expected = honest.averaged[VICTIM] + (pushed - honest.spot[VICTIM]) / WINDOW
        assert abs(attacked.averaged[VICTIM] / expected - 1) < Fraction(1, 10**20)
        assert float(twap_move) == pytest.approx(float(spot_move) / WINDOW, rel=1e-12)
        assert all(attacked.averaged[s] == honest.averaged[s] for s in SYMBOLS if s != VICTIM)
        victim = float(attacked.averaged[VICTIM] / attacked.opening[VICTIM]) - 1
        assert victim == pytest.approx(-0.12 + 0.88 * float(spot_move) / WINDOW, abs=1e-9)
        assert victim < float(RETURNS[3]) - 1 - 0.03
        assert attacked.value_at_mid > honest.value_at_mid  # the vault's EEE, valued a bit higher
