"""Data sets: current list, downloads (bytes, filename, ETag = CID), sponsor uploads.

An upload is answered 202 with its upload row in `processing`; the check runs afterwards
(`check_uploads`, tests/conftest.py, runs the Celery task) and moves it to `ready` — in
force — or `rejected` with the reason, which `GET /api/tournaments/{slug}/uploads[/{id}]`
shows.
"""


import pytest
from arena_client.cid import cid_for_bytes

from tests.builders import csv_bytes, make_frame, named_file
from tournaments.blobs import blob_store
from tournaments.models import DatasetVersion, RoundTarget, SponsorUpload
from tournaments.services.lifecycle import round_close

pytestmark = pytest.mark.django_db


def test_current_datasets_list_training_and_the_open_rounds_live_data(api, open_round):
    body = api.get("/api/tournaments/weather/datasets").json()
    assert body["count"] == 2
    training, live = body["results"]
    train_row = DatasetVersion.objects.get(kind="training")
    assert training == {
        "id": train_row.id,
        "kind": "training",
        "version": 1,
        "round": None,
        "cid": cid_for_bytes(csv_bytes(make_frame())),
        "filename": "train.csv",
        "size_bytes": len(csv_bytes(make_frame())),
        "rows": 50,
        "n_features": 3,
        "n_eras": 5,
        "feature_names": ["feature_0", "feature_1", "feature_2"],
        "has_target": True,
        "created_at": training["created_at"],
        "download_url": f"http://testserver/api/datasets/{train_row.id}/download",
    }
    assert (live["kind"], live["round"], live["has_target"]) == ("live", 1, False)


def test_download_streams_the_stored_bytes_with_filename_and_etag(api, tournament):
    data = csv_bytes(make_frame())
    dataset = DatasetVersion.objects.get(kind="training")
    response = api.get(f"/api/datasets/{dataset.id}/download")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"] == 'attachment; filename="weather-training-v1.csv"'
    assert response["ETag"] == f'"{cid_for_bytes(data)}"'
    assert response["X-Content-CID"] == cid_for_bytes(data)


def test_download_honours_if_none_match(api, tournament):
    dataset = DatasetVersion.objects.get(kind="training")
    response = api.get(
        f"/api/datasets/{dataset.id}/download", HTTP_IF_NONE_MATCH=f'"{dataset.cid}"'
    )
    assert response.status_code == 304
    assert response["ETag"] == f'"{dataset.cid}"'


def test_download_works_whatever_the_client_accepts(api, tournament):
    dataset = DatasetVersion.objects.get(kind="training")
    response = api.get(f"/api/datasets/{dataset.id}/download", HTTP_ACCEPT="application/octet-stream")
    assert response.status_code == 200


def test_download_unknown_is_a_json_404(api, db):
    response = api.get("/api/datasets/999/download")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "no data set with id 999"


def test_a_scheduled_rounds_live_data_is_only_for_its_sponsor(
    api, key_client, tournament, sponsor, stranger, check_uploads
):
    rnd = tournament.rounds.get(number=1)
    response = key_client(sponsor, "sponsor").post(
        "/api/tournaments/weather/rounds/1/live-data",
        {"file": named_file(csv_bytes(make_frame(with_target=False, prefix="live")), "live.csv")},
        format="multipart",
    )
    assert response.status_code == 202
    assert (response.json()["kind"], response.json()["round"]) == ("live", 1)
    (upload,) = check_uploads()
    assert upload.state == "ready"
    live_id = upload.dataset_id
    for client in (api, key_client(stranger, "read")):
        response = client.get(f"/api/datasets/{live_id}/download")
        assert response.status_code == 404
        assert response.json()["error"]["message"] == (
            "round 1's live data is published when the round opens"
        )
    assert key_client(sponsor, "read").get(f"/api/datasets/{live_id}/download").status_code == 200
    rnd.refresh_from_db()
    assert rnd.state == "scheduled"


