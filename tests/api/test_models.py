"""Models: mine, register, public profile, stake/release, scores; nobody touches another's."""

import pytest

from core.money import tokens_to_wei
from tournaments.models import ModelSlot, StakeEvent

pytestmark = pytest.mark.django_db


def test_list_shows_only_my_models(key_client, modeler, stranger, model, tournament):
    from tournaments.services.model_slots import model_create

    model_create(owner=stranger, tournament=tournament, name="not-mine")
    response = key_client(modeler, "read").get("/api/models")
    assert response.status_code == 200
    assert response.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": model.id,
                "name": "gale-force",
                "tournament": "weather",
                "owner": "mo-modeler",
                "stake": "25000000000000000000",
                "stake_tokens": "25",
                "created_at": response.json()["results"][0]["created_at"],
            }
        ],
    }
    assert key_client(modeler, "read").get("/api/models?tournament=weather").json()["count"] == 1
    response = key_client(modeler, "read").get("/api/models?tournament=nope")
    assert response.status_code == 404


def test_list_filtered_by_a_malformed_slug_is_a_documented_400(api, key_client, modeler, model):
    # Found by tests/api/test_schemathesis.py: the 400 was answered but not in the schema.
    response = key_client(modeler, "read").get("/api/models?tournament=no%20such")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        'tournament: Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.'
    )
    schema = api.get("/api/schema/?format=json").json()
    assert "400" in schema["paths"]["/api/models"]["get"]["responses"]


def test_list_needs_the_read_scope(key_client, modeler, model):
    response = key_client(modeler, "submit").get("/api/models")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "this API key lacks the 'read' scope"


def test_register_a_model(key_client, modeler, tournament):
    response = key_client(modeler, "submit").post(
        "/api/models", {"tournament": "weather", "name": "cloud-nine"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["tournament"], body["owner"], body["stake"]) == (
        "cloud-nine", "weather", "mo-modeler", "0"
    )
    assert ModelSlot.objects.get(pk=body["id"]).owner == modeler


def test_register_errors(key_client, modeler, model):
    client = key_client(modeler, "submit")
    response = client.post("/api/models", {"tournament": "weather", "name": "gale-force"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["message"] == "a model named 'gale-force' already exists in weather"
    response = client.post("/api/models", {"tournament": "weather", "name": "Big Model"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "model name 'Big Model' must be lowercase letters, digits, '-' or '_' (e.g. 'big-model')"
    )
    response = client.post("/api/models", {"tournament": "nope", "name": "x"}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "no tournament with slug 'nope'"
    assert ModelSlot.objects.count() == 1


def test_register_anonymous_is_401(api, tournament):
    response = api.post("/api/models", {"tournament": "weather", "name": "x"}, format="json")
    assert response.status_code == 401
    assert ModelSlot.objects.count() == 0


def test_public_profile_with_score_history(api, resolved_round):
    model = resolved_round.model
    response = api.get(f"/api/models/{model.id}")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "id": model.id,
        "name": "gale-force",
        "tournament": "weather",
        "owner": "mo-modeler",
        "stake": "25000000000000000000",
        "stake_tokens": "25",
        "created_at": body["created_at"],
        "stake_locked": "25000000000000000000",  # resolved, not settled: still at stake
        "stake_locked_tokens": "25",
        "score_history": [
            {"round": 1, "day": 2, "corr": 0.0425, "mmc": 0.0175,
             "payout": "1250000000000000000", "payout_tokens": "1.25"},
        ],
    }


def test_profile_of_unknown_model_is_404(api, db):
    response = api.get("/api/models/12345")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "no model with id 12345"


def test_scores_list_every_day_newest_first(api, resolved_round):
    body = api.get(f"/api/models/{resolved_round.rival.id}/scores").json()
    assert body["count"] == 2
    assert [(s["round"], s["day"], s["corr"], s["mmc"]) for s in body["results"]] == [
        (1, 2, -0.0155, -0.008), (1, 1, -0.02, -0.011)
    ]
    assert body["results"][0]["fnc"] is None


def test_stake_and_release(key_client, modeler, model):
    client = key_client(modeler, "stake")
    response = client.post(f"/api/models/{model.id}/stake", {"amount": "1.5"}, format="json")
    assert response.status_code == 200
    assert response.json()["stake"] == "26500000000000000000"
    assert response.json()["stake_tokens"] == "26.5"
    response = client.post(f"/api/models/{model.id}/release", {"amount": "6.5"}, format="json")
    assert response.status_code == 200
    assert response.json()["stake_tokens"] == "20"
    model.refresh_from_db()
    assert model.stake == tokens_to_wei(20)
    assert list(StakeEvent.objects.filter(model=model).order_by("id").values_list("kind", "amount")) == [
        ("deposit", tokens_to_wei(25)), ("deposit", tokens_to_wei("1.5")), ("release", -tokens_to_wei("6.5")),
    ]


def test_stake_amount_errors(key_client, modeler, model):
    client = key_client(modeler, "stake")
    response = client.post(f"/api/models/{model.id}/stake", {"amount": "-1"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "a stake deposit must be positive"
    response = client.post(f"/api/models/{model.id}/stake", {"amount": "1e3"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "amount: '1e3' is not a token amount: send a decimal string such as \"1.5\""
    )
    response = client.post(f"/api/models/{model.id}/stake", {}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "amount: This field is required."
    model.refresh_from_db()
    assert model.stake == tokens_to_wei(25)


def test_a_stake_beyond_uint256_is_a_400(key_client, modeler, model):
    # Found by tests/api/test_schemathesis.py on PostgreSQL: the 89-digit stake overflowed the
    # amount column (DataError, 500).
    response = key_client(modeler, "stake").post(
        f"/api/models/{model.id}/stake", {"amount": "1" + "0" * 60}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid",
        "message": f"amount: '1{'0' * 60}' is more tokens than a token contract can hold",
        "details": {"amount": [f"'1{'0' * 60}' is more tokens than a token contract can hold"]},
    }
    model.refresh_from_db()
    assert model.stake == tokens_to_wei(25)


def test_stake_backing_an_unsettled_round_cannot_be_released(key_client, modeler, model, open_round, live_ids):
    from tests.builders import sealed_predictions
    from tournaments.services.lifecycle import round_close
    from tournaments.services.submissions import submission_upload

    data = sealed_predictions(open_round, model, live_ids)
    submission_upload(model=model, by=modeler, data=data, filename="p.csv.sealed")
    round_close(round=open_round, now=open_round.closes_at)
    response = key_client(modeler, "stake").post(
        f"/api/models/{model.id}/release", {"amount": "1"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["message"] == (
        "only 0 WTHR (0 wei) can be released now; "
        "25 WTHR (25000000000000000000 wei) backs unsettled rounds"
    )
    model.refresh_from_db()
    assert model.stake == tokens_to_wei(25)


def test_nobody_stakes_on_anothers_model(key_client, stranger, model):
    for action in ("stake", "release"):
        response = key_client(stranger, "stake").post(
            f"/api/models/{model.id}/{action}", {"amount": "1"}, format="json"
        )
        assert response.status_code == 403
        assert response.json()["error"] == {
            "code": "forbidden", "message": "you can only act on your own models", "details": None
        }
    model.refresh_from_db()
    assert model.stake == tokens_to_wei(25)


def test_staking_needs_the_stake_scope(key_client, modeler, model):
    response = key_client(modeler, "read", "submit").post(
        f"/api/models/{model.id}/stake", {"amount": "1"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "this API key lacks the 'stake' scope"
