"""The demo DEX tournament: a market of generated (or CSV) prices on the dev chain, a vault
that trades each round's meta-model, and eight simulated modelers.

`demo_dex_create` stands up the market (quote token, tokens, pools seeded at the path's
first prices), walks the replay through a warm-up so the pools have history, and creates the
tournament through dex_tournament_create like a sponsor would. `demo_dex_step` moves the
market along its path as the clock says (arbitrage to each reference price plus noise
traders, market/replay.py) and plays the modelers: read the round's live features, predict,
seal, upload. Targets, trading and P&L are the platform's own (dex/).
"""

import io
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from arena_client.sealing import seal, submission_info
from django.db import transaction

from chain.client import is_dev_chain, use_gateway
from chain.services import dev_account_create
from core.errors import ArenaError, Conflict
from core.money import tokens_to_wei
from demo.dex_modelers import dex_modelers
from demo.models import DemoDexMarket
from demo.services import DemoSchedule, demo_user
from dex.services.exchange import dex_for, market_dex
from dex.services.markets import TradingRules, UniverseToken, dex_tournament_create
from market.price_paths import PricePath, factor_model_path, load_price_csv
from market.replay import MarketReplay
from market.universe import Market, Universe, build_universe
from tournaments.models import ModelSlot, Round, RoundState, Tournament
from tournaments.round_keys import round_public_key
from tournaments.selectors import dataset_frame
from tournaments.services.model_slots import model_create, stake_deposit
from tournaments.services.submissions import submission_upload

log = logging.getLogger("arena.demo")

E18 = 10**18
POOL_DEPTH = 1_000_000 * E18  # quote tokens in each pool
CAPITAL = 10_000 * E18  # the vault's trading capital: 1% of a pool, so costs stay near the fee
# The keeper's limits are set against each pool's 20-block average price, and the replay moves
# prices by ≈ 2% an era while 20 blocks span about one and a half eras: a band of 200 bps,
# widened by 100 per retry (at most 400), lets the genuine moves trade.
SLIPPAGE_BPS, RETRY_WIDENING_BPS = 200, 100
MAX_STEPS_PER_TICK = 200  # a clock that jumped far catches up over several ticks


@dataclass(frozen=True)
class DexDemoSchedule(DemoSchedule):
    # A round must resolve before the next one closes (one vault, one round at a time):
    # resolution_lag + (score_days − 1)·score_day_interval ≤ round_interval.
    round_interval: timedelta = timedelta(seconds=90)
    submission_window: timedelta = timedelta(seconds=30)
    resolution_lag: timedelta = timedelta(seconds=15)
    era_seconds: int = 15  # one step of the price path


@lru_cache(maxsize=4)
def _generated_path(seed: int, tokens: int, steps: int, era_seconds: int) -> PricePath:
    symbols = [f"T{i:02d}" for i in range(tokens)]
    return factor_model_path(symbols, steps, seed=seed, step_seconds=era_seconds)


@lru_cache(maxsize=4)
def _csv_path(path: str) -> PricePath:
    return load_price_csv(path)


def _path(demo: DemoDexMarket) -> PricePath:
    if demo.price_csv:
        return _csv_path(demo.price_csv)
    market = demo.tournament.dex
    return _generated_path(demo.seed, market.tokens.count(), demo.path_steps, market.era_seconds)


def _universe(demo: DemoDexMarket, dex) -> Universe:
    market = demo.tournament.dex
    return Universe(
        exchange=dex.exchange,
        quote=market.quote_token,
        markets=tuple(Market(t.symbol, t.token, t.pair) for t in market.tokens.all()),
    )


def _step_replay(
    dex, universe: Universe, path: PricePath, *, seed: int, step: int, arbitrageur: str, noise: list[str]
) -> MarketReplay:
    # A fresh generator per step (seeded by the demo's seed and the step) keeps the replay
    # deterministic across restarts of the process.
    return MarketReplay(
        dex, universe, path, seed=seed * 1_000_003 + step, arbitrageur=arbitrageur, noise_traders=noise
    )


