"""Sealed prediction uploads: the happy path with its signed receipt, what is refused before
anything is stored (plaintext, malformed envelopes, size, closed rounds, permissions), and the
prediction rules, now applied after close when the counted envelope is opened."""

import io
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from arena_client.cid import cid_for_bytes
from arena_client.receipts import Receipt, verify_receipt
from django.utils import timezone

from tests.builders import csv_bytes, named_file, predictions_csv, predictions_frame, seal_for
from tournaments.models import Round, Submission
from tournaments.selectors import predictions_matrix
from tournaments.services.lifecycle import round_close
from tournaments.services.model_slots import model_create
from tournaments.services.submissions import submission_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def seal(open_round, model):
    """`seal(plaintext)` → the envelope the modeler's client would upload for round 1."""

    def _seal(data: bytes, *, for_model=None) -> bytes:
        return seal_for(open_round, for_model or model, data)

    return _seal


@pytest.fixture
def submit(key_client, modeler, model):
    """`submit(envelope, filename)` → the response of uploading it for the modeler's model."""
    client = key_client(modeler, "submit", "read")

    def _submit(data: bytes, filename: str = "predictions.csv.sealed", model_id: int | None = None):
        return client.post(
            f"/api/models/{model_id or model.id}/submissions",
            {"file": named_file(data, filename)},
            format="multipart",
        )

    _submit.client = client
    return _submit


@pytest.fixture
def accepted(submit, seal, live_ids) -> dict:
    """A first sealed upload that later refusals must not displace."""
    response = submit(seal(predictions_csv(live_ids, seed=11)), "first.csv.sealed")
    assert response.status_code == 201
    return response.json()


def _assert_still_counted(accepted: dict, open_round: Round) -> None:
    """Nothing new stored, and the accepted upload is the one counted (and valid) at close."""
    assert Submission.objects.count() == 1
    round_close(round=open_round, now=open_round.closes_at)
    counted = Submission.objects.get(is_counted=True)
    assert (counted.id, counted.cid, counted.state) == (accepted["id"], accepted["cid"], "valid")


def _platform_key(client) -> bytes:
    return bytes.fromhex(client.get("/api/platform").json()["receipt_public_key"])


def test_upload_returns_201_with_the_submission_and_a_signed_receipt(
    submit, seal, open_round, live_ids, model
):
    envelope = seal(predictions_csv(live_ids))
    response = submit(envelope)
    assert response.status_code == 201
    body = response.json()
    sub = Submission.objects.get()
    received_at = sub.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert body == {
        "id": sub.id,
        "model_id": model.id,
        "round": 1,
        "cid": cid_for_bytes(envelope),
        "filename": "predictions.csv.sealed",
        "size_bytes": len(envelope),
        "rows": 0,
        "state": "received",
        "created_at": body["created_at"],
        "receipt": {
            "cid": cid_for_bytes(envelope),
            "model": model.id,
            "received_at": received_at,
            "round": 1,
            "tournament": "weather",
            "type": "arena.receipt.v1",
        },
        "receipt_signature": sub.receipt_signature,
    }
    assert len(body["receipt_signature"]) == 128
    # The receipt verifies with the key the platform publishes, and only with it.
    receipt = Receipt.from_dict(body["receipt"])
    verify_receipt(_platform_key(submit.client), receipt, bytes.fromhex(body["receipt_signature"]))
    assert (sub.round, sub.model, sub.uploaded_by, sub.state) == (
        open_round, model, model.owner, "received"
    )


def test_the_stored_bytes_are_the_envelope(submit, seal, live_ids, settings):
    plaintext = predictions_csv(live_ids)
    envelope = seal(plaintext)
    cid = submit(envelope).json()["cid"]
    stored = [p for p in settings.BLOB_DIR.rglob("*") if p.is_file()]
    by_name = {p.name: p.read_bytes() for p in stored}
    assert by_name[cid] == envelope
    assert all(plaintext not in data for data in by_name.values())