def test_sponsor_uploads_validation_data(
    key_client, sponsor, tournament, check_uploads, django_capture_on_commit_callbacks
):
    data = csv_bytes(make_frame(seed=3, prefix="val"))
    client = key_client(sponsor, "sponsor")
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            "/api/tournaments/weather/datasets",
            {"kind": "validation", "file": named_file(data, "validation.csv")},
            format="multipart",
        )
    assert len(callbacks) == 1  # one task per upload, sent once the row is committed
    assert response.status_code == 202
    upload = SponsorUpload.objects.get(kind="validation")
    url = f"http://testserver/api/tournaments/weather/uploads/{upload.id}"
    assert response["Location"] == url
    assert response.json() == {
        "id": upload.id,
        "url": url,
        "tournament": "weather",
        "kind": "validation",
        "round": None,
        "day": None,
        "filename": "validation.csv",
        "size_bytes": len(data),
        "cid": cid_for_bytes(data),
        "state": "processing",
        "error": None,
        "rows": None,
        "dataset": None,
        "attempts": 0,
        "created_at": response.json()["created_at"],
        "checked_at": None,
    }
    # Stored, but nothing of it is in force until its check has passed.
    assert blob_store().get(cid_for_bytes(data)) == data
    assert not DatasetVersion.objects.filter(kind="validation").exists()
    assert client.get(url).json()["state"] == "processing"

    check_uploads()
    body = client.get(url).json()
    assert (body["state"], body["rows"], body["attempts"], body["error"]) == ("ready", 50, 1, None)
    assert body["checked_at"] is not None
    dataset = DatasetVersion.objects.get(tournament=tournament, kind="validation")
    assert (body["dataset"]["id"], body["dataset"]["version"], body["dataset"]["rows"]) == (
        dataset.id, 1, 50
    )
    listed = client.get("/api/tournaments/weather/datasets").json()["results"]
    assert [d["kind"] for d in listed] == ["training", "validation"]


def _rejected_upload(client, frame, check_uploads) -> dict:
    response = client.post(
        "/api/tournaments/weather/datasets",
        {"kind": "training", "file": named_file(csv_bytes(frame), "train.csv")},
        format="multipart",
    )
    assert response.status_code == 202
    assert response.json()["state"] == "processing"
    check_uploads()
    body = client.get(response.json()["url"]).json()
    assert body["state"] == "rejected"
    assert (body["rows"], body["dataset"]) == (None, None)
    return body


def test_data_upload_with_missing_columns_is_rejected_and_nothing_kept(
    key_client, sponsor, tournament, check_uploads
):
    frame = make_frame().drop(columns=["era", "target"])
    body = _rejected_upload(key_client(sponsor, "sponsor"), frame, check_uploads)
    assert body["error"] == {
        "code": "invalid",
        "message": "missing column(s): era, target; found: id, feature_0, feature_1, feature_2",
        "details": {"missing_columns": ["era", "target"]},
    }
    # The version in force stays; the refused bytes are deleted.
    assert list(DatasetVersion.objects.filter(kind="training").values_list("version", flat=True)) == [1]
    assert not blob_store().exists(body["cid"])


def test_data_upload_with_duplicate_ids_is_rejected(key_client, sponsor, tournament, check_uploads):
    frame = make_frame()
    frame.loc[7, "id"] = "id002"
    frame.loc[9, "id"] = "id004"
    body = _rejected_upload(key_client(sponsor, "sponsor"), frame, check_uploads)
    assert body["error"] == {
        "code": "invalid",
        "message": "2 duplicate id(s); first: id002, id004",
        "details": {"duplicate_ids": 2, "first": ["id002", "id004"]},
    }
    assert DatasetVersion.objects.filter(kind="training").count() == 1


