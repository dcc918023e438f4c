"""API test fixtures: clients authenticated by key or session, and a played-out round."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _fresh_throttles():
    # Throttle counters live in the cache; each test starts with none.
    cache.clear()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def key_client(make_key):
    """`key_client(user, "submit")` → an APIClient sending that user's new key."""

    def _client(user, *scopes: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(user, *scopes)}")
        return client

    return _client


@pytest.fixture
def session_client():
    def _client(user) -> APIClient:
        client = APIClient()
        client.force_login(user)
        return client

    return _client
