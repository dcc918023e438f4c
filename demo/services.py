"""The demo: a sponsor, a tournament on generated data, and ~20 simulated modelers.

`demo_create` sets it all up through the same services real users go through;
`demo_step` plays the sponsor (live data, daily targets) and the modelers (submissions)
whenever the scheduler's clock says they are due.
"""

import io
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from arena_client.sealing import seal, submission_info
from django.contrib.auth.models import User
from django.db import transaction

from core.errors import ArenaError
from core.money import tokens_to_wei
from demo.datagen import LIVE_ERA_OFFSET, TRAINING_ERAS, VALIDATION_ERAS, World
from demo.modelers import DemoModeler, build_modelers
from demo.models import DemoTournament
from tournaments.models import DatasetKind, ModelSlot, Round, RoundState, RoundTarget, Tournament
from tournaments.round_keys import round_public_key
from tournaments.services.datasets import dataset_upload, round_target_upload
from tournaments.services.model_slots import model_create, stake_deposit
from tournaments.services.submissions import submission_upload
from tournaments.services.tournaments import tournament_create
from tournaments.tables import to_parquet_bytes

log = logging.getLogger("arena.demo")

DEMO_POOL_TOKENS = 100_000


@dataclass(frozen=True)
class DemoSchedule:
    round_interval: timedelta = timedelta(minutes=2)
    submission_window: timedelta = timedelta(seconds=60)
    resolution_lag: timedelta = timedelta(seconds=10)
    score_days: int = 4
    score_day_interval: timedelta = timedelta(seconds=15)
    # The guardian's veto window on each settlement (on-chain; seconds of block time).
    challenge_window: timedelta = timedelta(seconds=10)


def demo_user(username: str) -> User:
    user, created = User.objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()  # simulated people never log in
        user.save()
    return user


@lru_cache(maxsize=4)
def _modelers(seed: int, n_features: int, rows_per_era: int) -> tuple[DemoModeler, ...]:
    world = World(seed=seed, n_features=n_features, rows_per_era=rows_per_era)
    train = world.frame(TRAINING_ERAS)
    return tuple(build_modelers(train, world.feature_names(), seed))


def _world(demo: DemoTournament) -> World:
    return World(seed=demo.seed, n_features=demo.n_features, rows_per_era=demo.rows_per_era)


def demo_create(
    *,
    now: datetime,
    slug: str = "classic",
    seed: int = 7,
    schedule: DemoSchedule = DemoSchedule(),
    rows_per_era: int = 400,
) -> Tournament:
    world = World(seed=seed, rows_per_era=rows_per_era)
    sponsor = demo_user("demo-sponsor")
    with transaction.atomic():
        tournament = tournament_create(
            sponsor=sponsor,
            name="Arena Classic" if slug == "classic" else f"Arena Classic ({slug})",
            slug=slug,
            description=(
                "The demo tournament: predict the five-bin target of each row from its "
                f"{world.n_features} features. Generated data with a planted, learnable signal."
            ),
            first_round_at=now,
            round_interval=schedule.round_interval,
            submission_window=schedule.submission_window,
            resolution_lag=schedule.resolution_lag,
            score_days=schedule.score_days,
            score_day_interval=schedule.score_day_interval,
            payout_threshold=tokens_to_wei(2500),
            reward_pool=tokens_to_wei(DEMO_POOL_TOKENS),  # funded on-chain when there is a chain
            challenge_window=schedule.challenge_window,
        )
        DemoTournament.objects.create(
            tournament=tournament, seed=seed, n_features=world.n_features, rows_per_era=rows_per_era
        )
        for kind, eras in ((DatasetKind.TRAINING, TRAINING_ERAS), (DatasetKind.VALIDATION, VALIDATION_ERAS)):
            dataset_upload(
                tournament=tournament,
                by=sponsor,
                kind=kind,
                data=to_parquet_bytes(world.frame(eras)),
                filename=f"{kind}.parquet",
            )
        models = []
        for modeler in _modelers(seed, world.n_features, rows_per_era):
            owner = demo_user(modeler.username)
            models.append((model_create(owner=owner, tournament=tournament, name=modeler.model_name), modeler))
    # Stakes are token transfers: with a chain they are real transactions by each simulated
    # person's own (custodial, dev-chain) wallet, mirrored by the indexer.
    for model, modeler in models:
        stake_deposit(model=model, by=model.owner, amount=tokens_to_wei(modeler.stake_tokens))
    tournament.refresh_from_db()
    return tournament


def _csv(frame) -> bytes:
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    return buf.getvalue().encode()


def _play_round(demo: DemoTournament, round: Round, now: datetime) -> list[str]:
    tournament = demo.tournament
    world = _world(demo)
    era = LIVE_ERA_OFFSET + round.number
    done = []
    if round.state == RoundState.SCHEDULED and not hasattr(round, "live_dataset"):
        live = world.era_frame(era, with_target=False)
        dataset_upload(
            tournament=tournament,
            by=tournament.sponsor,
            kind=DatasetKind.LIVE,
            round=round,
            data=to_parquet_bytes(live),
            filename=f"live_round_{round.number}.parquet",
        )
        done.append(f"live data for round {round.number}")
    elif round.state == RoundState.OPEN and now < round.closes_at:
        features = world.era_features(era)
        ids = world.era_frame(era, with_target=False)["id"]
        submitted = set(round.submissions.values_list("model__name", flat=True))
        slots = {m.name: m for m in ModelSlot.objects.filter(tournament=tournament).select_related("owner")}
        public_key = round_public_key(round=round)
        sent = 0
        for modeler in _modelers(demo.seed, demo.n_features, demo.rows_per_era):
            slot = slots.get(modeler.model_name)
            if slot is None or slot.name in submitted:
                continue
            predictions = modeler.predict(features, round.number)
            frame = ids.to_frame().assign(prediction=predictions)
            # Sealed to the round's public key, as every modeler's client does.
            info = submission_info(tournament.slug, round.number, slot.id)
            envelope = seal(_csv(frame), public_key, info)
            submission_upload(model=slot, by=slot.owner, data=envelope, filename="predictions.csv.sealed", now=now)
            sent += 1
        if sent:
            done.append(f"{sent} submissions for round {round.number}")
    elif round.state in (RoundState.CLOSED, RoundState.SCORING):
        have = set(RoundTarget.objects.filter(round=round).values_list("day", flat=True))
        for day in range(1, round.total_score_days + 1):
            if day in have or now < round.score_day_at(day):
                continue
            ids = world.era_frame(era, with_target=False)["id"]
            target = world.era_target(era, day=day, days=round.total_score_days)
            round_target_upload(
                round=round,
                by=tournament.sponsor,
                day=day,
                data=_csv(ids.to_frame().assign(target=target)),
                filename=f"target_round_{round.number}_day_{day}.csv",
            )
            done.append(f"target day {day} for round {round.number}")
    return done


def demo_step(*, now: datetime, tournaments: list[Tournament] | None = None) -> list[str]:
    """Play the simulated sponsor and modelers for everything due at `now`."""
    done: list[str] = []
    demos = DemoTournament.objects.select_related("tournament", "tournament__sponsor")
    if tournaments is not None:
        demos = demos.filter(tournament__in=tournaments)
    for demo in demos:
        for round in demo.tournament.rounds.exclude(state=RoundState.SETTLED).order_by("number"):
            try:
                done += _play_round(demo, round, now)
            except ArenaError as exc:
                log.warning("demo %s round %s: %s", demo.tournament.slug, round.number, exc.message)
    return done
