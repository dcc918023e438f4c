"""A DEX tournament's keeper through the platform's services on the in-process chain: a
rebalance that crashes after a trade executed resumes without trading twice, and a vault
that stops reconciling halts trading until an operator books the difference."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chain.client import use_gateway
from chain.dex.gateway import DexGateway
from chain.dex.vault_ledger import mark_to_market
from core.errors import InvalidInput
from dex.models import DexBook, RebalanceState, TradingHalt
from dex.services.exchange import dex_for, market_dex
from dex.services.markets import TradingRules, UniverseToken, dex_tournament_create
from dex.services.trading import (
    dex_halt_resolve,
    dex_rebalance,
    market_symbols,
    reserves_json,
    vault_ledger,
)
from market.universe import build_universe
from tournaments.models import Round, RoundState

pytestmark = [pytest.mark.chain_integration, pytest.mark.django_db(transaction=True)]

E18 = 10**18
SYMBOLS = ["AAA", "BBB", "CCC", "DDD", "EEE"]
WEIGHTS = dict(zip(SYMBOLS, [0.3, 0.25, 0.2, 0.15, 0.1], strict=True))


@pytest.fixture
def market(sponsor):
    with use_gateway() as gateway:
        universe = build_universe(
            dex_for(gateway), symbols=SYMBOLS, start_prices=[1.0, 2.0, 0.5, 4.0, 8.0],
            depth_quote=1_000_000 * E18,
        )
    tournament = dex_tournament_create(
        sponsor=sponsor, name="Keeper", slug="keeper", quote_token=universe.quote, quote_symbol="AUSD",
        factory=universe.exchange.factory, router=universe.exchange.router,
        tokens=[UniverseToken(m.symbol, m.token) for m in universe.markets],
        rules=TradingRules(capital=10_000 * E18), now=timezone.now(),
        round_interval=timedelta(minutes=2), submission_window=timedelta(minutes=1), resolution_lag=timedelta(seconds=30), score_days=2,
        score_day_interval=timedelta(seconds=30),
    )
    return tournament.dex


def _closed_round_with_book(market, number: int) -> Round:
    """A round at close with its book (weights and opening marks), as dex_round_book leaves it."""
    now = timezone.now()
    round, _ = Round.objects.update_or_create(
        tournament=market.tournament, number=number,
        defaults={"state": RoundState.CLOSED, "opens_at": now, "closes_at": now, "resolves_at": now},
    )
    with use_gateway() as gateway:
        opening = mark_to_market(market_dex(market, gateway), market.vault)
    DexBook.objects.create(
        round=round, weights=WEIGHTS, n_models=3, start_block=opening.block, start_value=opening.value_at_mid,
        start_reserves=reserves_json(opening, market_symbols(market)), created_at=now,
    )
    return round


def _trades_on_chain(market) -> list[str]:
    with use_gateway() as gateway:
        events = market_dex(market, gateway).vault_events(market.vault, market.vault_block)
    return [str(e["args"]["key"]) for e in events if e["name"] == "TradeExecuted"]


def test_the_vault_holds_the_sponsors_capital(market):
    with use_gateway() as gateway:
        dex = market_dex(market, gateway)
        assert dex.balance_of(market.quote_token, market.vault) == 10_000 * E18
        assert dex.vault_tokens(market.vault) == [t.token for t in market.tokens.all()]
        assert dex.vault_keeper(market.vault) == market.keeper == gateway.operator


@pytest.mark.slow  # the chain-level twin (chain/tests/test_dex_rebalance.py) runs by default
def test_a_rebalance_that_crashed_after_a_trade_resumes_without_trading_twice(market, monkeypatch):
    round = _closed_round_with_book(market, 1)
    original = DexGateway.vault_swap
    calls = []

    def crash_after_the_second_trade(self, **kwargs):
        result = original(self, **kwargs)
        calls.append(kwargs["token_out"])
        if len(calls) == 2:
            raise ConnectionError("node connection lost")  # the trade is on-chain; we never heard
        return result

    monkeypatch.setattr(DexGateway, "vault_swap", crash_after_the_second_trade)
    with pytest.raises(ConnectionError):
        dex_rebalance(round=round)
    book = DexBook.objects.get(round=round)
    assert book.rebalance_state == RebalanceState.PENDING and book.lease_until is None
    assert len(_trades_on_chain(market)) == 2

    monkeypatch.setattr(DexGateway, "vault_swap", original)
    book = dex_rebalance(round=round)
    assert book.rebalance_state == RebalanceState.DONE, book.rebalance_error
    keys = _trades_on_chain(market)
    assert len(keys) == 5 and len(set(keys)) == 5  # five buys, each exactly once
    assert book.rebalance["executed"] == 5 and book.rebalance_attempts == 2
    with use_gateway() as gateway:
        dex = market_dex(market, gateway)
        weights = mark_to_market(dex, market.vault).weights()
        for token in market.tokens.all():  # costs (the fee, price impact) shave a little
            assert weights[token.token] == pytest.approx(WEIGHTS[token.symbol], abs=0.005)
        vault_ledger(market, dex).reconcile()  # to the wei

    # Again: nothing is sent.
    with use_gateway() as gateway:
        block = gateway.block_number()
    assert dex_rebalance(round=round).rebalance_state == RebalanceState.DONE
    with use_gateway() as gateway:
        assert gateway.block_number() == block


@pytest.mark.slow  # the chain-level twin (chain/tests/test_dex_rebalance.py) runs by default
def test_a_vault_that_does_not_reconcile_halts_trading_until_the_difference_is_booked(market, sponsor):
    dex_rebalance(round=_closed_round_with_book(market, 1))
    with use_gateway() as gateway:
        dex_for(gateway).mint(token=market.quote_token, to=market.vault, amount=123)  # a stray transfer in
    round = _closed_round_with_book(market, 2)
    book = dex_rebalance(round=round)
    assert book.rebalance_state == RebalanceState.HALTED
    assert "does not reconcile" in book.rebalance_error and "difference +123" in book.rebalance_error
    halt = TradingHalt.objects.get(market=market, resolved_at__isnull=True)
    assert halt.round == round
    trades_before = len(_trades_on_chain(market))

    with pytest.raises(InvalidInput, match="the ledger still does not reconcile"):
        dex_halt_resolve(halt=halt, adjustments={market.quote_token: 100}, reason="a typo", by=sponsor)
    halt.refresh_from_db()
    assert halt.resolved_at is None
    assert DexBook.objects.get(round=round).rebalance_state == RebalanceState.HALTED

    dex_halt_resolve(halt=halt, adjustments={market.quote_token: 123}, reason="stray transfer of 123 wei", by=sponsor)
    halt.refresh_from_db()
    assert halt.resolved_at is not None and halt.adjustments == {market.quote_token: "123"}
    assert DexBook.objects.get(round=round).rebalance_state == RebalanceState.PENDING
    book = dex_rebalance(round=round)
    assert book.rebalance_state == RebalanceState.DONE, book.rebalance_error
    assert len(_trades_on_chain(market)) > trades_before


def _create(sponsor, universe, capital: int, slug: str):
    return dex_tournament_create(
        sponsor=sponsor, name=slug.title(), slug=slug, quote_token=universe.quote, quote_symbol="AUSD",
        factory=universe.exchange.factory, router=universe.exchange.router,
        tokens=[UniverseToken(m.symbol, m.token) for m in universe.markets],
        rules=TradingRules(capital=capital), now=timezone.now(),
        round_interval=timedelta(minutes=2), submission_window=timedelta(minutes=1),
        resolution_lag=timedelta(seconds=30), score_days=2, score_day_interval=timedelta(seconds=30),
    )


def test_pools_too_thin_for_the_vault_are_refused_by_name(sponsor):
    with use_gateway() as gateway:
        universe = build_universe(
            dex_for(gateway), symbols=SYMBOLS, start_prices=[1.0, 2.0, 0.5, 4.0, 8.0],
            depth_quote=100_000 * E18,  # 10× the capital below; 20× is needed
        )
    with pytest.raises(InvalidInput) as refused:
        _create(sponsor, universe, 10_000 * E18, "thin")
    assert refused.value.code == "pool_too_small"
    assert refused.value.details == {"tokens_with_small_pools": SYMBOLS}
    assert "each needs at least 20× that in quote tokens" in refused.value.message
    _create(sponsor, universe, 5_000 * E18, "deep-enough")  # 20× exactly is enough


def test_off_a_dev_chain_only_a_listed_exchange_is_traded_on(sponsor, settings, monkeypatch):
    import dex.services.markets as markets

    with use_gateway() as gateway:
        universe = build_universe(
            dex_for(gateway), symbols=SYMBOLS, start_prices=[1.0, 2.0, 0.5, 4.0, 8.0], depth_quote=10**6 * E18
        )
    monkeypatch.setattr(markets, "is_dev_chain", lambda gateway: False)  # as on a real chain
    with pytest.raises(InvalidInput) as refused:
        _create(sponsor, universe, 10_000 * E18, "unlisted")
    assert refused.value.code == "exchange_not_allowed"
    assert refused.value.message == (
        f"factory {universe.exchange.factory} with router {universe.exchange.router} is not an "
        "exchange this platform trades on (the operator lists them in ARENA_DEX_EXCHANGES)"
    )
    settings.ARENA_DEX_EXCHANGES = [f"{universe.exchange.factory.lower()}:{universe.exchange.router}"]
    market = _create(sponsor, universe, 10_000 * E18, "listed").dex
    with use_gateway() as gateway:  # off a dev chain the sponsor deposits the capital
        assert market_dex(market, gateway).balance_of(market.quote_token, market.vault) == 0


def test_a_sponsor_creates_a_dex_tournament_on_the_site(client, sponsor):
    from django.urls import reverse

    from dex.models import DexMarket
    from tests.dex.test_dex_pages import _dex_form

    with use_gateway() as gateway:
        universe = build_universe(
            dex_for(gateway), symbols=SYMBOLS, start_prices=[1.0, 2.0, 0.5, 4.0, 8.0], depth_quote=10**6 * E18
        )
    client.force_login(sponsor)
    form = _dex_form(
        quote_token=universe.quote, factory=universe.exchange.factory, router=universe.exchange.router,
        universe="\n".join(f"{m.symbol} {m.token}" for m in universe.markets), capital="2500",
    )
    response = client.post(reverse("dex-tournament-create"), form)
    assert response.status_code == 302, response.content.decode()[-2000:]
    market = DexMarket.objects.get(tournament__slug="token-momentum")
    assert response.url == reverse("tournament-detail", args=["token-momentum"])
    assert [t.symbol for t in market.tokens.all()] == SYMBOLS
    assert [t.pair for t in market.tokens.all()] == [m.pair for m in universe.markets]
    with use_gateway() as gateway:
        dex = market_dex(market, gateway)
        assert dex.balance_of(market.quote_token, market.vault) == 2500 * E18  # minted on the dev chain
        assert dex.vault_tokens(market.vault) == [m.token for m in universe.markets]
    assert market.tournament.pnl_multiplier == 1.0 and market.era_seconds == 3600


@pytest.mark.slow
def test_the_demo_market_replays_a_csv_of_real_prices(tmp_path, sponsor):
    from datetime import timedelta as td

    from demo.dex import _move_market, demo_dex_create
    from demo.models import DemoDexMarket

    rows = ["timestamp,token,price"]
    prices = {"WETH": [2281.5, 2290.0, 2301.25, 2275.0], "WBTC": [42280.1, 42100.0, 42500.5, 42700.0],
              "LINK": [14.5, 14.7, 14.2, 14.9], "UNI": [6.1, 6.0, 6.3, 6.25], "AAVE": [95.0, 97.5, 96.0, 99.0]}
    for step in range(4):
        rows += [f"{1704067200 + 3600 * step},{token},{series[step]}" for token, series in prices.items()]
    csv = tmp_path / "prices.csv"
    csv.write_text("\n".join(rows) + "\n")
    now = timezone.now()
    tournament = demo_dex_create(now=now, sponsor=sponsor, slug="replayed", warmup_steps=1, price_csv=csv)
    demo = DemoDexMarket.objects.get(tournament=tournament)
    assert demo.price_csv == str(csv) and demo.steps_done == 1 and demo.path_steps == 4
    assert _move_market(demo, now + td(seconds=2 * tournament.dex.era_seconds)) == 2  # steps 2 and 3
    with use_gateway() as gateway:
        marks = mark_to_market(market_dex(tournament.dex, gateway), tournament.dex.vault)
    for token in tournament.dex.tokens.all():  # each pool was arbitraged to the CSV's step-3 price
        assert marks.price(token.token) == pytest.approx(prices[token.symbol][3], rel=1e-9)
    # The path ends at step 3: the market stops there, whatever the clock says.
    assert _move_market(demo, now + td(hours=1)) == 0


def test_a_round_closing_while_an_earlier_one_still_trades_waits_for_the_vault(market):
    from core.errors import Conflict
    from dex.services.trading import dex_round_book
    from dex.tasks import rebalance_round_enqueue

    first = _closed_round_with_book(market, 1)  # opened late, still trading
    now = timezone.now()
    second = Round.objects.create(
        tournament=market.tournament, number=2, state=RoundState.CLOSED,
        opens_at=now, closes_at=now, resolves_at=now,
    )
    with pytest.raises(Conflict) as waiting:
        dex_round_book(round=second, now=now, enqueue_rebalance=rebalance_round_enqueue)
    assert waiting.value.code == "vault_busy"
    assert waiting.value.message == "round 2 waits for round 1, still trading the vault"
    assert not DexBook.objects.filter(round=second).exists()
    Round.objects.filter(pk=first.pk).update(state=RoundState.RESOLVED)
    # the vault is free: the book opens
    book = dex_round_book(round=second, now=now, enqueue_rebalance=rebalance_round_enqueue)
    assert book.round_id == second.pk


def test_a_pool_swollen_by_a_transfer_without_a_sync_still_counts_as_thin(sponsor):
    """The depth is the reserve the pool prices with, not its balance: tokens sent to the
    pair without a sync (and skimmed back after) do not make it deep."""
    with use_gateway() as gateway:
        dex = dex_for(gateway)
        universe = build_universe(
            dex, symbols=SYMBOLS, start_prices=[1.0, 2.0, 0.5, 4.0, 8.0], depth_quote=100_000 * E18
        )
        dex.mint(token=universe.quote, to=gateway.operator, amount=10**6 * E18)
        for m in universe.markets:
            dex.transfer(token=universe.quote, to=m.pair, amount=200_000 * E18, sender=None)
            assert dex.balance_of(universe.quote, m.pair) == 300_000 * E18  # 30× the capital
    with pytest.raises(InvalidInput) as refused:
        _create(sponsor, universe, 10_000 * E18, "swollen")
    assert refused.value.code == "pool_too_small"
    assert refused.value.details == {"tokens_with_small_pools": SYMBOLS}
