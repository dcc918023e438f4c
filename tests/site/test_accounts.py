"""Sign-up, log-in/out and API keys through the website."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from accounts.models import ApiKey
from accounts.services import api_key_create, hash_api_key
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_signup_creates_the_user_and_logs_them_in(client):
    page = client.get(reverse("signup"))
    assert page.status_code == 200
    assert "Create an account" in page.text

    response = client.post(
        reverse("signup"),
        {"username": "newbie", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    assert response.url == reverse("home")
    assert User.objects.filter(username="newbie").exists()
    home = client.get(reverse("home"))
    assert '<span class="username">newbie</span>' in home.text
    assert "Welcome to Arena, newbie!" in home.text


def test_signup_with_mismatched_passwords_shows_the_error_and_creates_nobody(client):
    response = client.post(
        reverse("signup"),
        {"username": "newbie", "password1": PASSWORD, "password2": PASSWORD + "x"},
    )
    assert response.status_code == 400
    assert "The two password fields didn’t match." in response.text
    assert not User.objects.filter(username="newbie").exists()


def test_signup_rejects_a_taken_username(client, modeler):
    response = client.post(
        reverse("signup"),
        {"username": modeler.username, "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 400
    assert "A user with that username already exists." in response.text


def test_login_and_logout(client, modeler):
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert "Log in" in page.text

    wrong = client.post(reverse("login"), {"username": modeler.username, "password": "nope"})
    assert wrong.status_code == 200
    assert "Your username and password didn't match" in wrong.text

    ok = client.post(reverse("login"), {"username": modeler.username, "password": PASSWORD})
    assert ok.status_code == 302
    assert ok.url == reverse("home")
    assert f'<span class="username">{modeler.username}</span>' in client.get(reverse("home")).text

    assert client.get(reverse("logout")).status_code == 405  # log-out is POST only
    out = client.post(reverse("logout"))
    assert out.status_code == 302
    home = client.get(reverse("home"))
    assert 'class="username"' not in home.text
    assert reverse("login") in home.text


def test_login_redirects_to_next(client, modeler):
    response = client.post(
        reverse("login"),
        {"username": modeler.username, "password": PASSWORD, "next": reverse("my-models")},
    )
    assert response.url == reverse("my-models")


def test_api_keys_page_needs_a_login(client):
    response = client.get(reverse("api-keys"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_api_key_is_shown_once_then_only_its_prefix(login, modeler):
    client = login(modeler)
    page = client.get(reverse("api-keys"))
    assert page.status_code == 200
    assert "No keys yet." in page.text

    shown = client.post(reverse("api-keys"), {"name": "laptop", "scopes": ["read", "submit"]})
    assert shown.status_code == 201
    assert "shown only once" in shown.text
    key = ApiKey.objects.get(user=modeler)
    raw = shown.context["raw_key"]
    assert raw.startswith(f"arena_{key.prefix}_")
    assert raw in shown.text
    assert key.key_hash == hash_api_key(raw)
    assert key.scopes == ["read", "submit"]
    assert "no-store" in shown["Cache-Control"]
    assert raw not in str(dict(client.session))  # not parked in the session either

    listing = client.get(reverse("api-keys"))
    assert raw not in listing.text
    assert f"arena_{key.prefix}_…" in listing.text
    assert "laptop" in listing.text


def test_api_key_needs_a_scope_and_a_name(login, modeler):
    client = login(modeler)
    response = client.post(reverse("api-keys"), {"name": "", "scopes": []})
    assert response.status_code == 400
    assert response.text.count("This field is required.") == 2
    assert not ApiKey.objects.exists()


def test_revoke_own_key(login, modeler):
    issued = api_key_create(user=modeler, name="old", scopes=["read"])
    client = login(modeler)
    response = client.post(reverse("api-key-revoke", args=[issued.api_key.pk]))
    assert response.status_code == 302
    issued.api_key.refresh_from_db()
    assert issued.api_key.revoked_at is not None
    listing = client.get(reverse("api-keys"))
    assert f"Key {issued.api_key.prefix}… (old) revoked." in listing.text
    assert "revoked " in listing.text


def test_cannot_revoke_another_users_key(login, modeler, stranger):
    issued = api_key_create(user=modeler, name="mine", scopes=["read"])
    response = login(stranger).post(reverse("api-key-revoke", args=[issued.api_key.pk]))
    assert response.status_code == 403
    issued.api_key.refresh_from_db()
    assert issued.api_key.revoked_at is None
