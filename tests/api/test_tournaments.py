"""Tournaments: public list and detail, sponsor-only create and edit, the leaderboard."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.money import tokens_to_wei
from tournaments.models import Tournament, TournamentState

pytestmark = pytest.mark.django_db


def test_list_is_public_paginated_and_exact(api, tournament):
    response = api.get("/api/tournaments")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert body["next"] is None and body["previous"] is None
    t = body["results"][0]
    assert t == {
        "slug": "weather",
        "name": "Weather Signals",
        "description": "Predict tomorrow's weather from today's readings.",
        "kind": "dataset",
        "state": "active",
        "sponsor": "sally-sponsor",
        "token_symbol": "WTHR",
        "reward_pool": "500000000000000000000",
        "reward_pool_tokens": "500",
        "schedule": {
            "first_round_at": t["schedule"]["first_round_at"],
            "round_interval": 86400,
            "submission_window": 43200,
            "resolution_lag": 3600,
            "score_days": 2,
            "score_day_interval": 3600,
        },
        "rules": {
            "payout_threshold": "100000000000000000000",
            "payout_threshold_tokens": "100",
            "corr_multiplier": 0.5,
            "mmc_multiplier": 2.0,
            "payout_cap": 0.05,
        },
        "created_at": t["created_at"],
    }


def test_list_hides_archived_tournaments(api, tournament):
    Tournament.objects.filter(pk=tournament.pk).update(state=TournamentState.ARCHIVED)
    assert api.get("/api/tournaments").json()["count"] == 0


def test_detail_shows_the_open_and_next_rounds(api, open_round, model):
    body = api.get("/api/tournaments/weather").json()
    assert body["slug"] == "weather"
    assert body["n_models"] == 1
    assert body["current_round"]["number"] == 1
    assert body["current_round"]["state"] == "open"
    assert body["next_round"] is None


def test_unknown_slug_is_a_json_404(api, db):
    response = api.get("/api/tournaments/nope")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "no tournament with slug 'nope'", "details": None}
    }


def _create_payload(**overrides):
    payload = {
        "name": "Solar Flares",
        "slug": "flares",
        "description": "Forecast flare intensity.",
        "token_symbol": "SUN",
        "reward_pool_tokens": "1234.5",
        "schedule": {
            "first_round_at": (timezone.now() + timedelta(days=1)).isoformat(),
            "round_interval": 7 * 86400,
            "submission_window": 2 * 86400,
            "resolution_lag": 86400,
            "score_days": 20,
            "score_day_interval": 86400,
        },
        "rules": {
            "payout_threshold_tokens": "5000",
            "corr_multiplier": 1.0,
            "mmc_multiplier": 1.5,
            "payout_cap": 0.1,
        },
    }
    payload.update(overrides)
    return payload


def test_create_with_sponsor_scope(key_client, sponsor):
    response = key_client(sponsor, "sponsor").post("/api/tournaments", _create_payload(), format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["slug"] == "flares"
    assert body["sponsor"] == "sally-sponsor"
    assert body["reward_pool"] == "1234500000000000000000"
    assert body["reward_pool_tokens"] == "1234.5"
    assert body["schedule"]["round_interval"] == 604800
    assert body["rules"]["payout_threshold_tokens"] == "5000"
    t = Tournament.objects.get(slug="flares")
    assert t.sponsor == sponsor
    assert t.reward_pool == tokens_to_wei("1234.5")
    assert t.submission_window == timedelta(days=2)
    assert t.payout_threshold == tokens_to_wei(5000)
    assert (t.corr_multiplier, t.mmc_multiplier, t.payout_cap) == (1.0, 1.5, 0.1)


def test_create_with_only_a_name_takes_defaults_and_a_slug_from_the_name(key_client, sponsor):
    response = key_client(sponsor, "sponsor").post(
        "/api/tournaments", {"name": "Crop Yields 2030"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["slug"] == "crop-yields-2030"
    assert response.json()["schedule"]["round_interval"] == 7 * 86400


def test_create_needs_the_sponsor_scope(key_client, sponsor):
    response = key_client(sponsor, "read", "submit").post(
        "/api/tournaments", _create_payload(), format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "forbidden", "message": "this API key lacks the 'sponsor' scope", "details": None
    }
    assert not Tournament.objects.filter(slug="flares").exists()


def test_create_anonymous_is_401(api, db):
    response = api.post("/api/tournaments", _create_payload(), format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert Tournament.objects.count() == 0


def test_create_with_a_taken_slug_is_409(key_client, sponsor, tournament):
    response = key_client(sponsor, "sponsor").post(
        "/api/tournaments", _create_payload(slug="weather"), format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["message"] == "a tournament with slug 'weather' already exists"


def test_create_rejects_a_broken_schedule_with_every_problem(key_client, sponsor):
    payload = _create_payload()
    payload["schedule"].update(round_interval=3600, submission_window=7200, score_days=0)
    response = key_client(sponsor, "sponsor").post("/api/tournaments", payload, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "submission_window must not exceed round_interval; score_days must be at least 1",
        "details": {
            "problems": [
                "submission_window must not exceed round_interval",
                "score_days must be at least 1",
            ]
        },
    }
    assert not Tournament.objects.filter(slug="flares").exists()


def test_create_rejects_bad_field_types_naming_the_field(key_client, sponsor):
    payload = _create_payload(reward_pool_tokens="lots")
    payload["schedule"]["round_interval"] = "weekly"
    response = key_client(sponsor, "sponsor").post("/api/tournaments", payload, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == (
        "reward_pool_tokens: 'lots' is not a token amount: send a decimal string such as \"1.5\"; "
        "schedule.round_interval: A valid integer is required."
    )
    assert error["details"] == {
        "reward_pool_tokens": [
            "'lots' is not a token amount: send a decimal string such as \"1.5\""
        ],
        "schedule": {"round_interval": ["A valid integer is required."]},
    }


def test_create_rejects_more_than_18_decimals(key_client, sponsor):
    response = key_client(sponsor, "sponsor").post(
        "/api/tournaments", _create_payload(reward_pool_tokens="0.0000000000000000001"), format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "reward_pool_tokens: '0.0000000000000000001' has more than 18 decimals"
    )


def test_create_from_a_name_without_letters_or_digits_asks_for_a_slug(key_client, sponsor):
    # Found by tests/api/test_schemathesis.py: the slug derived from "!?" was "", so a
    # tournament was created that no URL could name.
    response = key_client(sponsor, "sponsor").post("/api/tournaments", {"name": "!?"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "could not derive a slug from the name '!?': send a slug",
        "details": None,
    }
    assert not Tournament.objects.exists()


@pytest.mark.parametrize("seconds", [10**40, -(10**40), 100 * 365 * 86400 + 1])
def test_a_duration_beyond_a_century_is_a_400_not_an_overflow(key_client, sponsor, seconds):
    # Found by tests/api/test_schemathesis.py: timedelta(seconds=10**40) raised OverflowError (500).
    payload = _create_payload()
    payload["schedule"]["round_interval"] = seconds
    response = key_client(sponsor, "sponsor").post("/api/tournaments", payload, format="json")
    assert response.status_code == 400
    bound = "less than or equal to 3153600000" if seconds > 0 else "greater than or equal to -3153600000"
    assert response.json()["error"]["message"] == f"schedule.round_interval: Ensure this value is {bound}."
    assert not Tournament.objects.exists()


def test_score_days_beyond_a_year_are_refused_by_the_api_and_the_service(key_client, sponsor, tournament):
    # Found by tests/api/test_schemathesis.py on PostgreSQL: 40000 overflowed the smallint
    # column (DataError, 500).
    from core.errors import InvalidInput
    from tournaments.services.tournaments import tournament_update

    response = key_client(sponsor, "sponsor").patch(
        "/api/tournaments/weather", {"schedule": {"score_days": 40000}}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "schedule.score_days: Ensure this value is less than or equal to 365."
    )
    with pytest.raises(InvalidInput, match="^score_days must be at most 365$"):
        tournament_update(tournament=tournament, by=sponsor, score_days=366)
    tournament.refresh_from_db()
    assert tournament.score_days == 2


def test_a_dex_schedule_of_huge_negative_score_days_is_a_400_not_an_overflow(key_client, sponsor):
    # Found by tests/api/test_schemathesis.py: the DEX horizon, (score_days − 1) ×
    # score_day_interval, overflowed timedelta (OverflowError, 500) before any check ran.
    response = key_client(sponsor, "sponsor").post(
        "/api/dex-tournaments",
        {
            "name": "Dex", "quote_token": "0x" + "1" * 40, "quote_symbol": "Q",
            "factory": "0x" + "2" * 40, "router": "0x" + "3" * 40, "tokens": [], "capital": 1,
            "schedule": {"score_days": -67108865, "score_day_interval": 104341118},
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "schedule.score_days: Ensure this value is greater than or equal to -365."
    )
    assert not Tournament.objects.exists()


def test_a_token_amount_beyond_uint256_is_a_400(key_client, sponsor, tournament):
    # Found by tests/api/test_schemathesis.py on PostgreSQL: 89 digits of wei overflowed the
    # amount column (varchar(80), DataError, 500).
    too_many = "9" * 70
    response = key_client(sponsor, "sponsor").patch(
        "/api/tournaments/weather", {"reward_pool_tokens": too_many}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        f"reward_pool_tokens: '{too_many}' is more tokens than a token contract can hold"
    )
    tournament.refresh_from_db()
    assert tournament.reward_pool == tokens_to_wei(500)


def test_sponsor_edits_with_patch(key_client, sponsor, tournament):
    response = key_client(sponsor, "sponsor").patch(
        "/api/tournaments/weather",
        {"name": "Weather Signals II", "state": "paused", "rules": {"payout_cap": 0.2},
         "schedule": {"submission_window": 7200}},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Weather Signals II"
    assert body["state"] == "paused"
    assert body["rules"]["payout_cap"] == 0.2
    assert body["rules"]["corr_multiplier"] == 0.5  # untouched
    assert body["schedule"]["submission_window"] == 7200
    tournament.refresh_from_db()
    assert (tournament.name, tournament.state, tournament.payout_cap) == (
        "Weather Signals II", "paused", 0.2
    )
    assert tournament.submission_window == timedelta(hours=2)


def test_only_the_sponsor_edits(key_client, stranger, tournament):
    response = key_client(stranger, "sponsor").patch(
        "/api/tournaments/weather", {"name": "Mine now"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "forbidden", "message": "only the tournament's sponsor can edit it", "details": None
    }
    tournament.refresh_from_db()
    assert tournament.name == "Weather Signals"


def test_patch_anonymous_is_401(api, tournament):
    assert api.patch("/api/tournaments/weather", {"name": "x"}, format="json").status_code == 401


def test_put_is_405_in_the_error_shape(key_client, sponsor, tournament):
    response = key_client(sponsor, "sponsor").put("/api/tournaments/weather", {}, format="json")
    assert response.status_code == 405
    assert response.json() == {
        "error": {"code": "method_not_allowed", "message": 'Method "PUT" not allowed.', "details": None}
    }
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "PATCH", "OPTIONS"}


def test_leaderboard_ranks_by_the_chosen_metric(api, resolved_round):
    body = api.get("/api/tournaments/weather/leaderboard?metric=corr&rounds=1").json()
    assert body["count"] == 2
    assert body["results"] == [
        {
            "rank": 1, "model_id": resolved_round.model.id, "model": "gale-force",
            "owner": "mo-modeler", "stake": "25000000000000000000", "stake_tokens": "25",
            "score": 0.0425, "rounds": 1,
        },
        {
            "rank": 2, "model_id": resolved_round.rival.id, "model": "drizzle",
            "owner": "rita-rival", "stake": "10000000000000000000", "stake_tokens": "10",
            "score": -0.0155, "rounds": 1,
        },
    ]
    mmc = api.get("/api/tournaments/weather/leaderboard?metric=mmc").json()["results"]
    assert [(r["model"], r["score"]) for r in mmc] == [("gale-force", 0.0175), ("drizzle", -0.008)]
    payout = api.get("/api/tournaments/weather/leaderboard?metric=payout").json()["results"]
    assert [(r["model"], r["score"]) for r in payout] == [("gale-force", 0.05), ("drizzle", -0.05)]


def test_leaderboard_rejects_unknown_metrics(api, tournament):
    response = api.get("/api/tournaments/weather/leaderboard?metric=luck&rounds=0")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        'metric: "luck" is not a valid choice.; '
        "rounds: Ensure this value is greater than or equal to 1."
    )