def test_the_uploads_list_shows_each_state_and_filters(
    key_client, sponsor, stranger, open_round, live_ids, check_uploads
):
    client = key_client(sponsor, "sponsor")
    round_close(round=open_round, now=open_round.closes_at)
    for day, ids in ((1, live_ids), (2, live_ids[:-1])):
        response = client.post(
            f"/api/tournaments/weather/rounds/1/targets/{day}",
            {"file": named_file(_target_csv(ids), f"t{day}.csv")},
            format="multipart",
        )
        assert response.status_code == 202
    check_uploads()
    client.post(
        "/api/tournaments/weather/datasets",
        {"kind": "validation", "file": named_file(csv_bytes(make_frame(seed=3)), "v.csv")},
        format="multipart",
    )
    listed = client.get("/api/tournaments/weather/uploads").json()
    # Newest first: the validation file still being checked, the two targets, then the
    # launch's training file and round 1's live data (fixtures, checked synchronously).
    assert [(u["kind"], u["round"], u["day"], u["state"]) for u in listed["results"]] == [
        ("validation", None, None, "processing"),
        ("target", 1, 2, "rejected"),
        ("target", 1, 1, "ready"),
        ("live", 1, None, "ready"),
        ("training", None, None, "ready"),
    ]
    targets = client.get("/api/tournaments/weather/uploads?round=1&kind=target").json()
    assert [(u["day"], u["state"]) for u in targets["results"]] == [(2, "rejected"), (1, "ready")]
    assert targets["results"][0]["error"]["message"] == "1 live id(s) missing; first: live049"
    rejected = client.get("/api/tournaments/weather/uploads?state=rejected").json()
    assert rejected["count"] == 1
    # The round shows the day whose target is in force, to everyone.
    detail = client.get("/api/tournaments/weather/rounds/1").json()
    assert [(t["day"], t["rows"]) for t in detail["targets"]] == [(1, 50)]

    bad = client.get("/api/tournaments/weather/uploads?state=pending")
    assert bad.status_code == 400
    assert bad.json()["error"]["message"] == 'state: "pending" is not a valid choice.'
    other = key_client(stranger, "sponsor").get("/api/tournaments/weather/uploads")
    assert other.status_code == 403
    assert other.json()["error"]["message"] == "only the tournament's sponsor can see its uploads"
    upload_id = listed["results"][0]["id"]
    assert key_client(stranger, "sponsor").get(
        f"/api/tournaments/weather/uploads/{upload_id}"
    ).status_code == 403
    missing = client.get("/api/tournaments/weather/uploads/999999")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "no upload 999999 in weather"
    assert key_client(sponsor, "read").get("/api/tournaments/weather/uploads").status_code == 403


def test_a_sponsor_with_the_most_files_being_checked_waits(key_client, sponsor, tournament, settings):
    settings.ARENA_SPONSOR_PENDING_UPLOADS = 2
    client = key_client(sponsor, "sponsor")

    def send(seed: int):
        return client.post(
            "/api/tournaments/weather/datasets",
            {"kind": "validation", "file": named_file(csv_bytes(make_frame(seed=seed)), "v.csv")},
            format="multipart",
        )

    assert [send(1).status_code, send(2).status_code] == [202, 202]
    refused = send(3)
    assert refused.status_code == 429
    assert refused.json()["error"] == {
        "code": "uploads_pending",
        "message": "2 of your files are still being checked (at most 2 at once): send this one "
        "when one of them is ready or rejected",
        "details": None,
    }
    assert SponsorUpload.objects.filter(state="processing").count() == 2


def test_data_upload_needs_a_file_and_a_known_kind(key_client, sponsor, tournament):
    response = key_client(sponsor, "sponsor").post(
        "/api/tournaments/weather/datasets", {"kind": "live"}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "file: No file was submitted.; kind: \"live\" is not a valid choice."
    )


def test_only_the_sponsor_uploads_data(key_client, stranger, tournament):
    response = key_client(stranger, "sponsor").post(
        "/api/tournaments/weather/datasets",
        {"kind": "training", "file": named_file(csv_bytes(make_frame()), "train.csv")},
        format="multipart",
    )
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "only the tournament's sponsor can upload its data"
    assert DatasetVersion.objects.count() == 1
    assert SponsorUpload.objects.count() == 1  # the launch's: a refusal stores nothing


def test_data_upload_anonymous_is_401(api, tournament):
    response = api.post(
        "/api/tournaments/weather/datasets",
        {"kind": "training", "file": named_file(csv_bytes(make_frame()), "train.csv")},
        format="multipart",
    )
    assert response.status_code == 401


def test_live_data_is_fixed_once_the_round_opens(key_client, sponsor, open_round):
    response = key_client(sponsor, "sponsor").post(
        "/api/tournaments/weather/rounds/1/live-data",
        {"file": named_file(csv_bytes(make_frame(with_target=False, prefix="x")), "live.csv")},
        format="multipart",
    )
    assert response.status_code == 409
    assert response.json()["error"]["message"] == "round 1 is open: live data is fixed once it opens"


