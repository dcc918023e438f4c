"""Every class of hostile predictions file, sealed correctly and counted at close, in one
round driven by the scheduler: the round resolves and settles, each hostile file is `invalid`
with its reason, and the honest models are scored and paid.

Runs on SQLite in the default pass and on PostgreSQL in `./dev test`'s second pass.
"""

import resource
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from core.errors import InvalidInput
from core.money import tokens_to_wei
from tests.builders import seal_for
from tests.hostile import BOMB_ID_BYTES, HOSTILE_FILES, compression_bomb
from tournaments.models import Payout, RoundState, Score, Submission, SubmissionState
from tournaments.services.datasets import dataset_upload, round_target_upload
from tournaments.services.lifecycle import round_schedule_next
from tournaments.services.model_slots import model_create, stake_deposit
from tournaments.services.scheduler import scheduler_tick
from tournaments.services.submissions import submission_upload
from tournaments.services.tournaments import tournament_create

pytestmark = pytest.mark.django_db

ROWS = 50
DECODE_MEMORY = 256 * 1024 * 1024


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


@pytest.fixture
def hostile_round(settings):
    settings.ARENA_DECODE_MEMORY_BYTES = DECODE_MEMORY
    start = timezone.now() - timedelta(hours=3)
    sponsor = User.objects.create_user("sponsor")
    tournament = tournament_create(
        sponsor=sponsor,
        name="Hostile",
        first_round_at=start,
        round_interval=timedelta(days=1),
        submission_window=timedelta(minutes=30),
        resolution_lag=timedelta(minutes=5),
        score_days=2,
        score_day_interval=timedelta(minutes=10),
        payout_threshold=tokens_to_wei(1000),
        reward_pool=tokens_to_wei(100),
    )
    rnd = round_schedule_next(tournament=tournament, now=start)
    ids = [f"id{i:03d}" for i in range(ROWS)]
    rng = np.random.default_rng(3)
    live = pd.DataFrame({"id": ids, "era": "era1", "feature_a": rng.random(ROWS)})
    dataset_upload(
        tournament=tournament,
        by=sponsor,
        kind="live",
        round=rnd,
        data=_csv(live),
        filename="live.csv",
    )
    scheduler_tick(now=start, tournaments=[tournament])  # opens round 1
    rnd.refresh_from_db()
    assert rnd.state == RoundState.OPEN

    def staked(name: str):
        owner = User.objects.create_user(f"{name}-owner")
        slot = model_create(owner=owner, tournament=tournament, name=name)
        return stake_deposit(model=slot, by=owner, amount=tokens_to_wei(10))

    truth = rng.random(ROWS)
    honest = {}
    for name, predictions in (("honest-a", truth), ("honest-b", rng.random(ROWS))):
        honest[name] = staked(name)
        frame = pd.DataFrame({"id": ids, "prediction": np.clip(predictions, 0.01, 0.99)})
        submission_upload(
            model=honest[name],
            by=honest[name].owner,
            data=seal_for(rnd, honest[name], _csv(frame)),
            filename="p.sealed",
            now=start + timedelta(minutes=1),
        )
    hostile = {}
    for number, case in enumerate(HOSTILE_FILES):
        slot = staked(f"hostile-{number}")
        hostile[case.name] = slot
        submission_upload(
            model=slot,
            by=slot.owner,
            data=seal_for(rnd, slot, case.build(ids)),
            filename="p.sealed",
            now=start + timedelta(minutes=2),
        )
    # Sealed for another model's slot: it cannot be opened with this model's info.
    stolen = staked("sealed-for-another")
    envelope = seal_for(
        rnd, honest["honest-a"], _csv(pd.DataFrame({"id": ids, "prediction": truth}))
    )
    submission_upload(
        model=stolen,
        by=stolen.owner,
        data=envelope,
        filename="p.sealed",
        now=start + timedelta(minutes=2),
    )
    return {
        "tournament": tournament,
        "sponsor": sponsor,
        "round": rnd,
        "ids": ids,
        "truth": truth,
        "start": start,
        "honest": honest,
        "hostile": hostile,
        "stolen": stolen,
    }