def demo_dex_create(
    *,
    now: datetime,
    sponsor,
    slug: str = "dex",
    seed: int = 11,
    schedule: DexDemoSchedule = DexDemoSchedule(),
    tokens: int = 6,
    warmup_steps: int = 6,
    path_steps: int = 20_000,
    price_csv: Path | None = None,
) -> Tournament:
    """Market, vault, tournament and modelers (dev chains only)."""
    with use_gateway() as gateway:
        if not is_dev_chain(gateway):
            raise Conflict("the demo market mints tokens: it needs a dev chain", code="not_dev_chain")
        if price_csv is not None:
            path = _csv_path(str(price_csv))
            path_steps = path.steps
            warmup_steps = min(warmup_steps, path.steps - 1)
        else:
            path = _generated_path(seed, tokens, path_steps, schedule.era_seconds)
        dex = dex_for(gateway)
        universe = build_universe(
            dex, symbols=list(path.tokens), start_prices=path.prices[0].tolist(), depth_quote=POOL_DEPTH
        )
        # Simulated traders: custodial dev accounts, so the replay signs after a restart too.
        arbitrageur, *noise = [dev_account_create(gateway) for _ in range(3)]
        replay = _step_replay(dex, universe, path, seed=seed, step=0, arbitrageur=arbitrageur, noise=noise)
        replay.fund_traders(quote_amount=POOL_DEPTH * 100, token_amount=10**15 * E18)
        for step in range(1, warmup_steps + 1):  # history for the first rounds' features
            gateway.advance_time(schedule.era_seconds)
            _step_replay(dex, universe, path, seed=seed, step=step, arbitrageur=arbitrageur, noise=noise).step(step)
        chain_now = gateway.block_timestamp()
    description = (
        f"The demo DEX tournament: rank {len(path.tokens)} tokens by their return over the next "
        f"{int((schedule.resolution_lag + (schedule.score_days - 1) * schedule.score_day_interval).total_seconds())} s. "
        "The meta-model trades a vault of 10,000 AUSD through the pools; each model earns or "
        "burns by its P&L contribution."
    )
    if price_csv is not None:
        description += f" Prices replay {Path(price_csv).name}."
    with transaction.atomic():
        tournament = dex_tournament_create(
            sponsor=sponsor,
            name="Arena DEX" if slug == "dex" else f"Arena DEX ({slug})",
            slug=slug,
            description=description,
            quote_token=universe.quote,
            quote_symbol="AUSD",
            factory=universe.exchange.factory,
            router=universe.exchange.router,
            tokens=[UniverseToken(m.symbol, m.token) for m in universe.markets],
            rules=TradingRules(capital=CAPITAL, tilt=0.5, era_seconds=schedule.era_seconds, history_eras=80,
                               feature_windows=(1, 5, 20), slippage_bps=SLIPPAGE_BPS,
                               retry_widening_bps=RETRY_WIDENING_BPS),
            now=now,
            history_from_block=0,
            round_interval=schedule.round_interval,
            submission_window=schedule.submission_window,
            resolution_lag=schedule.resolution_lag,
            score_days=schedule.score_days,
            score_day_interval=schedule.score_day_interval,
            challenge_window=schedule.challenge_window,
            payout_threshold=tokens_to_wei(2000),
            pnl_multiplier=1.0,
            reward_pool=tokens_to_wei(50_000),
        )
        DemoDexMarket.objects.create(
            tournament=tournament,
            seed=seed,
            started_at=now,
            chain_started_at=chain_now,
            warmup_steps=warmup_steps,
            steps_done=warmup_steps,
            path_steps=path_steps,
            price_csv=str(price_csv or ""),
            arbitrageur=arbitrageur,
            noise_traders=noise,
        )
        models = [
            (model_create(owner=demo_user(m.username), tournament=tournament, name=m.model_name), m)
            for m in dex_modelers(seed)
        ]
    for model, modeler in models:
        stake_deposit(model=model, by=model.owner, amount=tokens_to_wei(modeler.stake_tokens))
    tournament.refresh_from_db()
    return tournament


def _move_market(demo: DemoDexMarket, now: datetime, deadline: float | None = None) -> int:
    """Replay the path up to the step due at `now` (no step started after `deadline`, a
    time.monotonic() value); returns the steps taken."""
    era = demo.tournament.dex.era_seconds
    due = demo.warmup_steps + int((now - demo.started_at).total_seconds() // era)
    last = min(due, demo.steps_done + MAX_STEPS_PER_TICK, demo.path_steps - 1)
    path = _path(demo)
    taken = 0
    for step in range(demo.steps_done + 1, last + 1):
        if deadline is not None and time.monotonic() >= deadline:
            break
        # The chain is taken step by step, so other tournaments' chain work interleaves.
        with use_gateway() as gateway:
            dex = market_dex(demo.tournament.dex, gateway)
            # Eras are chain time: keep the chain's clock at or past the step's moment.
            behind = demo.chain_started_at + (step - demo.warmup_steps) * era - gateway.block_timestamp()
            if behind > 0:
                gateway.advance_time(behind)
            _step_replay(
                dex, _universe(demo, dex), path, seed=demo.seed, step=step, arbitrageur=demo.arbitrageur,
                noise=demo.noise_traders,
            ).step(step)
        DemoDexMarket.objects.filter(pk=demo.pk).update(steps_done=step)
        demo.steps_done = step
        taken += 1
    return taken


def _csv_bytes(frame) -> bytes:
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    return buf.getvalue().encode()


def _submit(demo: DemoDexMarket, round: Round, now: datetime) -> int:
    live = dataset_frame(round.live_dataset)
    submitted = set(round.submissions.values_list("model__name", flat=True))
    slots = {m.name: m for m in ModelSlot.objects.filter(tournament=demo.tournament).select_related("owner")}
    public_key = round_public_key(round=round)
    sent = 0
    for modeler in dex_modelers(demo.seed):
        slot = slots.get(modeler.model_name)
        if slot is None or slot.name in submitted:
            continue
        frame = live[["id"]].assign(prediction=modeler.predict(live, round.number))
        info = submission_info(demo.tournament.slug, round.number, slot.id)
        envelope = seal(_csv_bytes(frame), public_key, info)
        submission_upload(model=slot, by=slot.owner, data=envelope, filename="predictions.csv.sealed", now=now)
        sent += 1
    return sent


def demo_dex_step(
    *, now: datetime, tournaments: list[Tournament] | None = None, deadline: float | None = None
) -> list[str]:
    """Move each demo market to `now` (within `deadline`) and let its modelers submit to
    open rounds."""
    done: list[str] = []
    demos = DemoDexMarket.objects.select_related("tournament__dex")
    if tournaments is not None:
        demos = demos.filter(tournament__in=tournaments)
    for demo in demos:
        try:
            if steps := _move_market(demo, now, deadline):
                log.debug("%s: market moved %d step(s)", demo.tournament.slug, steps)
            for round in demo.tournament.rounds.filter(state=RoundState.OPEN, closes_at__gt=now):
                if sent := _submit(demo, round, now):
                    done.append(f"{sent} submissions for {demo.tournament.slug} round {round.number}")
        except ArenaError as exc:
            log.warning("demo market %s: %s", demo.tournament.slug, exc.message)
    return done