def test_a_raw_octet_stream_body_is_accepted(key_client, modeler, model, seal, live_ids):
    envelope = seal(predictions_csv(live_ids))
    response = key_client(modeler, "submit").generic(
        "POST",
        f"/api/models/{model.id}/submissions",
        envelope,
        content_type="application/octet-stream",
        HTTP_CONTENT_DISPOSITION='attachment; filename="mine.sealed"',
    )
    assert response.status_code == 201, response.json()
    assert response.json()["cid"] == cid_for_bytes(envelope)
    assert response.json()["filename"] == "mine.sealed"


def test_sealed_parquet_is_opened_and_valid_after_close(submit, seal, open_round, live_ids):
    buf = io.BytesIO()
    predictions_frame(live_ids).to_parquet(buf, index=False)
    response = submit(seal(buf.getvalue()), "predictions.parquet.sealed")
    assert response.status_code == 201
    round_close(round=open_round, now=open_round.closes_at)
    sub = Submission.objects.get()
    assert (sub.state, sub.rows, sub.error) == ("valid", 50, "")
    _, matrix = predictions_matrix(round=open_round)
    np.testing.assert_array_equal(matrix[:, 0], predictions_frame(live_ids)["prediction"].values)


def test_a_later_upload_replaces_the_earlier_one(submit, seal, accepted, open_round, live_ids):
    second = submit(seal(predictions_csv(live_ids, seed=12)), "second.csv.sealed").json()
    listed = submit.client.get(f"/api/models/{accepted['model_id']}/submissions").json()
    assert [(s["id"], s["status"], s["state"]) for s in listed["results"]] == [
        (second["id"], "latest", "received"), (accepted["id"], "replaced", "received")
    ]
    round_close(round=open_round, now=open_round.closes_at)
    listed = submit.client.get(f"/api/models/{accepted['model_id']}/submissions").json()
    assert [(s["id"], s["status"], s["is_counted"], s["state"]) for s in listed["results"]] == [
        (second["id"], "counted", True, "valid"), (accepted["id"], "replaced", False, "received")
    ]
    assert listed["results"][0]["round_state"] == "closed"
    assert listed["results"][0]["rows"] == 50


# --- The prediction rules, applied when the counted envelope is opened after close ---------


def _missing(ids):
    return predictions_frame(ids).iloc[:-7]


def _duplicate(ids):
    frame = predictions_frame(ids)
    return pd.concat([frame, frame.iloc[[3]]], ignore_index=True)


def _unknown(ids):
    frame = predictions_frame(ids)
    frame.loc[0, "id"] = "ghost-1"
    frame.loc[1, "id"] = "ghost-2"
    return frame


def _nan(ids):
    frame = predictions_frame(ids)
    frame.loc[2, "prediction"] = np.nan
    return frame


def _out_of_range(ids):
    frame = predictions_frame(ids)
    frame.loc[1, "prediction"] = 1.5
    frame.loc[4, "prediction"] = -0.25
    return frame


def _infinite(ids):
    frame = predictions_frame(ids).astype({"prediction": object})
    frame.loc[0, "prediction"] = "inf"
    return frame


def _constant(ids):
    return pd.DataFrame({"id": ids, "prediction": 0.5})


def _non_numeric(ids):
    frame = predictions_frame(ids).astype({"prediction": object})
    frame.loc[0, "prediction"] = "abc"
    frame.loc[9, "prediction"] = "0,5"
    return frame


def _wrong_columns(ids):
    frame = predictions_frame(ids).rename(columns={"prediction": "Prediction"})
    frame["era"] = "era1"
    return frame


