"""Rounds: list with counts, detail with frozen rules, transitions, scores and payouts."""

import pytest

from tests.builders import sealed_predictions
from tournaments.services.submissions import submission_upload

pytestmark = pytest.mark.django_db


def test_list_newest_first_with_counts(api, open_round, model, live_ids):
    submission_upload(
        model=model, by=model.owner, data=sealed_predictions(open_round, model, live_ids), filename="a"
    )
    submission_upload(
        model=model,
        by=model.owner,
        data=sealed_predictions(open_round, model, live_ids, seed=2),
        filename="b",
    )
    body = api.get("/api/tournaments/weather/rounds").json()
    assert body["count"] == 1
    r = body["results"][0]
    assert r == {
        "number": 1,
        "state": "open",
        "opens_at": r["opens_at"],
        "closes_at": r["closes_at"],
        "resolves_at": r["resolves_at"],
        "scored_days": 0,
        "total_score_days": 2,
        "meta_corr": None,
        "submissions": 2,
        "valid_submissions": 0,  # counted at close
        "models": 1,
    }
    assert r["closes_at"] == open_round.closes_at.isoformat().replace("+00:00", "Z")


def test_detail_of_an_open_round(api, open_round):
    response = api.get("/api/tournaments/weather/rounds/1")
    assert response.status_code == 200
    body = response.json()
    assert body["tournament"] == "weather"
    assert body["state"] == "open"
    assert body["rules"] == {
        "payout_threshold": "100000000000000000000",
        "payout_threshold_tokens": "100",
        "corr_multiplier": 0.5,
        "mmc_multiplier": 2.0,
        "payout_cap": 0.05,
        "score_days": 2,
    }
    assert [(t["from_state"], t["to_state"]) for t in body["transitions"]] == [("scheduled", "open")]
    assert body["counts"] == {"submissions": 0, "valid_submissions": 0, "models": 0}
    assert body["live_dataset"]["kind"] == "live"
    assert body["live_dataset"]["round"] == 1
    assert body["live_dataset"]["rows"] == 50
    assert body["scores"] == [] and body["payouts"] == [] and body["score_days"] == []
    assert body["mean_corr"] is None


def test_a_scheduled_rounds_rules_are_not_frozen_and_its_live_data_is_not_shown(api, tournament, sponsor):
    from tests.builders import csv_bytes, make_frame
    from tournaments.services.datasets import dataset_upload

    rnd = tournament.rounds.get(number=1)
    dataset_upload(
        tournament=tournament, by=sponsor, kind="live", round=rnd,
        data=csv_bytes(make_frame(with_target=False, prefix="live")), filename="live.csv",
    )
    body = api.get("/api/tournaments/weather/rounds/1").json()
    assert body["state"] == "scheduled"
    assert body["rules"] is None
    assert body["live_dataset"] is None


def test_detail_of_a_resolved_round_has_scores_and_payouts(api, resolved_round):
    body = api.get("/api/tournaments/weather/rounds/1").json()
    assert body["state"] == "resolved"
    assert body["scored_days"] == 2
    assert body["meta_corr"] == 0.0333
    assert body["counts"] == {"submissions": 2, "valid_submissions": 2, "models": 2}
    assert body["mean_corr"] == pytest.approx((0.0425 - 0.0155) / 2)
    assert [(d["day"], d["meta_corr"], d["n_models"]) for d in body["score_days"]] == [
        (1, 0.021, 2), (2, 0.0333, 2)
    ]
    assert [(t["from_state"], t["to_state"]) for t in body["transitions"]] == [
        ("scheduled", "open"), ("open", "closed"), ("closed", "scoring"), ("scoring", "resolved")
    ]
    assert body["transitions"][1]["detail"] == "2 submissions counted"
    assert body["scores"] == [
        {"model_id": resolved_round.model.id, "model": "gale-force", "owner": "mo-modeler",
         "day": 2, "corr": 0.0425, "mmc": 0.0175},
        {"model_id": resolved_round.rival.id, "model": "drizzle", "owner": "rita-rival",
         "day": 2, "corr": -0.0155, "mmc": -0.008},
    ]
    assert body["payouts"] == [
        {"model_id": resolved_round.model.id, "model": "gale-force", "owner": "mo-modeler",
         "stake_at_risk": "25000000000000000000", "stake_at_risk_tokens": "25",
         "corr": 0.0425, "mmc": 0.0175, "payout_factor": 1.0,
         "amount": "1250000000000000000", "amount_tokens": "1.25",
         "state": "pending", "settled_at": None},
        {"model_id": resolved_round.rival.id, "model": "drizzle", "owner": "rita-rival",
         "stake_at_risk": "10000000000000000000", "stake_at_risk_tokens": "10",
         "corr": -0.0155, "mmc": -0.008, "payout_factor": 1.0,
         "amount": "-500000000000000000", "amount_tokens": "-0.5",
         "state": "pending", "settled_at": None},
    ]


def test_unknown_round_is_a_json_404(api, tournament):
    response = api.get("/api/tournaments/weather/rounds/99")
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found", "message": "weather has no round 99", "details": None
    }
