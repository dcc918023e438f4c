"""Log-in is throttled per username and per client address (accounts/login_throttle.py),
on the site's log-in page and the admin's. The window is 15 minutes unless a test says
otherwise; counters live in the cache, which each test starts empty."""

import time

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from accounts.login_throttle import retry_phrase
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
FOR_USERNAME = "Too many failed log-in attempts for this username. Try again in 15 minutes."
FROM_ADDRESS = "Too many failed log-in attempts from your address. Try again in 15 minutes."


@pytest.fixture(autouse=True)
def limits(settings):
    settings.ARENA_LOGIN_FAILURES_PER_USERNAME = 3
    settings.ARENA_LOGIN_FAILURES_PER_ADDRESS = 5
    settings.ARENA_LOGIN_WINDOW_SECONDS = 900
    return settings


def attempt(client, username: str, password: str, *, address: str = "198.51.100.7", path: str = LOGIN):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_the_login_url_is_the_throttled_view():
    assert reverse("login") == LOGIN


def test_a_right_password_gets_in_after_fewer_failures_than_the_limit(client, modeler):
    for _ in range(2):
        wrong = attempt(client, modeler.username, "wrong")
        assert wrong.status_code == 200
        assert "Your username and password didn't match. Please try again." in wrong.text
    ok = attempt(client, modeler.username, PASSWORD)
    assert ok.status_code == 302
    assert client.session["_auth_user_id"] == str(modeler.pk)


def test_at_the_limit_even_the_right_password_is_refused_with_429_and_when_to_retry(client, modeler):
    for _ in range(3):
        assert attempt(client, modeler.username, "wrong").status_code == 200
    refused = attempt(client, modeler.username, PASSWORD)
    assert refused.status_code == 429
    assert 899 <= int(refused["Retry-After"]) <= 900
    assert f'<p class="form-error" role="alert">{FOR_USERNAME}</p>' in refused.text
    assert "didn't match" not in refused.text
    assert "_auth_user_id" not in client.session


def test_the_username_count_ignores_case_and_other_addresses(client, modeler):
    for n, address in enumerate(["198.51.100.7", "198.51.100.8", "203.0.113.9"]):
        attempt(client, modeler.username.upper() if n % 2 else modeler.username, "wrong", address=address)
    refused = attempt(client, modeler.username, PASSWORD, address="192.0.2.44")
    assert refused.status_code == 429
    assert FOR_USERNAME in refused.text


def test_a_success_clears_the_usernames_count(client, modeler):
    for _ in range(2):
        attempt(client, modeler.username, "wrong")
    assert attempt(client, modeler.username, PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for _ in range(2):
        attempt(client, modeler.username, "wrong")
    assert attempt(client, modeler.username, PASSWORD).status_code == 302


def test_unknown_usernames_count_too(client):
    for _ in range(3):
        assert attempt(client, "nobody-here", "guess").status_code == 200
    refused = attempt(client, "nobody-here", "guess")
    assert refused.status_code == 429
    assert FOR_USERNAME in refused.text


def test_one_address_trying_many_usernames_is_refused_and_others_are_not(client, modeler, make_user):
    for n in range(5):
        attempt(client, f"target-{n}", "guess", address="198.51.100.7")
    refused = attempt(client, modeler.username, PASSWORD, address="198.51.100.7")
    assert refused.status_code == 429
    assert f'<p class="form-error" role="alert">{FROM_ADDRESS}</p>' in refused.text
    # The user themself, from their own address, is not locked out by someone else's guesses.
    assert attempt(client, modeler.username, PASSWORD, address="192.0.2.44").status_code == 302


def test_a_success_does_not_reset_the_address_count(client, modeler, make_user):
    # Logging into one's own account must not buy more guesses at others' passwords.
    own = make_user("guesser")
    for n in range(4):
        attempt(client, f"target-{n}", "guess")
    assert attempt(client, own.username, PASSWORD).status_code == 302
    client.post(reverse("logout"))
    attempt(client, "target-4", "guess")
    assert attempt(client, own.username, PASSWORD).status_code == 429


def test_ipv6_addresses_of_one_64_block_share_a_count(client, modeler):
    for n in range(5):
        attempt(client, f"target-{n}", "guess", address=f"2001:db8:1:2::{n + 1:x}")
    refused = attempt(client, modeler.username, PASSWORD, address="2001:db8:1:2:ffff::1")
    assert refused.status_code == 429
    assert FROM_ADDRESS in refused.text
    assert attempt(client, modeler.username, PASSWORD, address="2001:db8:1:3::1").status_code == 302


def test_the_window_ends_and_log_in_works_again(client, modeler, limits):
    limits.ARENA_LOGIN_WINDOW_SECONDS = 1
    for _ in range(3):
        attempt(client, modeler.username, "wrong")
    refused = attempt(client, modeler.username, PASSWORD)
    assert refused.status_code == 429
    assert "Try again in 1 second." in refused.text
    assert refused["Retry-After"] == "1"
    time.sleep(1.1)
    assert attempt(client, modeler.username, PASSWORD).status_code == 302


def test_a_limit_of_zero_turns_it_off(client, modeler, limits):
    limits.ARENA_LOGIN_FAILURES_PER_USERNAME = 0
    limits.ARENA_LOGIN_FAILURES_PER_ADDRESS = 0
    for _ in range(30):
        attempt(client, modeler.username, "wrong")
    assert attempt(client, modeler.username, PASSWORD).status_code == 302


def test_a_missing_password_is_no_attempt(client, modeler):
    for _ in range(5):
        assert client.post(LOGIN, {"username": modeler.username}, REMOTE_ADDR="198.51.100.7").status_code == 200
    assert attempt(client, modeler.username, PASSWORD).status_code == 302


def test_the_admin_login_shares_the_counts(client, modeler):
    staff = User.objects.create_superuser(username="olga-operator", password=PASSWORD)
    admin_login = reverse("admin:login")
    for _ in range(2):
        assert attempt(client, staff.username, "wrong", path=admin_login).status_code == 200
    attempt(client, staff.username, "wrong")  # the third failure, on the site's page
    refused = attempt(client, staff.username, PASSWORD, path=admin_login)
    assert FOR_USERNAME in refused.text
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("admin:index")).status_code == 302  # still sent to log in


@pytest.mark.parametrize(("seconds", "phrase"), [
    (1, "1 second"), (45, "45 seconds"), (90, "90 seconds"), (91, "2 minutes"), (900, "15 minutes"), (899, "15 minutes"),
])
def test_retry_phrase(seconds, phrase):
    assert retry_phrase(seconds) == phrase