BROKEN = {
    "missing_ids": (
        _missing,
        "7 of 50 live ids are missing, first 5: 'live043', 'live044', 'live045', 'live046', "
        "'live047'",
        ["missing_ids"],
    ),
    "duplicate_ids": (
        _duplicate,
        "1 id appears more than once (2 rows in all): 'live003' (rows 4, 51)",
        ["duplicate_ids"],
    ),
    "unknown_ids": (
        _unknown,
        "2 problems:\n"
        "- 2 rows with an id that is not in this round's live set: 'ghost-1' (row 1), "
        "'ghost-2' (row 2)\n"
        "- 2 of 50 live ids are missing: 'live000', 'live001'",
        ["unknown_ids", "missing_ids"],
    ),
    "nan": (
        _nan,
        "1 row with a missing (empty or NaN) prediction: row 3 (id 'live002'): ''",
        ["missing_values"],
    ),
    "out_of_range": (
        _out_of_range,
        "2 rows with a prediction outside [0, 1]: row 2 (id 'live001'): '1.5', "
        "row 5 (id 'live004'): '-0.25'",
        ["out_of_range"],
    ),
    "infinite": (
        _infinite,
        "1 row with an infinite prediction: row 1 (id 'live000'): 'inf'",
        ["not_finite"],
    ),
    "constant": (
        _constant,
        "all 50 predictions are the same value (0.5); "
        "a constant submission cannot be ranked, so it cannot be scored",
        ["constant"],
    ),
    "non_numeric": (
        _non_numeric,
        "2 rows with a prediction that is not a number: row 1 (id 'live000'): 'abc', "
        "row 10 (id 'live009'): '0,5'",
        ["not_numeric"],
    ),
    "wrong_columns": (
        _wrong_columns,
        "columns must be exactly 'id', 'prediction'; found ['id', 'Prediction', 'era']: "
        "missing column(s) 'prediction' ('Prediction' looks like 'prediction': names are "
        "case-sensitive); unexpected column(s) 'Prediction', 'era'",
        ["bad_columns"],
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_predictions_are_marked_invalid_after_close_with_the_reason(
    case, submit, seal, accepted, open_round, live_ids, settings
):
    build, message, codes = BROKEN[case]
    envelope = seal(csv_bytes(build(live_ids)))
    response = submit(envelope)
    # Sealed, the platform cannot judge the predictions yet: the upload is received...
    assert response.status_code == 201
    assert response.json()["state"] == "received"

    round_close(round=open_round, now=open_round.closes_at)
    # ...and the last upload before close counts, so it is the one opened and found invalid.
    bad = Submission.objects.get(pk=response.json()["id"])
    assert (bad.is_counted, bad.state, bad.error, bad.rows) == (True, "invalid", message, 0)
    assert [p["code"] for p in bad.problems] == codes
    assert bad.predictions_cid == "" and bad.checked_at == open_round.closes_at
    # Its owner sees why; it is not scored; and nothing is deleted.
    listed = submit.client.get(f"/api/models/{accepted['model_id']}/submissions").json()
    row = listed["results"][0]
    assert (row["id"], row["state"], row["error"]) == (bad.id, "invalid", message)
    assert [p["code"] for p in row["problems"]] == codes
    assert predictions_matrix(round=open_round)[0] == []
    assert (settings.BLOB_DIR / bad.cid[-2:] / bad.cid).read_bytes() == envelope
    assert Submission.objects.get(pk=accepted["id"]).is_counted is False


def test_missing_ids_problem_details_survive_to_the_api(submit, seal, open_round, live_ids):
    submit(seal(csv_bytes(_missing(live_ids))))
    round_close(round=open_round, now=open_round.closes_at)
    problem = Submission.objects.get().problems[0]
    assert problem["count"] == 7
    assert problem["examples"] == ["live043", "live044", "live045", "live046", "live047"]


# --- Refused before anything is stored -----------------------------------------------------


def _refused(response, code: str, message: str) -> None:
    assert response.status_code == 400, response.json()
    assert response.json()["error"] == {"code": code, "message": message, "details": None}


def test_plaintext_is_refused(submit, accepted, open_round, live_ids, settings):
    blobs_before = sorted(p.name for p in settings.BLOB_DIR.rglob("*") if p.is_file())
    for data, name in (
        (predictions_csv(live_ids), "predictions.csv"),
        (b"\xef\xbb\xbfid,prediction\nlive000,0.5\n", "bom.csv"),
    ):
        _refused(
            submit(data, name),
            "not_sealed",
            "this is a plaintext predictions file: the platform accepts only predictions "
            "sealed to the round's public key (the site's upload form, `arena submit` and "
            "`arena seal` seal them for you)",
        )
    buf = io.BytesIO()
    predictions_frame(live_ids).to_parquet(buf, index=False)
    assert submit(buf.getvalue(), "p.parquet").json()["error"]["code"] == "not_sealed"
    assert sorted(p.name for p in settings.BLOB_DIR.rglob("*") if p.is_file()) == blobs_before
    _assert_still_counted(accepted, open_round)


def test_malformed_envelopes_are_refused(submit, seal, accepted, open_round, live_ids):
    envelope = seal(predictions_csv(live_ids))
    _refused(
        submit(envelope[:40]),
        "malformed_envelope",
        "malformed envelope: envelope is 40 bytes; the smallest possible is 59",
    )
    _refused(
        submit(b"GIF89a" + envelope[6:]),
        "malformed_envelope",
        "malformed envelope: not an Arena envelope: starts with b'GIF8', expected b'ARNS'",
    )
    _refused(
        submit(envelope[:4] + b"\x02" + envelope[5:]),
        "malformed_envelope",
        "malformed envelope: unsupported envelope version 2; this client reads version 1",
    )
    _refused(
        submit(seal(b"")),
        "malformed_envelope",
        "malformed envelope: envelope is 59 bytes, only the header, key and tag: it seals an "
        "empty file",
    )
    _assert_still_counted(accepted, open_round)


def test_no_file(submit, accepted, open_round):
    response = submit.client.post(
        f"/api/models/{accepted['model_id']}/submissions", {}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "file: No file was submitted."
    _assert_still_counted(accepted, open_round)


def test_too_large_is_413(submit, seal, accepted, open_round, live_ids, settings):
    plaintext = predictions_csv(live_ids)
    envelope = seal(plaintext)
    settings.ARENA_MAX_PREDICTION_BYTES = len(plaintext) - 1
    response = submit(envelope)
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "too_large"
    assert error["message"] == (
        f"sealed file is {len(envelope):,} bytes; the limit is {len(envelope) - 1:,} bytes "
        f"(predictions up to {len(plaintext) - 1:,} bytes, sealed)"
    )
    settings.ARENA_MAX_PREDICTION_BYTES = 20 * 1024 * 1024  # the accepted file fits again
    _assert_still_counted(accepted, open_round)


def test_a_body_far_over_the_limit_is_refused_before_parsing(submit, accepted, open_round, settings):
    settings.ARENA_MAX_PREDICTION_BYTES = 1000
    data = b"ARNS" + b"x" * 120_000
    response = submit(data)
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "too_large"
    assert error["message"].startswith("request body is ")
    assert error["message"].endswith(" bytes; the file limit is 1000 bytes")
    settings.ARENA_MAX_PREDICTION_BYTES = 20 * 1024 * 1024
    _assert_still_counted(accepted, open_round)


def test_upload_after_close_is_409_with_the_close_time(submit, seal, accepted, open_round, live_ids):
    envelope = seal(predictions_csv(live_ids, seed=5))
    round_close(round=open_round, now=open_round.closes_at)
    response = submit(envelope)
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
    submit, seal, accepted, open_round, live_ids
):
    closes_at = timezone.now() - timedelta(seconds=1)
    Round.objects.filter(pk=open_round.pk).update(closes_at=closes_at)
    response = submit(seal(predictions_csv(live_ids, seed=5)))
    assert response.status_code == 409
    assert response.json()["error"]["message"] == (
        f"no round is open for submissions; round 1 closed at {closes_at.isoformat()}"
    )
    assert Submission.objects.count() == 1


def test_upload_before_any_round_opened_is_409(submit, tournament):
    # No round is open, so there is no key to seal to: any bytes get the same answer.
    response = submit(b"ARNS anything")
    assert response.status_code == 409
    assert response.json()["error"]["message"] == "no round is open for submissions; " + (
        f"round 1 opens at {tournament.rounds.get(number=1).opens_at.isoformat()}"
    )


def test_nobody_uploads_for_anothers_model(key_client, stranger, seal, accepted, open_round, live_ids):
    response = key_client(stranger, "submit").post(
        f"/api/models/{accepted['model_id']}/submissions",
        {"file": named_file(seal(predictions_csv(live_ids, seed=3)), "predictions.csv.sealed")},
        format="multipart",
    )
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "forbidden", "message": "you can only submit for your own models", "details": None
    }
    _assert_still_counted(accepted, open_round)


def test_a_read_only_key_cannot_submit(key_client, modeler, model, seal, live_ids):
    response = key_client(modeler, "read").post(
        f"/api/models/{model.id}/submissions",
        {"file": named_file(seal(predictions_csv(live_ids)), "predictions.csv.sealed")},
        format="multipart",
    )
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "this API key lacks the 'submit' scope"
    assert Submission.objects.count() == 0


def test_anonymous_upload_is_401(api, model, seal, live_ids):
    response = api.post(
        f"/api/models/{model.id}/submissions",
        {"file": named_file(seal(predictions_csv(live_ids)), "predictions.csv.sealed")},
        format="multipart",
    )
    assert response.status_code == 401
    assert Submission.objects.count() == 0


def test_session_users_can_upload_too(session_client, modeler, model, seal, live_ids):
    response = session_client(modeler).post(
        f"/api/models/{model.id}/submissions",
        {"file": named_file(seal(predictions_csv(live_ids)), "predictions.csv.sealed")},
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
        "problems": [],
        "checked_at": None,
    }


def test_direct_service_and_api_agree(submit, seal, open_round, live_ids, model):
    # The same envelope through the service (as the site does) and through the API.
    envelope = seal(predictions_csv(live_ids, seed=9))
    via_service = submission_upload(model=model, by=model.owner, data=envelope, filename="s")
    via_api = submit(envelope).json()
    assert via_api["cid"] == via_service.cid == cid_for_bytes(envelope)
    assert via_api["size_bytes"] == via_service.size_bytes == len(envelope)


def test_uploads_beyond_the_per_round_limit_get_429_and_store_nothing(
    submit, seal, live_ids, settings, open_round, model
):
    settings.ARENA_MAX_UPLOADS_PER_ROUND = 3
    for seed in range(3):
        assert submit(seal(predictions_csv(live_ids, seed=seed))).status_code == 201
    blobs_before = sorted(p.name for p in settings.BLOB_DIR.rglob("*") if p.is_file())
    response = submit(seal(predictions_csv(live_ids, seed=9)))
    assert response.status_code == 429
    body = response.json()["error"]
    assert body["code"] == "upload_limit"
    assert body["message"] == (
        f"model 'gale-force' has uploaded 3 files to round 1, the most a model may; the last "
        f"one uploaded counts. Round 1 closes at {open_round.closes_at.isoformat()}"
    )
    assert Submission.objects.filter(model=model).count() == 3
    assert sorted(p.name for p in settings.BLOB_DIR.rglob("*") if p.is_file()) == blobs_before
    # The limit is per model: the owner's other model still uploads to the round.
    other = model_create(owner=model.owner, tournament=model.tournament, name="second-wind")
    response = submit(seal(predictions_csv(live_ids), for_model=other), model_id=other.id)
    assert response.status_code == 201