def _target_csv(ids, values=None) -> bytes:
    import pandas as pd

    values = values if values is not None else [i / len(ids) for i in range(len(ids))]
    return csv_bytes(pd.DataFrame({"id": ids, "target": values}))


def test_targets_come_after_close(key_client, sponsor, open_round, live_ids, check_uploads):
    client = key_client(sponsor, "sponsor")
    url = "/api/tournaments/weather/rounds/1/targets/1"
    response = client.post(url, {"file": named_file(_target_csv(live_ids), "t.csv")}, format="multipart")
    assert response.status_code == 409
    assert response.json()["error"]["message"] == "round 1 is open: targets come after it closes"
    round_close(round=open_round, now=open_round.closes_at)
    data = _target_csv(live_ids)
    response = client.post(url, {"file": named_file(data, "t.csv")}, format="multipart")
    assert response.status_code == 202
    body = response.json()
    assert (body["kind"], body["round"], body["day"], body["cid"], body["state"]) == (
        "target", 1, 1, cid_for_bytes(data), "processing"
    )
    # Not the day's target until its check has passed: the round cannot be scored on it.
    assert not RoundTarget.objects.exists()
    assert client.get("/api/tournaments/weather/rounds/1").json()["targets"] == []
    (upload,) = check_uploads()
    assert (upload.state, upload.rows, upload.dataset_id) == ("ready", 50, None)
    assert RoundTarget.objects.get(round=open_round, day=1).cid == cid_for_bytes(data)
    assert client.get(body["url"]).json()["state"] == "ready"


def test_target_upload_errors_name_the_problem(
    key_client, sponsor, open_round, live_ids, check_uploads
):
    round_close(round=open_round, now=open_round.closes_at)
    client = key_client(sponsor, "sponsor")
    response = client.post(
        "/api/tournaments/weather/rounds/1/targets/1",
        {"file": named_file(_target_csv(live_ids[:-3]), "t.csv")},
        format="multipart",
    )
    assert response.status_code == 202
    (upload,) = check_uploads()
    assert client.get(response.json()["url"]).json()["error"] == {
        "code": "invalid",
        "message": "3 live id(s) missing; first: live047, live048, live049",
        "details": {"missing_ids": 3, "first": ["live047", "live048", "live049"]},
    }
    response = client.post(
        "/api/tournaments/weather/rounds/1/targets/3",
        {"file": named_file(_target_csv(live_ids), "t.csv")},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "day must be between 1 and 2"
    assert RoundTarget.objects.count() == 0


def test_only_the_sponsor_uploads_targets(key_client, stranger, open_round, live_ids):
    round_close(round=open_round, now=open_round.closes_at)
    response = key_client(stranger, "sponsor").post(
        "/api/tournaments/weather/rounds/1/targets/1",
        {"file": named_file(_target_csv(live_ids), "t.csv")},
        format="multipart",
    )
    assert response.status_code == 403
    assert RoundTarget.objects.count() == 0


def test_data_upload_over_the_limit_is_413(key_client, sponsor, tournament, settings):
    data = csv_bytes(make_frame(seed=5))
    settings.ARENA_MAX_DATASET_BYTES = len(data) - 1
    response = key_client(sponsor, "sponsor").post(
        "/api/tournaments/weather/datasets",
        {"kind": "training", "file": named_file(data, "train.csv")},
        format="multipart",
    )
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "too_large",
        "message": f"file is {len(data)} bytes; the limit is {len(data) - 1} bytes",
        "details": None,
    }
    assert DatasetVersion.objects.filter(kind="training").count() == 1


def test_download_resumes_from_a_byte_range(api, tournament):
    data = csv_bytes(make_frame())
    dataset = DatasetVersion.objects.get(kind="training")
    url = f"/api/datasets/{dataset.id}/download"
    assert api.get(url)["Accept-Ranges"] == "bytes"

    partial = api.get(url, HTTP_RANGE="bytes=100-", HTTP_IF_RANGE=f'"{dataset.cid}"')
    assert partial.status_code == 206
    assert partial.content == data[100:]
    assert partial["Content-Range"] == f"bytes 100-{len(data) - 1}/{len(data)}"
    assert partial["ETag"] == f'"{dataset.cid}"'

    middle = api.get(url, HTTP_RANGE="bytes=10-19")
    assert (middle.status_code, middle.content) == (206, data[10:20])
    suffix = api.get(url, HTTP_RANGE="bytes=-7")
    assert (suffix.status_code, suffix.content) == (206, data[-7:])


