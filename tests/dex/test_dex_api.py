"""The DEX tournaments' REST API: create (errors say what is wrong), market, round P&L."""

import pytest
from rest_framework.test import APIClient

from tests.dex.conftest import SYMBOLS, address
from tests.dex.test_dex_pages import trading_round  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def sponsor_api(make_key, sponsor) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(sponsor, 'sponsor')}")
    return client


def _payload(**overrides) -> dict:
    return {
        "name": "Tokens",
        "quote_token": address(1),
        "quote_symbol": "USD",
        "factory": address(2),
        "router": address(3),
        "tokens": [{"symbol": s, "token": address(10 + i)} for i, s in enumerate(SYMBOLS)],
        "capital": str(10**22),
        "schedule": {"round_interval": 120, "submission_window": 60, "resolution_lag": 30, "score_days": 2,
                     "score_day_interval": 30},
        "rules": {"pnl_multiplier": 1.0},
    } | overrides


def test_a_bad_universe_is_refused_with_every_reason(sponsor_api):
    response = sponsor_api.post(
        "/api/dex-tournaments",
        _payload(tokens=[{"symbol": "AAA", "token": "nope"}], tilt=2.0),
        format="json",
    )
    assert response.status_code == 400
    problems = response.json()["error"]["details"]["problems"]
    assert problems == [
        "a universe has 5 to 128 tokens; got 1",
        "tokens[0] (AAA): 'nope' is not an address",
        "tilt must be between 0 and 1 (weights stay within (1 ± tilt)/K)",
    ]


def test_a_good_universe_without_a_chain_is_a_conflict(sponsor_api):
    response = sponsor_api.post("/api/dex-tournaments", _payload(), format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "chain_off"


def test_creating_needs_the_sponsor_scope(make_key, modeler):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(modeler, 'read')}")
    assert client.post("/api/dex-tournaments", _payload(), format="json").status_code == 403


def test_the_market_is_public(market):
    body = APIClient().get(f"/api/tournaments/{market.tournament.slug}/market").json()
    assert body["vault"] == market.vault and body["tilt"] == 0.5
    assert [t["symbol"] for t in body["tokens"]] == SYMBOLS
    assert body["feature_windows"] == [1, 2] and body["trading_halted"] is False


def test_a_classic_tournament_has_no_market(tournament):
    response = APIClient().get(f"/api/tournaments/{tournament.slug}/market")
    assert response.status_code == 404
    assert "is not a DEX tournament" in response.json()["error"]["message"]


def test_a_rounds_pnl_lists_its_marks(trading_round):  # noqa: F811
    body = APIClient().get(f"/api/tournaments/{trading_round.tournament.slug}/rounds/1/pnl").json()
    assert body["book"]["models"] == 7 and body["book"]["rebalance"] == "done"
    assert [m["portfolio_return"] for m in body["marks"]] == [0.005, -0.002]
    assert body["marks"][1]["pnl"] == str(-20 * 10**18)
