"""The open round has one definition (RoundQuerySet.open_at in tournaments/models.py) and
every reader agrees with it at the boundaries: the ORM's, and the upload path's SQL twin.

Open at `now` means: in state open (round_open ran, round_close has not) and opened by
`now`; of several, the highest number. `closes_at` is not part of it: the round stays open
until round_close runs, and submission_upload refuses uploads from `closes_at` by itself.
"""

from datetime import datetime, timedelta
from functools import partial

import pytest
from django.utils import timezone

from accounts.services import hash_api_key
from tests.builders import csv_bytes
from tournaments.models import ModelSlot, Round, RoundState, Tournament
from tournaments.selectors import round_current_open, round_open_for_upload, upload_context
from tournaments.services.datasets import dataset_upload
from tournaments.services.lifecycle import round_close, round_open, round_schedule_next

pytestmark = pytest.mark.django_db

TICK = timedelta(microseconds=1)  # the finest step a DateTimeField stores
READERS = ("queryset", "round_current_open", "round_open_for_upload SQL", "upload_context SQL")


@pytest.fixture
def submit_key_hash(make_key, modeler) -> str:
    return hash_api_key(make_key(modeler, "submit"))


def open_round_seen(tournament: Tournament, model: ModelSlot, key_hash: str, now: datetime) -> dict:
    """The open round's number at `now` (None: none is open), as each reader sees it."""

    def number(round: Round | None) -> int | None:
        return None if round is None else round.number

    context = upload_context(key_hash=key_hash, model_id=model.id, now=now, cid="no-such-cid")
    return {
        "queryset": number(Round.objects.filter(tournament=tournament).latest_open_at(now)),
        "round_current_open": number(round_current_open(tournament=tournament, now=now)),
        "round_open_for_upload SQL": number(
            round_open_for_upload(tournament_id=tournament.id, now=now)
        ),
        "upload_context SQL": number(context.round),
    }


def seen_by_all(number: int | None) -> dict:
    return dict.fromkeys(READERS, number)


def open_with_live_data(round: Round, sponsor, live_frame, now: datetime) -> Round:
    dataset_upload(
        tournament=round.tournament,
        by=sponsor,
        kind="live",
        round=round,
        data=csv_bytes(live_frame),
        filename="live.csv",
    )
    return round_open(round=round, now=now)


@pytest.fixture(params=["with microseconds", "on a whole second"])
def round_one(request, tournament, sponsor, live_frame) -> Round:
    """Round 1 opened exactly at its opens_at (so its close stays 12 h later). Both forms of
    opens_at, as SQLite stores dates as text and the SQL compares them as the ORM does."""
    opens_at = timezone.now() - timedelta(minutes=10)
    if request.param == "on a whole second":
        opens_at = opens_at.replace(microsecond=0)
    else:
        opens_at = opens_at.replace(microsecond=123_456)
    window = tournament.submission_window
    tournament.rounds.filter(number=1).update(
        opens_at=opens_at,
        closes_at=opens_at + window,
        resolves_at=opens_at + window + timedelta(hours=2),
    )
    rnd = open_with_live_data(tournament.rounds.get(number=1), sponsor, live_frame, now=opens_at)
    assert (rnd.state, rnd.opens_at, rnd.closes_at) == (
        RoundState.OPEN,
        opens_at,
        opens_at + window,
    )
    return rnd


def test_the_open_round_begins_exactly_at_opens_at(round_one, model, submit_key_hash):
    seen = partial(open_round_seen, round_one.tournament, model, submit_key_hash)

    assert seen(round_one.opens_at - TICK) == seen_by_all(None)
    assert seen(round_one.opens_at) == seen_by_all(1)
    assert list(Round.objects.open_at(round_one.opens_at - TICK)) == []
    assert list(Round.objects.open_at(round_one.opens_at)) == [round_one]


def test_the_open_round_stays_open_past_closes_at_until_round_close(
    round_one, model, submit_key_hash
):
    seen = partial(open_round_seen, round_one.tournament, model, submit_key_hash)

    assert seen(round_one.closes_at - TICK) == seen_by_all(1)
    assert seen(round_one.closes_at) == seen_by_all(1)
    assert seen(round_one.closes_at + timedelta(days=1)) == seen_by_all(1)

    closed = round_close(round=round_one, now=round_one.closes_at)

    assert closed.state == RoundState.CLOSED
    assert seen(round_one.closes_at) == seen_by_all(None)
    assert seen(round_one.opens_at) == seen_by_all(None)
    assert list(Round.objects.open_at(round_one.opens_at)) == []


def test_a_scheduled_round_is_not_open_though_its_opens_at_has_passed(
    tournament, model, submit_key_hash
):
    scheduled = tournament.rounds.get(number=1)
    now = timezone.now()

    assert scheduled.state == RoundState.SCHEDULED
    assert scheduled.opens_at < now
    assert open_round_seen(tournament, model, submit_key_hash, now) == seen_by_all(None)
    assert list(tournament.rounds.open_at(now)) == []


def test_of_two_open_rounds_the_higher_number_is_the_open_round(
    round_one, model, submit_key_hash, sponsor, live_frame
):
    tournament = round_one.tournament
    seen = partial(open_round_seen, tournament, model, submit_key_hash)
    # Round 2's slot is a day after round 1's; round 1 is left open (round_close not run).
    second_opens_at = round_one.opens_at + tournament.round_interval
    second = round_schedule_next(tournament=tournament, now=second_opens_at)
    assert (second.number, second.state, second.opens_at) == (
        2,
        RoundState.SCHEDULED,
        second_opens_at,
    )

    # Scheduled, so not open even at its opens_at: round 1 is still the open round.
    assert seen(second_opens_at) == seen_by_all(1)

    open_with_live_data(second, sponsor, live_frame, now=second_opens_at)

    assert seen(second_opens_at - TICK) == seen_by_all(1)
    assert seen(second_opens_at) == seen_by_all(2)
    assert sorted(r.number for r in tournament.rounds.open_at(second_opens_at)) == [1, 2]
