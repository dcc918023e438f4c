"""Every operation of the OpenAPI schema (/api/schema/), fuzzed by schemathesis in-process
through Django's WSGI handler, once per caller: an API key of each scope, and a logged-in
browser session (the only caller the key endpoints accept).

For every generated request, valid input and invalid alike: no 5xx, the status code is one the
operation documents, and the Content-Type and the body match the documented response.

The database holds what the operations act on: a resolved round with scores and payouts, an
open round with a sealed upload in it, models, data sets and a DEX market. About half of the
generated ids and slugs are swapped for ones that exist, so requests reach the services, not
only the 404 of an unknown id. Deterministic: derandomized Hypothesis and a fixed seed, with a
bounded number of examples per operation.
"""

import zlib
from datetime import timedelta

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from django.utils import timezone
from django.utils.crypto import get_random_string
from hypothesis import HealthCheck, settings
from schemathesis import checks

from accounts.models import ApiKey, ApiScope
from core.money import tokens_to_wei
from dex.models import DexMarket, DexToken
from tests.builders import csv_bytes, make_frame, sealed_predictions
from tournaments.models import (
    DatasetVersion,
    ModelSlot,
    Round,
    Submission,
    Tournament,
    TournamentKind,
)
from tournaments.services.datasets import dataset_upload
from tournaments.services.lifecycle import round_open
from tournaments.services.model_slots import model_create, stake_deposit
from tournaments.services.submissions import submission_upload
from tournaments.services.tournaments import tournament_create, tournament_launch

pytestmark = pytest.mark.django_db

# Generated examples per operation and caller (the schema's own examples and schemathesis'
# coverage cases, a few to a few hundred per operation, come on top).
MAX_EXAMPLES = 25
SEED = 20240601
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
SESSION = "session"
CALLERS = [*(scope.value for scope in ApiScope), SESSION]


def _address(i: int) -> str:
    return "0x" + f"{i:040x}"


@pytest.fixture
def world(sponsor, modeler, resolved_round, make_key):
    """Beside the resolved round 1 of `weather`: `wind` with round 1 open and the modeler's
    sealed upload in it, and a DEX tournament with its market (recorded without a chain)."""
    windy = tournament_launch(
        sponsor=sponsor,
        name="Wind Signals",
        slug="wind",
        first_round_at=timezone.now() - timedelta(minutes=1),
        round_interval=timedelta(days=1),
        submission_window=timedelta(hours=12),
        resolution_lag=timedelta(hours=1),
        score_days=2,
        score_day_interval=timedelta(hours=1),
        payout_threshold=tokens_to_wei(100),
        reward_pool=tokens_to_wei(500),
        training_data=csv_bytes(make_frame()),
        training_filename="train.csv",
    )
    live = make_frame(with_target=False, seed=8, prefix="wind")
    wind_round = windy.rounds.get(number=1)
    dataset_upload(
        tournament=windy,
        by=sponsor,
        kind="live",
        round=wind_round,
        data=csv_bytes(live),
        filename="live.csv",
    )
    wind_round = round_open(round=wind_round, now=timezone.now())
    breeze = stake_deposit(
        model=model_create(owner=modeler, tournament=windy, name="breeze"),
        by=modeler,
        amount=tokens_to_wei(5),
    )
    submission_upload(
        model=breeze,
        by=modeler,
        data=sealed_predictions(wind_round, breeze, live["id"].tolist()),
        filename="p.csv.sealed",
    )
    dex = tournament_create(
        sponsor=sponsor,
        name="Dex Signals",
        slug="dexy",
        kind=TournamentKind.DEX,
        first_round_at=timezone.now(),
    )
    market = DexMarket.objects.create(
        tournament=dex,
        quote_token=_address(1),
        quote_symbol="Q",
        factory=_address(2),
        router=_address(3),
        vault=_address(4),
        vault_block=1,
        keeper=_address(5),
        capital=10**18,
        era_seconds=15,
        history_eras=6,
        feature_windows=[1, 2],
    )
    for k, symbol in enumerate(["AAA", "BBB", "CCC", "DDD", "EEE"]):
        DexToken.objects.create(
            market=market, position=k, symbol=symbol, token=_address(10 + k), pair=_address(20 + k)
        )
    make_key(modeler, "read", name="spare")  # a key the session may revoke


@pytest.fixture(autouse=True)
def _keep_the_test_transaction():
    """Django's test client unhooks this for each request; schemathesis calls the WSGI handler
    itself, which would close the connection after each response (and with it, on PostgreSQL,
    the test's transaction)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture(params=CALLERS)
def caller(request, sponsor, modeler, make_key) -> dict:
    """The headers and cookies of one caller: a key of one scope, held by the user the scope
    matters to (sponsor → the sponsor, the others → the modeler), or the modeler's session."""
    if request.param == SESSION:
        client = Client()
        client.force_login(modeler)
        csrf_secret = get_random_string(32)
        return {
            "headers": {"X-CSRFToken": csrf_secret},
            "cookies": {
                django_settings.SESSION_COOKIE_NAME: client.cookies[
                    django_settings.SESSION_COOKIE_NAME
                ].value,
                django_settings.CSRF_COOKIE_NAME: csrf_secret,
            },
        }
    holder = sponsor if request.param == ApiScope.SPONSOR else modeler
    raw_key = make_key(holder, request.param, name=f"{request.param} key")
    return {"headers": {"Authorization": f"Bearer {raw_key}"}, "cookies": {}}


# Loaded at collection, as the site serves it (building the schema reads no database).
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/",
    WSGIHandler(),
    config=schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
                # The caller's own key or session, not generated credentials.
                "with-security-parameters": False,
            },
        }
    ),
)


def _existing(name: str) -> list:
    """Values of the path parameter `name` that name rows in the database, in a stable order."""
    rows = {
        "slug": Tournament.objects.order_by("pk").values_list("slug", flat=True),
        "number": Round.objects.order_by("number").values_list("number", flat=True).distinct(),
        "day": range(1, 3),
        "model_id": ModelSlot.objects.order_by("pk").values_list("pk", flat=True),
        "submission_id": Submission.objects.order_by("pk").values_list("pk", flat=True),
        "dataset_id": DatasetVersion.objects.order_by("pk").values_list("pk", flat=True),
        "prefix": ApiKey.objects.order_by("pk").values_list("prefix", flat=True),
    }.get(name, [])
    return list(rows)


def _point_at_rows(case) -> None:
    """Swap about half of the generated path parameters (and a body's `tournament`) for values
    that name existing rows.

    Picked by the generated value's CRC, so a case always becomes the same request: the
    examples and coverage cases are built at collection, before the database exists, so the
    swap cannot be a Hypothesis draw.
    """
    slots = [(case.path_parameters, name) for name in case.path_parameters or {}]
    if isinstance(case.body, dict) and "tournament" in case.body:
        slots.append((case.body, "tournament"))  # registering a model names its tournament
    for params, name in slots:
        existing = _existing("slug" if name == "tournament" else name)
        pick = zlib.crc32(repr(params[name]).encode()) % (2 * len(existing) or 1)
        if pick < len(existing):
            params[name] = existing[pick]


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.usefixtures("world")
def test_every_operation_answers_as_documented(case, caller):
    _point_at_rows(case)
    case.call_and_validate(headers=caller["headers"], cookies=caller["cookies"], checks=CHECKS)
