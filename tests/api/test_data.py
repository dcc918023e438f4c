"""Data sets: current list, downloads (bytes, filename, ETag = CID), sponsor uploads."""


import pytest
from arena_client.cid import cid_for_bytes

from tests.builders import csv_bytes, make_frame, named_file
from tournaments.models import DatasetVersion, RoundTarget
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


def test_a_scheduled_rounds_live_data_is_only_for_its_sponsor(api, key_client, tournament, sponsor, stranger):
    rnd = tournament.rounds.get(number=1)
    response = key_client(sponsor, "sponsor").post(
        "/api/tournaments/weather/rounds/1/live-data",
        {"file": named_file(csv_bytes(make_frame(with_target=False, prefix="live")), "live.csv")},
        format="multipart",
    )
    assert response.status_code == 201
    live_id = response.json()["id"]
    for client in (api, key_client(stranger, "read")):
        response = client.get(f"/api/datasets/{live_id}/download")
        assert response.status_code == 404
        assert response.json()["error"]["message"] == (
            "round 1's live data is published when the round opens"
        )
    assert key_client(sponsor, "read").get(f"/api/datasets/{live_id}/download").status_code == 200
    rnd.refresh_from_db()
    assert rnd.state == "scheduled"


def test_sponsor_uploads_validation_data(key_client, sponsor, tournament):
    data = csv_bytes(make_frame(seed=3, prefix="val"))
    response = key_client(sponsor, "sponsor").post(
        "/api/tournaments/weather/datasets",
        {"kind": "validation", "file": named_file(data, "validation.csv")},
        format="multipart",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["version"], body["rows"], body["cid"]) == (
        "validation", 1, 50, cid_for_bytes(data)
    )
    assert DatasetVersion.objects.filter(tournament=tournament, kind="validation").count() == 1


def test_data_upload_with_missing_columns_is_rejected_and_nothing_stored(key_client, sponsor, tournament):
    frame = make_frame().drop(columns=["era", "target"])
    response = key_client(sponsor, "sponsor").post(
        "/api/tournaments/weather/datasets",
        {"kind": "training", "file": named_file(csv_bytes(frame), "train.csv")},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "missing column(s): era, target; found: id, feature_0, feature_1, feature_2",
        "details": {"missing_columns": ["era", "target"]},
    }
    assert DatasetVersion.objects.filter(kind="training").count() == 1


def test_data_upload_with_duplicate_ids_is_rejected(key_client, sponsor, tournament):
    frame = make_frame()
    frame.loc[7, "id"] = "id002"
    frame.loc[9, "id"] = "id004"
    response = key_client(sponsor, "sponsor").post(
        "/api/tournaments/weather/datasets",
        {"kind": "training", "file": named_file(csv_bytes(frame), "train.csv")},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "2 duplicate id(s); first: id002, id004",
        "details": {"duplicate_ids": 2, "first": ["id002", "id004"]},
    }
    assert DatasetVersion.objects.filter(kind="training").count() == 1


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


def test_targets_come_after_close(key_client, sponsor, open_round, live_ids):
    client = key_client(sponsor, "sponsor")
    url = "/api/tournaments/weather/rounds/1/targets/1"
    response = client.post(url, {"file": named_file(_target_csv(live_ids), "t.csv")}, format="multipart")
    assert response.status_code == 409
    assert response.json()["error"]["message"] == "round 1 is open: targets come after it closes"
    round_close(round=open_round, now=open_round.closes_at)
    data = _target_csv(live_ids)
    response = client.post(url, {"file": named_file(data, "t.csv")}, format="multipart")
    assert response.status_code == 201
    assert response.json() == {
        "tournament": "weather", "round": 1, "day": 1, "cid": cid_for_bytes(data), "rows": 50,
        "created_at": response.json()["created_at"],
    }
    assert RoundTarget.objects.get(round=open_round, day=1).cid == cid_for_bytes(data)


def test_target_upload_errors_name_the_problem(key_client, sponsor, open_round, live_ids):
    round_close(round=open_round, now=open_round.closes_at)
    client = key_client(sponsor, "sponsor")
    response = client.post(
        "/api/tournaments/weather/rounds/1/targets/1",
        {"file": named_file(_target_csv(live_ids[:-3]), "t.csv")},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "3 live id(s) missing; first: live047, live048, live049"
    )
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
