"""The round page of a DEX round: trading facts, weights, P&L contributions and the P&L
chart; and the round's P&L in the live feed's round facts."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dex.models import DexBook, PnlMark
from tests.dex.conftest import E18, PRICES, SYMBOLS, reserves_of
from tournaments import selectors
from tournaments.models import Round, RoundState

pytestmark = pytest.mark.django_db



@pytest.fixture
def trading_round(market):
    now = timezone.now()
    round = Round.objects.create(
        tournament=market.tournament, number=1, state=RoundState.SCORING, opens_at=now - timedelta(minutes=2),
        closes_at=now - timedelta(minutes=1), resolves_at=now + timedelta(minutes=1),
    )
    DexBook.objects.create(
        round=round, weights={"AAA": 0.3, "BBB": 0.25, "CCC": 0.2, "DDD": 0.15, "EEE": 0.1}, n_models=7,
        start_block=10, start_value=10_000 * E18, start_reserves=reserves_of(PRICES[0]), created_at=now,
        rebalance_state="done", rebalance={"executed": 5, "cost_bps": 41.25, "gas_used": 600_000},
    )
    for i, (value, portfolio, bench) in enumerate([(10_050, 0.005, 0.002), (9_980, -0.002, 0.001)]):
        PnlMark.objects.create(
            round=round, at=now + timedelta(seconds=i), block=11 + i, value_at_mid=value * E18,
            pnl=(value - 10_000) * E18, portfolio_return=portfolio, benchmark_return=bench,
            excess_return=portfolio - bench, reserves=reserves_of(PRICES[1 + i]),
        )
    return round


def test_the_round_page_shows_the_trading_book_and_latest_mark(client, trading_round):
    page = client.get(reverse("round-detail", args=[trading_round.tournament.slug, 1])).content.decode()
    assert 'id="trading"' in page and 'data-dex="1"' in page
    assert '<dd id="pnl-models">7</dd>' in page
    assert '<dd id="pnl-rebalance">done, 5 trades at 41.3 bps</dd>' in page
    assert '<dd id="pnl-value">9,980 Q</dd>' in page
    assert '<dd id="pnl-pnl">−20 Q</dd>' in page
    assert '<dd id="pnl-return">−0.20%</dd>' in page
    assert '<dd id="pnl-excess">−0.30%</dd>' in page
    # Weights, largest first, with their tilt away from 1/K = 20%.
    assert "<td>AAA</td><td class=\"num\">+30.00%</td><td class=\"num\">+50.00%</td>" in page
    assert "<td>EEE</td><td class=\"num\">+10.00%</td><td class=\"num\">−50.00%</td>" in page
    assert reverse("round-pnl-chart", args=[trading_round.tournament.slug, 1]) in page


def test_the_pnl_chart_draws_vault_and_benchmark_per_mark(client, trading_round):
    response = client.get(reverse("round-pnl-chart", args=[trading_round.tournament.slug, 1]))
    assert response["Content-Type"] == "image/svg+xml"
    svg = response.content.decode()
    assert svg.startswith("<svg") and "vault vs equal weight" in svg
    assert 'data-series="vault %"' in svg and 'data-series="equal weight %"' in svg
    assert "vault % at" in svg and ": +0.5000</title>" in svg and ": -0.2000</title>" in svg


def test_classic_rounds_have_no_pnl_chart(client, resolved_round):
    round = resolved_round.round
    assert client.get(reverse("round-pnl-chart", args=[round.tournament.slug, round.number])).status_code == 404


def test_the_live_round_facts_carry_the_latest_mark(trading_round):
    facts = selectors.live_round_facts(round=trading_round)
    pnl = facts["pnl"]
    assert pnl["models"] == 7 and pnl["rebalance"] == "done" and pnl["cost_bps"] == 41.25
    assert pnl["mark"]["value"] == str(9_980 * E18) and pnl["mark"]["pnl"] == str(-20 * E18)
    assert pnl["mark"]["excess_return"] == pytest.approx(-0.003)
    assert pnl["marks"] == 2


def test_the_leaderboard_ranks_by_pnl_contribution_in_dex_tournaments(client, trading_round, make_user):
    from tournaments.models import ModelSlot, Score

    trading_round.scored_days = 1
    trading_round.save()
    for name, pnl in (("alpha", 0.2), ("beta", -0.1), ("gamma", 0.05)):
        model = ModelSlot.objects.create(owner=make_user(f"{name}-owner"), tournament=trading_round.tournament, name=name)
        Score.objects.create(round=trading_round, model=model, day=1, corr=0.0, mmc=0.0, pnl_contribution=pnl,
                             computed_at=timezone.now())
    rows = selectors.leaderboard(tournament=trading_round.tournament, metric="pnl", last_n=4)
    assert [(r["model"], r["score"], r["rank"]) for r in rows] == [("alpha", 0.2, 1), ("gamma", 0.05, 2), ("beta", -0.1, 3)]
    page = client.get(reverse("leaderboard", args=[trading_round.tournament.slug]) + "?metric=pnl").content.decode()
    assert "Mean P&amp;L contribution over the last 4" in page
    assert '<option value="pnl" selected>P&amp;L contribution</option>' in page


def test_classic_leaderboards_do_not_offer_pnl(client, tournament):
    page = client.get(reverse("leaderboard", args=[tournament.slug])).content.decode()
    assert 'value="pnl"' not in page


def _dex_form(**overrides) -> dict:
    from tests.dex.conftest import address

    return {
        "name": "Token Momentum", "slug": "", "description": "",
        "quote_token": address(1), "quote_symbol": "USDC", "factory": address(2), "router": address(3),
        "universe": "\n".join(f"{s} {address(10 + i)}" for i, s in enumerate(SYMBOLS)),
        "capital": "10000", "tilt": "0.5", "era_seconds": "3600",
        "round_interval_0": "1", "round_interval_1": "days", "submission_window_0": "2",
        "submission_window_1": "hours", "resolution_lag_0": "6", "resolution_lag_1": "hours",
        "score_days": "4", "score_day_interval_0": "6", "score_day_interval_1": "hours",
        "payout_threshold": "1000", "corr_multiplier": "0.5", "mmc_multiplier": "2", "pnl_multiplier": "1",
        "payout_cap": "0.05", "token_symbol": "ARENA", "reward_pool": "0",
    } | overrides


def test_the_dex_tournament_form_names_each_bad_line(client, sponsor):
    client.force_login(sponsor)
    page = client.get(reverse("dex-tournament-create")).content.decode()
    assert "New DEX tournament" in page and 'name="universe"' in page and 'name="training_data"' not in page
    response = client.post(reverse("dex-tournament-create"), _dex_form(universe="AAA 0x01 extra\nBBB", router="nope"))
    assert response.status_code == 400
    text = response.content.decode()
    assert "line 1: expected &#x27;SYMBOL 0xADDRESS&#x27;, got &#x27;AAA 0x01 extra&#x27;" in text
    assert "line 2: expected &#x27;SYMBOL 0xADDRESS&#x27;, got &#x27;BBB&#x27;" in text
    assert "not an address (0x and 40 hex digits)" in text


def test_the_dex_tournament_form_passes_the_services_refusals_on(client, sponsor):
    client.force_login(sponsor)
    response = client.post(reverse("dex-tournament-create"), _dex_form(round_interval_0="12", round_interval_1="hours"))
    assert response.status_code == 400
    assert "must not exceed round_interval (the vault trades one round at a time)" in response.content.decode()
    response = client.post(reverse("dex-tournament-create"), _dex_form())
    assert response.status_code == 409
    assert "DEX tournaments trade on a chain" in response.content.decode()


def test_the_admin_resolve_page_checks_the_input_and_names_the_refusal(client, market, make_user):
    from dex.models import TradingHalt

    halt = TradingHalt.objects.create(market=market, reason="vault 0xabc does not reconcile at block 9",
                                      created_at=timezone.now())
    admin = make_user("operator")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    url = reverse("admin:dex_tradinghalt_resolve", args=[halt.pk])
    page = client.get(url).content.decode()
    assert "vault 0xabc does not reconcile at block 9" in page and 'name="amount"' in page
    listing = client.get(reverse("admin:dex_tradinghalt_changelist")).content.decode()
    assert f'href="{url}"' in listing
    page = client.post(url, {"token": "nope", "amount": "5", "reason": "airdrop"}).content.decode()
    assert "not an address" in page
    page = client.post(url, {"token": market.quote_token, "amount": "5", "reason": "airdrop"}).content.decode()
    assert "DEX tournaments trade on a chain" in page  # this test has none; nothing is booked
    halt.refresh_from_db()
    assert halt.resolved_at is None
