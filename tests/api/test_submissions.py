"""Prediction uploads: the happy path, every rejection with its exact message, closed rounds,
and that a rejected file never displaces the accepted one."""

import io
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from arena_client.cid import cid_for_bytes
from django.utils import timezone

from tests.builders import csv_bytes, predictions_csv, predictions_frame
from tournaments.models import Round, Submission
from tournaments.services.lifecycle import round_close
from tournaments.services.submissions import submission_upload

pytestmark = pytest.mark.django_db


def _file(data: bytes, name: str = "predictions.csv") -> io.BytesIO:
    f = io.BytesIO(data)
    f.name = name
    return f


@pytest.fixture
def submit(key_client, modeler, model):
    """`submit(data, filename)` → the response of uploading for the modeler's model."""
    client = key_client(modeler, "submit", "read")

    def _submit(data: bytes, filename: str = "predictions.csv", model_id: int | None = None):
        return client.post(
            f"/api/models/{model_id or model.id}/submissions",
            {"file": _file(data, filename)},
            format="multipart",
        )

    _submit.client = client
    return _submit


@pytest.fixture
def accepted(submit, open_round, live_ids) -> dict:
    """A first valid upload that later rejections must not displace."""
    response = submit(predictions_csv(live_ids, seed=11), "first.csv")
    assert response.status_code == 201
    return response.json()


def _assert_still_counted(accepted: dict, open_round: Round) -> None:
    """Nothing new stored, and the accepted upload is the one that counts at close."""
    assert Submission.objects.count() == 1
    round_close(round=open_round, now=open_round.closes_at)
    counted = Submission.objects.get(is_counted=True)
    assert counted.id == accepted["id"]
    assert counted.cid == accepted["cid"]


def test_upload_csv_returns_201_with_the_submission(submit, open_round, live_ids, model):
    data = predictions_csv(live_ids)
    response = submit(data)
    assert response.status_code == 201
    body = response.json()
    sub = Submission.objects.get()
    assert body == {
        "id": sub.id,
        "model_id": model.id,
        "round": 1,
        "cid": cid_for_bytes(data),
        "filename": "predictions.csv",
        "size_bytes": len(data),
        "rows": 50,
        "state": "valid",
        "created_at": body["created_at"],
    }
    assert (sub.round, sub.model, sub.uploaded_by) == (open_round, model, model.owner)


def test_upload_parquet(submit, open_round, live_ids):
    buf = io.BytesIO()
    predictions_frame(live_ids).to_parquet(buf, index=False)
    response = submit(buf.getvalue(), "predictions.parquet")
    assert response.status_code == 201
    assert response.json()["rows"] == 50
    assert response.json()["cid"] == cid_for_bytes(buf.getvalue())


def test_a_later_upload_replaces_the_earlier_one(submit, accepted, open_round, live_ids):
    second = submit(predictions_csv(live_ids, seed=12), "second.csv").json()
    listed = submit.client.get(f"/api/models/{accepted['model_id']}/submissions").json()
    assert [(s["id"], s["status"]) for s in listed["results"]] == [
        (second["id"], "latest"), (accepted["id"], "replaced")
    ]
    round_close(round=open_round, now=open_round.closes_at)
    listed = submit.client.get(f"/api/models/{accepted['model_id']}/submissions").json()
    assert [(s["id"], s["status"], s["is_counted"]) for s in listed["results"]] == [
        (second["id"], "counted", True), (accepted["id"], "replaced", False)
    ]
    assert listed["results"][0]["round_state"] == "closed"


def _rejected(response, message: str, codes: list[str]) -> dict:
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"] == message
    assert [p["code"] for p in error["details"]["problems"]] == codes
    return error


def test_missing_ids(submit, accepted, open_round, live_ids):
    frame = predictions_frame(live_ids).iloc[:-7]
    error = _rejected(
        submit(csv_bytes(frame)),
        "7 of 50 live ids are missing, first 5: 'live043', 'live044', 'live045', 'live046', 'live047'",
        ["missing_ids"],
    )
    assert error["details"]["problems"][0]["count"] == 7
    assert error["details"]["problems"][0]["examples"] == [
        "live043", "live044", "live045", "live046", "live047"
    ]
    _assert_still_counted(accepted, open_round)


