"""One error shape for every failure; the OpenAPI schema and the offline docs page."""

import io
import json

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from tests.builders import predictions_csv

pytestmark = pytest.mark.django_db

API_PATHS = [
    "/api/me",
    "/api/keys",
    "/api/keys/{prefix}",
    "/api/tournaments",
    "/api/tournaments/{slug}",
    "/api/tournaments/{slug}/leaderboard",
    "/api/tournaments/{slug}/rounds",
    "/api/tournaments/{slug}/rounds/{number}",
    "/api/tournaments/{slug}/rounds/{number}/live-data",
    "/api/tournaments/{slug}/rounds/{number}/targets/{day}",
    "/api/tournaments/{slug}/datasets",
    "/api/datasets/{dataset_id}/download",
    "/api/models",
    "/api/models/{model_id}",
    "/api/models/{model_id}/stake",
    "/api/models/{model_id}/release",
    "/api/models/{model_id}/submissions",
    "/api/models/{model_id}/submissions/{submission_id}/proof",
    "/api/models/{model_id}/scores",
    "/api/platform",
]


def _is_error_shape(body: dict) -> bool:
    return set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_unknown_api_paths_are_json_404s(api, method):
    response = getattr(api, method)("/api/no/such/thing")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": {
            "code": "not_found",
            "message": "no API endpoint at /api/no/such/thing; the endpoints are listed at /api/docs/",
            "details": None,
        }
    }


@pytest.mark.parametrize(
    "path", ["/api/models/1%0A/scores", "/api/tournaments/a%0Ab/market", "/api/%0A"]
)
def test_a_path_with_an_encoded_newline_is_a_json_404_too(api, path):
    # Found by tests/api/test_schemathesis.py: "." in the catch-all pattern did not match "\n",
    # so these fell through to the site's HTML 404 page.
    response = api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    decoded = path.replace("%0A", "\n")
    assert response.json()["error"] == {
        "code": "not_found",
        "message": f"no API endpoint at {decoded}; the endpoints are listed at /api/docs/",
        "details": None,
    }


def test_trailing_slash_is_not_an_endpoint(api, tournament):
    response = api.get("/api/tournaments/")
    assert response.status_code == 404
    assert _is_error_shape(response.json())


def test_405_on_a_shared_path(api, tournament):
    response = api.delete("/api/tournaments")
    assert response.status_code == 405
    assert response.json()["error"] == {
        "code": "method_not_allowed", "message": 'Method "DELETE" not allowed.', "details": None
    }


def test_malformed_json_is_a_400_parse_error(key_client, sponsor):
    response = key_client(sponsor, "sponsor").post(
        "/api/tournaments", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "parse_error"
    assert error["message"].startswith("JSON parse error")


def test_session_writes_need_the_csrf_token(modeler, tournament):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(modeler)
    response = client.post("/api/models", {"tournament": "weather", "name": "x"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "forbidden", "message": "CSRF Failed: CSRF cookie not set.", "details": None
    }


def test_a_body_without_a_content_type_is_a_documented_415(api, key_client, sponsor, open_round):
    # Found by tests/api/test_schemathesis.py: DRF answers 415 before the view runs, and no
    # operation that takes a body documented it.
    response = key_client(sponsor, "sponsor").generic(
        "POST", "/api/tournaments/weather/rounds/1/targets/1", b"id,target\n", content_type=""
    )
    assert response.status_code == 415
    assert response.json()["error"] == {
        "code": "unsupported_media_type",
        "message": 'Unsupported media type "" in request.',
        "details": None,
    }
    paths = api.get("/api/schema/?format=json").json()["paths"]
    with_body = [op for ops in paths.values() for op in ops.values() if "requestBody" in op]
    assert len(with_body) >= 10
    assert all("415" in op["responses"] for op in with_body)


def test_429_when_throttled(api, tournament, monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "2/min", "user": "2/min"})
    assert api.get("/api/tournaments").status_code == 200
    assert api.get("/api/tournaments/weather").status_code == 200
    response = api.get("/api/tournaments")
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "throttled"
    assert error["message"].startswith("Request was throttled. Expected available in ")
    assert 0 < error["details"]["retry_after_seconds"] <= 60
    assert 0 < int(response["Retry-After"]) <= 60


def test_413_when_form_fields_exceed_the_request_limit(key_client, modeler, model, open_round, live_ids, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    f = io.BytesIO(predictions_csv(live_ids))
    f.name = "p.csv"
    response = key_client(modeler, "submit").post(
        f"/api/models/{model.id}/submissions", {"file": f, "note": "x" * 5000}, format="multipart"
    )
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "too_large",
        "message": "Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.",
        "details": None,
    }


def test_limit_and_offset_paginate_and_the_limit_is_capped(key_client, modeler, tournament):
    from tournaments.services.model_slots import model_create

    for i in range(3):
        model_create(owner=modeler, tournament=tournament, name=f"m{i}")
    client = key_client(modeler, "read")
    body = client.get("/api/models?limit=1&offset=1").json()
    assert body["count"] == 3
    assert [m["name"] for m in body["results"]] == ["m1"]
    assert body["previous"].endswith("/api/models?limit=1")
    assert body["next"].endswith("/api/models?limit=1&offset=2")
    assert "limit=500" in client.get("/api/models?limit=100000&offset=1").json()["previous"]


def test_schema_endpoint_lists_every_endpoint(api):
    response = api.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["info"]["title"] == "Arena API"
    assert set(API_PATHS) <= set(schema["paths"])
    assert set(schema["paths"]["/api/tournaments"]) == {"get", "post"}
    assert set(schema["paths"]["/api/models/{model_id}/submissions"]) == {"get", "post"}
    upload = schema["paths"]["/api/models/{model_id}/submissions"]["post"]
    body_ref = upload["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
    file_field = schema["components"]["schemas"][body_ref.rsplit("/", 1)[-1]]["properties"]["file"]
    assert file_field == {"type": "string", "format": "binary"}
    raw_body = upload["requestBody"]["content"]["application/octet-stream"]["schema"]
    assert raw_body == {"type": "string", "format": "binary"}
    assert set(upload["responses"]) == {"201", "400", "401", "403", "404", "409", "413", "415"}
    assert upload["security"] == [{"apiKey": []}, {"cookieAuth": []}]
    assert schema["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    # Public reads allow anonymous access ({}), writes do not.
    assert {} in schema["paths"]["/api/tournaments"]["get"]["security"]
    assert {} not in schema["paths"]["/api/tournaments"]["post"]["security"]
    tournaments_list = schema["paths"]["/api/tournaments"]["get"]["responses"]["200"]
    assert tournaments_list["content"]["application/json"]["schema"]["$ref"].endswith(
        "/PaginatedTournamentOutputList"
    )


def test_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    assert set(API_PATHS) <= set(schema["paths"])


def test_docs_page_renders_every_endpoint_offline(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    for path in API_PATHS:
        assert f"<code>{path}</code>" in html
    assert "Upload sealed predictions for the open round" in html
    assert 'id="schema-Error"' in html
    # Nothing is fetched from elsewhere: no CDN, no third-party viewer.
    assert 'src="http' not in html and "href=\"http" not in html
    assert "cdn" not in html.lower() and "redoc" not in html.lower()


def test_docs_and_schema_without_the_slash_redirect(api):
    for path in ("/api/docs", "/api/schema"):
        response = api.get(path)
        assert response.status_code == 301
        assert response["Location"] == path + "/"