def test_a_range_past_the_end_is_416(api, tournament):
    data = csv_bytes(make_frame())
    dataset = DatasetVersion.objects.get(kind="training")
    response = api.get(f"/api/datasets/{dataset.id}/download", HTTP_RANGE=f"bytes={len(data)}-")
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(data)}"
    assert response.json()["error"] == {
        "code": "range_not_satisfiable",
        "message": f"range 'bytes={len(data)}-' is outside the file's {len(data)} bytes",
        "details": None,
    }


def test_a_range_for_another_version_of_the_file_gets_the_whole_file(api, tournament):
    data = csv_bytes(make_frame())
    dataset = DatasetVersion.objects.get(kind="training")
    response = api.get(
        f"/api/datasets/{dataset.id}/download", HTTP_RANGE="bytes=100-", HTTP_IF_RANGE='"bafkother"'
    )
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data


@pytest.mark.parametrize("header", ["bytes=abc-5", "bytes=\xb2-", "bytes=0-\xb9", "bytes=1-2-3"])
def test_a_range_header_that_is_not_a_byte_range_gets_the_whole_file(api, tournament, header):
    # Found by tests/api/test_schemathesis.py: int("abc") and int("²") ("²".isdigit() is true)
    # raised ValueError (500); RFC 9110 says to ignore such a header.
    data = csv_bytes(make_frame())
    dataset = DatasetVersion.objects.get(kind="training")
    response = api.get(f"/api/datasets/{dataset.id}/download", HTTP_RANGE=header)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data


def test_a_range_of_more_digits_than_int_converts_is_read_as_past_any_file(api, tournament):
    data = csv_bytes(make_frame())
    dataset = DatasetVersion.objects.get(kind="training")
    url = f"/api/datasets/{dataset.id}/download"
    to_the_end = api.get(url, HTTP_RANGE="bytes=10-" + "9" * 5000)
    assert (to_the_end.status_code, to_the_end.content) == (206, data[10:])
    past_the_end = api.get(url, HTTP_RANGE="bytes=" + "9" * 5000 + "-")
    assert past_the_end.status_code == 416
    assert past_the_end.json()["error"]["code"] == "range_not_satisfiable"


def test_the_schema_documents_what_a_download_answers(api, db):
    # Found by tests/api/test_schemathesis.py: the schema said application/octet-stream while
    # the file comes as text/csv or Parquet, and left out 416 and the Range headers.
    operation = api.get("/api/schema/?format=json").json()["paths"][
        "/api/datasets/{dataset_id}/download"
    ]["get"]
    content_types = {"application/vnd.apache.parquet", "text/csv"}
    assert set(operation["responses"]["200"]["content"]) == content_types
    assert set(operation["responses"]["206"]["content"]) == content_types
    assert set(operation["responses"]) == {"200", "206", "304", "404", "416"}
    headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    assert headers == {"Range", "If-Range", "If-None-Match"}


def test_a_dex_tournament_refuses_data_uploads_with_a_documented_409(api, key_client, sponsor, db):
    # Found by tests/api/test_schemathesis.py: the 409 was answered but not in the schema.
    from tournaments.models import TournamentKind
    from tournaments.services.tournaments import tournament_create

    tournament_create(sponsor=sponsor, name="Dex Signals", slug="dexy", kind=TournamentKind.DEX)
    response = key_client(sponsor, "sponsor").post(
        "/api/tournaments/dexy/datasets",
        {"kind": "training", "file": named_file(csv_bytes(make_frame()), "train.csv")},
        format="multipart",
    )
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "market_data_only",
        "message": "dexy is a DEX tournament: its data and targets come from its market, "
        "not from uploads",
        "details": None,
    }
    schema = api.get("/api/schema/?format=json").json()
    assert "409" in schema["paths"]["/api/tournaments/{slug}/datasets"]["post"]["responses"]