def test_duplicate_ids(submit, accepted, open_round, live_ids):
    frame = predictions_frame(live_ids)
    frame = pd.concat([frame, frame.iloc[[3]]], ignore_index=True)
    _rejected(
        submit(csv_bytes(frame)),
        "1 id appears more than once (2 rows in all): 'live003' (rows 4, 51)",
        ["duplicate_ids"],
    )
    _assert_still_counted(accepted, open_round)


def test_unknown_ids(submit, accepted, open_round, live_ids):
    frame = predictions_frame(live_ids)
    frame.loc[0, "id"] = "ghost-1"
    frame.loc[1, "id"] = "ghost-2"
    _rejected(
        submit(csv_bytes(frame)),
        "2 problems:\n"
        "- 2 rows with an id that is not in this round's live set: 'ghost-1' (row 1), 'ghost-2' (row 2)\n"
        "- 2 of 50 live ids are missing: 'live000', 'live001'",
        ["unknown_ids", "missing_ids"],
    )
    _assert_still_counted(accepted, open_round)


def test_nan_predictions(submit, accepted, open_round, live_ids):
    frame = predictions_frame(live_ids)
    frame.loc[2, "prediction"] = np.nan
    _rejected(
        submit(csv_bytes(frame)),
        "1 row with a missing (empty or NaN) prediction: row 3 (id 'live002'): ''",
        ["missing_values"],
    )
    _assert_still_counted(accepted, open_round)


def test_out_of_range_predictions(submit, accepted, open_round, live_ids):
    frame = predictions_frame(live_ids)
    frame.loc[1, "prediction"] = 1.5
    frame.loc[4, "prediction"] = -0.25
    _rejected(
        submit(csv_bytes(frame)),
        "2 rows with a prediction outside [0, 1]: row 2 (id 'live001'): '1.5', "
        "row 5 (id 'live004'): '-0.25'",
        ["out_of_range"],
    )
    _assert_still_counted(accepted, open_round)


def test_infinite_predictions(submit, accepted, open_round, live_ids):
    frame = predictions_frame(live_ids).astype({"prediction": object})
    frame.loc[0, "prediction"] = "inf"
    _rejected(
        submit(csv_bytes(frame)),
        "1 row with an infinite prediction: row 1 (id 'live000'): 'inf'",
        ["not_finite"],
    )
    _assert_still_counted(accepted, open_round)


def test_constant_predictions(submit, accepted, open_round, live_ids):
    frame = pd.DataFrame({"id": live_ids, "prediction": 0.5})
    _rejected(
        submit(csv_bytes(frame)),
        "all 50 predictions are the same value (0.5); "
        "a constant submission cannot be ranked, so it cannot be scored",
        ["constant"],
    )
    _assert_still_counted(accepted, open_round)


def test_non_numeric_predictions(submit, accepted, open_round, live_ids):
    frame = predictions_frame(live_ids).astype({"prediction": object})
    frame.loc[0, "prediction"] = "abc"
    frame.loc[9, "prediction"] = "0,5"
    _rejected(
        submit(csv_bytes(frame)),
        "2 rows with a prediction that is not a number: row 1 (id 'live000'): 'abc', "
        "row 10 (id 'live009'): '0,5'",
        ["not_numeric"],
    )
    _assert_still_counted(accepted, open_round)


def test_wrong_columns(submit, accepted, open_round, live_ids):
    frame = predictions_frame(live_ids).rename(columns={"prediction": "Prediction"})
    frame["era"] = "era1"
    _rejected(
        submit(csv_bytes(frame)),
        "columns must be exactly 'id', 'prediction'; found ['id', 'Prediction', 'era']: "
        "missing column(s) 'prediction' ('Prediction' looks like 'prediction': names are "
        "case-sensitive); unexpected column(s) 'Prediction', 'era'",
        ["bad_columns"],
    )
    _assert_still_counted(accepted, open_round)


def test_wrong_file_type(submit, accepted, open_round, live_ids):
    _rejected(
        submit(predictions_csv(live_ids), "predictions.xlsx"),
        "'predictions.xlsx': expected a .csv or .parquet file",
        ["unsupported_format"],
    )
    _assert_still_counted(accepted, open_round)