def test_hostile_files_never_stop_a_round(hostile_round):
    world = hostile_round
    tournament, rnd, start = world["tournament"], world["round"], world["start"]
    memory_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    scheduler_tick(now=start + timedelta(minutes=31), tournaments=[tournament])  # close + open
    rnd.refresh_from_db()
    assert rnd.state == RoundState.CLOSED
    assert not Submission.objects.filter(
        round=rnd, is_counted=True, state=SubmissionState.RECEIVED
    ).exists()

    for day in (1, 2):
        bins = np.floor(pd.Series(world["truth"]).rank(pct=True) * 4.999) / 4
        target = pd.DataFrame({"id": world["ids"], "target": bins})
        round_target_upload(
            round=rnd, by=world["sponsor"], day=day, data=_csv(target), filename="t.csv"
        )
    later = start + timedelta(hours=2)
    report = scheduler_tick(now=later, tournaments=[tournament])
    rnd.refresh_from_db()
    assert rnd.state == RoundState.SETTLED, report.waiting
    assert not any("step failed" in line for line in report.waiting)

    for case in HOSTILE_FILES:
        submission = Submission.objects.get(model=world["hostile"][case.name], round=rnd)
        assert submission.state == SubmissionState.INVALID, case.name
        assert submission.problems[0]["code"] == case.code, (case.name, submission.error)
        assert submission.error, case.name
        assert len(submission.error) < 2_000, case.name  # a 1 MiB id is not echoed back
    stolen = Submission.objects.get(model=world["stolen"], round=rnd)
    assert stolen.problems[0]["code"] == "decryption_failed"
    assert stolen.error.startswith(
        f"cannot be opened with the key of round 1 for model {world['stolen'].id}"
    )

    honest_ids = [m.id for m in world["honest"].values()]
    scored = Score.objects.filter(round=rnd)
    assert set(scored.values_list("model_id", flat=True)) == set(honest_ids)
    assert scored.count() == 4  # two models, two days
    payouts = {p.model_id: p for p in Payout.objects.filter(round=rnd)}
    assert sorted(payouts) == sorted(honest_ids)
    a, b = (payouts[world["honest"][n].id] for n in ("honest-a", "honest-b"))
    assert a.corr > 0.5 and a.amount > 0  # the model that predicts the truth is paid
    assert abs(b.corr) < a.corr

    # The bomb decodes to over 1 GiB; it was decoded in a sandboxed worker, not here.
    bomb_bytes = len(compression_bomb(world["ids"]))
    assert bomb_bytes < 64 * 1024
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - memory_before
    assert grown_kib * 1024 < BOMB_ID_BYTES * 200


def test_a_sealed_empty_file_is_refused_at_upload(hostile_round):
    world = hostile_round
    slot = world["honest"]["honest-a"]
    with pytest.raises(InvalidInput, match="it seals an empty file") as refused:
        submission_upload(
            model=slot,
            by=slot.owner,
            data=seal_for(world["round"], slot, b""),
            filename="e",
            now=world["start"] + timedelta(minutes=3),
        )
    assert refused.value.code == "malformed_envelope"


def test_a_bomb_in_the_reader_is_reported_with_the_memory_limit(hostile_round, settings):
    world = hostile_round
    scheduler_tick(now=world["start"] + timedelta(minutes=31), tournaments=[world["tournament"]])
    bomb = Submission.objects.get(model=world["hostile"]["compression bomb"], round=world["round"])
    assert bomb.state == SubmissionState.INVALID
    assert bomb.problems[0]["code"] == "too_large"
    assert "memory" in bomb.error


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL refuses NUL; SQLite stores it"
)
def test_an_outcome_the_database_refuses_is_stored_as_a_plain_invalid(hostile_round, monkeypatch):
    from tournaments.services import submissions

    world = hostile_round
    # As if the reader's words slipped a NUL past `storable`: PostgreSQL refuses the UPDATE;
    # the file must still end invalid and the round move on.
    monkeypatch.setattr(submissions, "_storable", lambda value: value)
    monkeypatch.setattr(
        submissions, "_judged", lambda *args: submissions._invalid("bad_columns", "a\x00b")
    )
    scheduler_tick(now=world["start"] + timedelta(minutes=31), tournaments=[world["tournament"]])
    world["round"].refresh_from_db()
    assert world["round"].state == RoundState.CLOSED
    counted = Submission.objects.filter(round=world["round"], is_counted=True)
    assert counted.filter(state=SubmissionState.RECEIVED).count() == 0
    refused = counted.exclude(problems__0__code="decryption_failed")
    assert {s.error for s in refused} == {"the file's problems could not be stored"}
