"""/api/me and /api/keys: who is calling, and key management from a browser session."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import ApiKey
from accounts.services import api_key_create, hash_api_key

pytestmark = pytest.mark.django_db

NOT_AUTHENTICATED = (
    "authentication required: send 'Authorization: Bearer <api key>' or log in to the site"
)


def test_me_with_a_key_shows_the_key_and_its_scopes(modeler, key_client):
    response = key_client(modeler, "submit", "read").get("/api/me")
    assert response.status_code == 200
    body = response.json()
    key = ApiKey.objects.get(user=modeler)
    assert body == {
        "id": modeler.id,
        "username": "mo-modeler",
        "email": "",
        "auth": "api_key",
        "scopes": ["read", "submit"],
        "key": {
            "prefix": key.prefix,
            "name": "test key",
            "scopes": ["read", "submit"],
            "active": True,
            "created_at": body["key"]["created_at"],
            "last_used_at": body["key"]["last_used_at"],
            "revoked_at": None,
        },
    }
    assert body["key"]["last_used_at"] is not None


def test_me_with_a_session_has_every_scope(modeler, session_client):
    body = session_client(modeler).get("/api/me").json()
    assert body["auth"] == "session"
    assert body["scopes"] == ["read", "submit", "stake", "sponsor"]
    assert body["key"] is None


def test_me_anonymous_is_401_in_the_error_shape(api):
    response = api.get("/api/me")
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "unauthorized", "message": NOT_AUTHENTICATED, "details": None}
    }
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_unknown_key_is_401_even_on_public_reads(api):
    api.credentials(HTTP_AUTHORIZATION="Bearer arena_nope_nope")
    response = api.get("/api/tournaments")
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "unauthorized", "message": "invalid API key", "details": None
    }


def test_revoked_key_is_401_revoked(modeler, make_key, api):
    raw = make_key(modeler, "read")
    ApiKey.objects.filter(user=modeler).update(revoked_at=timezone.now())
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = api.get("/api/me")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "this API key was revoked"


def test_using_a_key_records_last_used_at(modeler, api):
    issued = api_key_create(user=modeler, name="cli", scopes=["read"])
    assert issued.api_key.last_used_at is None
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw_key}")
    before = timezone.now()
    assert api.get("/api/models").status_code == 200
    issued.api_key.refresh_from_db()
    assert issued.api_key.last_used_at is not None
    assert before <= issued.api_key.last_used_at <= timezone.now()


def test_last_used_at_is_written_at_most_once_a_minute(modeler, api):
    issued = api_key_create(user=modeler, name="cli", scopes=["read"])
    recent = timezone.now() - timedelta(seconds=30)
    ApiKey.objects.filter(pk=issued.api_key.pk).update(last_used_at=recent)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw_key}")
    assert api.get("/api/me").status_code == 200
    issued.api_key.refresh_from_db()
    assert issued.api_key.last_used_at == recent


def test_create_key_shows_the_secret_once_and_stores_only_its_hash(modeler, session_client):
    client = session_client(modeler)
    response = client.post(
        "/api/keys", {"name": "laptop", "scopes": ["submit", "read"]}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    key = ApiKey.objects.get(user=modeler)
    assert body["key"].startswith(f"arena_{key.prefix}_")
    assert key.key_hash == hash_api_key(body["key"])
    assert body["prefix"] == key.prefix
    assert body["name"] == "laptop"
    assert body["scopes"] == ["read", "submit"]
    assert body["active"] is True
    # The secret never appears again.
    listed = client.get("/api/keys").json()
    assert listed["count"] == 1
    assert "key" not in listed["results"][0]
    assert listed["results"][0]["prefix"] == key.prefix
    # And it works.
    client.logout()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['key']}")
    assert client.get("/api/me").json()["scopes"] == ["read", "submit"]


def test_create_key_rejects_unknown_scopes_and_blank_names(modeler, session_client):
    client = session_client(modeler)
    response = client.post("/api/keys", {"name": "x", "scopes": ["admin"]}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"] == 'scopes[0]: "admin" is not a valid choice.'
    response = client.post("/api/keys", {"name": "  ", "scopes": ["read"]}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "name: This field may not be blank."
    response = client.post("/api/keys", {"name": "x", "scopes": []}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "scopes: This list may not be empty."
    assert ApiKey.objects.count() == 0


def test_keys_cannot_be_managed_with_an_api_key(modeler, key_client):
    client = key_client(modeler, "read", "submit", "stake", "sponsor")
    expected = {
        "code": "forbidden",
        "message": "API keys are managed from a logged-in browser session, not with an API key",
        "details": None,
    }
    response = client.post("/api/keys", {"name": "more", "scopes": ["read"]}, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == expected
    assert client.get("/api/keys").json()["error"] == expected
    prefix = ApiKey.objects.get(user=modeler).prefix
    response = client.delete(f"/api/keys/{prefix}")
    assert response.status_code == 403
    assert ApiKey.objects.get(user=modeler).revoked_at is None


def test_keys_anonymous_is_401(api):
    assert api.get("/api/keys").status_code == 401
    assert api.post("/api/keys", {"name": "x", "scopes": ["read"]}, format="json").status_code == 401


def test_revoke_key_then_it_stops_working(modeler, make_key, session_client, api):
    raw = make_key(modeler, "read")
    prefix = ApiKey.objects.get(user=modeler).prefix
    response = session_client(modeler).delete(f"/api/keys/{prefix}")
    assert response.status_code == 200
    assert response.json()["active"] is False
    assert response.json()["revoked_at"] is not None
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = api.get("/api/me")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "this API key was revoked"


def test_revoking_someone_elses_key_is_404_and_changes_nothing(modeler, stranger, make_key, session_client):
    make_key(stranger, "read")
    prefix = ApiKey.objects.get(user=stranger).prefix
    response = session_client(modeler).delete(f"/api/keys/{prefix}")
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found",
        "message": f"you have no API key with prefix '{prefix}'",
        "details": None,
    }
    assert ApiKey.objects.get(user=stranger).revoked_at is None


def test_key_list_is_only_mine_and_paginated(modeler, stranger, make_key, session_client):
    for i in range(3):
        make_key(modeler, "read", name=f"k{i}")
    make_key(stranger, "read", name="theirs")
    body = session_client(modeler).get("/api/keys?limit=2").json()
    assert body["count"] == 3
    assert [k["name"] for k in body["results"]] == ["k2", "k1"]
    assert body["next"].endswith("/api/keys?limit=2&offset=2")
    assert body["previous"] is None