def test_no_file(submit, accepted, open_round):
    response = submit.client.post(
        f"/api/models/{accepted['model_id']}/submissions", {}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "file: No file was submitted."
    _assert_still_counted(accepted, open_round)


def test_too_large_is_413(submit, accepted, open_round, live_ids, settings):
    data = predictions_csv(live_ids)
    settings.ARENA_MAX_PREDICTION_BYTES = len(data) - 1
    response = submit(data)
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "too_large"
    assert error["message"] == f"file is {len(data):,} bytes; the limit is {len(data) - 1:,} bytes"
    _assert_still_counted(accepted, open_round)


def test_a_body_far_over_the_limit_is_refused_before_parsing(submit, accepted, open_round, settings):
    settings.ARENA_MAX_PREDICTION_BYTES = 1000
    data = b"id,prediction\n" + b"x,0.5\n" * 20_000
    response = submit(data)
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "too_large"
    assert error["message"].startswith("request body is ")
    assert error["message"].endswith(" bytes; the file limit is 1000 bytes")
    _assert_still_counted(accepted, open_round)


def test_upload_after_close_is_409_with_the_close_time(submit, accepted, open_round, live_ids):
    round_close(round=open_round, now=open_round.closes_at)
    response = submit(predictions_csv(live_ids, seed=5))
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "round_closed",
        "message": "no round is open for submissions; "
        f"round 1 closed at {open_round.closes_at.isoformat()}",
        "details": None,
    }
    assert Submission.objects.count() == 1
    assert Submission.objects.get(is_counted=True).id == accepted["id"]


def test_upload_after_the_close_time_is_409_even_before_the_round_is_closed(
    submit, accepted, open_round, live_ids
):
    closes_at = timezone.now() - timedelta(seconds=1)
    Round.objects.filter(pk=open_round.pk).update(closes_at=closes_at)
    response = submit(predictions_csv(live_ids, seed=5))
    assert response.status_code == 409
    assert response.json()["error"]["message"] == (
        f"no round is open for submissions; round 1 closed at {closes_at.isoformat()}"
    )
    assert Submission.objects.count() == 1


def test_upload_before_any_round_opened_is_409(submit, tournament, live_ids):
    response = submit(predictions_csv(live_ids))
    assert response.status_code == 409
    assert response.json()["error"]["message"] == "no round is open for submissions; " + (
        f"round 1 opens at {tournament.rounds.get(number=1).opens_at.isoformat()}"
    )


def test_nobody_uploads_for_anothers_model(key_client, stranger, accepted, open_round, live_ids):
    response = key_client(stranger, "submit").post(
        f"/api/models/{accepted['model_id']}/submissions",
        {"file": _file(predictions_csv(live_ids, seed=3))},
        format="multipart",
    )
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "forbidden", "message": "you can only submit for your own models", "details": None
    }
    _assert_still_counted(accepted, open_round)


def test_a_read_only_key_cannot_submit(key_client, modeler, model, open_round, live_ids):
    response = key_client(modeler, "read").post(
        f"/api/models/{model.id}/submissions",
        {"file": _file(predictions_csv(live_ids))},
        format="multipart",
    )
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "this API key lacks the 'submit' scope"
    assert Submission.objects.count() == 0


def test_anonymous_upload_is_401(api, model, open_round, live_ids):
    response = api.post(
        f"/api/models/{model.id}/submissions",
        {"file": _file(predictions_csv(live_ids))},
        format="multipart",
    )
    assert response.status_code == 401
    assert Submission.objects.count() == 0


def test_session_users_can_upload_too(session_client, modeler, model, open_round, live_ids):
    response = session_client(modeler).post(
        f"/api/models/{model.id}/submissions",
        {"file": _file(predictions_csv(live_ids))},
        format="multipart",
    )
    assert response.status_code == 201


def test_submission_history_is_for_the_owner_only(key_client, stranger, accepted, api):
    url = f"/api/models/{accepted['model_id']}/submissions"
    response = key_client(stranger, "read").get(url)
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "only the model's owner can see its submissions"
    assert api.get(url).status_code == 401


def test_submission_history_fields(submit, accepted):
    body = submit.client.get(f"/api/models/{accepted['model_id']}/submissions").json()
    assert body["count"] == 1
    assert body["results"][0] == {
        **accepted,
        "round_state": "open",
        "status": "latest",
        "is_counted": False,
        "error": "",
    }


def test_direct_service_and_api_agree_on_the_rows(submit, open_round, live_ids, model):
    # The same file through the service (as the site does) and through the API.
    data = predictions_csv(live_ids, seed=9)
    via_service = submission_upload(model=model, by=model.owner, data=data, filename="s.csv")
    via_api = submit(data).json()
    assert via_api["cid"] == via_service.cid
    assert via_api["rows"] == via_service.rows == 50
