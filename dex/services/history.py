"""Data for DEX rounds, computed by the platform from pool history.

Eras are a grid of `era_seconds` of chain time ending at the chain's latest (confirmed)
block. Each token's pool history — its Sync/Swap events, read through chain/dex/reader.py
from any Uniswap-V2-compatible pool — is copied into PoolObservation incrementally (each
block range once), resampled onto the grid and turned into features (scoring/dex_features.py): returns,
volatility, volume, turnover, liquidity and distance from moving averages over the market's
windows, each ranked across tokens into five bins per era. The training target is the
forward return over the round's horizon, binned the same way.

A feature without enough history yet (the first eras of a window) is 0.5, the middle bin.
Token decimals do not matter: every feature is ranked across tokens per era, and a constant
scale on a token's price or volume changes no rank.
"""

from datetime import datetime

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import transaction

from chain.client import is_dev_chain, use_gateway
from core.errors import Conflict
from dex.models import DexMarket, PoolObservation
from dex.services.exchange import market_dex
from dex.services.markets import horizon_eras
from scoring.dex_features import features_frame, resample_pool
from tournaments.models import DatasetKind, DatasetVersion, Round
from tournaments.services.datasets import dataset_upload
from tournaments.tables import to_parquet_bytes

MISSING_FEATURE = 0.5


def era_grid(end: int, eras: int, era_seconds: int) -> np.ndarray:
    """`eras` era ends (unix seconds), the last one at `end`."""
    return end - era_seconds * np.arange(eras - 1, -1, -1, dtype=np.int64)


def dex_history_sync(*, market: DexMarket, dex, head: int, max_blocks: int | None = None) -> int:
    """Copy the pools' Sync/Swap history from the last block read up to `head` (at most
    `max_blocks` blocks of it) into PoolObservation; returns the rows added. The cursor moves
    in the same transaction as the rows, so a block range is never copied twice or skipped."""
    start = (market.history_from_block - 1 if market.history_synced_to is None else market.history_synced_to) + 1
    if max_blocks is not None:
        head = min(head, start + max_blocks - 1)
    if head < start:
        return 0
    rows = []
    for token in market.tokens.all():
        obs = dex.reader.pool_observations(token.pair, token.token, start, head)
        rows += [
            PoolObservation(token=token, block=b, timestamp=t, reserve_base=rb, reserve_quote=rq, volume_quote=v)
            for b, t, rb, rq, v in zip(
                obs.block, obs.timestamp, obs.reserve_base, obs.reserve_quote, obs.volume_quote, strict=True
            )
        ]
    with transaction.atomic():
        locked = DexMarket.objects.select_for_update().get(pk=market.pk)
        if locked.history_synced_to != market.history_synced_to:
            return 0  # another process copied this range meanwhile
        PoolObservation.objects.bulk_create(rows, batch_size=1000)
        locked.history_synced_to = head
        locked.save(update_fields=["history_synced_to"])
    market.history_synced_to = head
    return len(rows)


def market_panels(market: DexMarket, era_ends: np.ndarray) -> dict[str, np.ndarray]:
    """{price, volume, liquidity}: (E eras, K tokens) panels from the copied pool history."""
    columns = []
    for token in market.tokens.all():
        obs = list(
            token.observations.filter(timestamp__lte=int(era_ends[-1]))
            .order_by("block", "id")
            .values_list("timestamp", "reserve_base", "reserve_quote", "volume_quote")
        )
        timestamps, base, quote, volume = (list(c) for c in zip(*obs, strict=True)) if obs else ([], [], [], [])
        columns.append(resample_pool(timestamps, base, quote, volume, era_ends))
    return {name: np.column_stack([c[name] for c in columns]) for name in ("price", "volume", "liquidity")}


def _frame(market: DexMarket, panels: dict, era_ends: np.ndarray, *, target: bool) -> pd.DataFrame:
    symbols = list(market.tokens.values_list("symbol", flat=True))
    frame = features_frame(
        panels["price"],
        panels["volume"],
        panels["liquidity"],
        tokens=symbols,
        eras=era_ends.tolist(),
        windows=market.windows,
        horizon=horizon_eras(market) if target else None,
    ).reset_index()
    features = [c for c in frame.columns if c not in ("era", "token", "target")]
    frame[features] = frame[features].fillna(MISSING_FEATURE)
    frame = frame.rename(columns={"token": "id", **{c: f"feature_{c}" for c in features}})
    return frame


def live_frame(market: DexMarket, *, chain_now: int) -> pd.DataFrame:
    """One row per token: the features of the era ending at `chain_now` (id = symbol)."""
    eras = max(market.windows) + 1
    ends = era_grid(chain_now, eras, market.era_seconds)
    frame = _frame(market, market_panels(market, ends), ends, target=False)
    live = frame[frame["era"] == ends[-1]].copy()
    # Row ids must be unique across eras of one file; a live file has one era.
    return live[["id", "era"] + [c for c in live.columns if c.startswith("feature_")]]


def training_frame(market: DexMarket, *, chain_now: int) -> pd.DataFrame:
    """Features and binned forward-return target of every past era whose horizon is over.
    Ids are `<era>:<symbol>` (unique across the file)."""
    ends = era_grid(chain_now, market.history_eras, market.era_seconds)
    frame = _frame(market, market_panels(market, ends), ends, target=True)
    frame = frame[frame["target"].notna()].copy()
    frame["id"] = frame["era"].astype(str) + ":" + frame["id"]
    return frame


def _confirmed_head(gateway) -> int:
    return gateway.block_number() - (0 if is_dev_chain(gateway) else settings.CHAIN_CONFIRMATIONS)


def dex_history_catch_up(*, market: DexMarket) -> int:
    """One bounded slice of history sync (ARENA_DEX_SYNC_BLOCKS blocks): each tick reads a
    slice, so a long history is read over several ticks and no tick waits for all of it."""
    with use_gateway() as gateway:
        return dex_history_sync(
            market=market, dex=market_dex(market, gateway), head=_confirmed_head(gateway),
            max_blocks=settings.ARENA_DEX_SYNC_BLOCKS,
        )


def dex_round_data(*, round: Round, now: datetime) -> DatasetVersion:
    """Build and register the round's live data (and refresh the training data) from the
    pools, as the tournament's sponsor. Call when the round is due to open; while the
    history is still being read (a slice per tick) it raises `history_syncing` and the
    round waits, to open later with its whole window."""
    market = round.tournament.dex
    with use_gateway() as gateway:
        head = _confirmed_head(gateway)
        dex_history_sync(
            market=market, dex=market_dex(market, gateway), head=head, max_blocks=settings.ARENA_DEX_SYNC_BLOCKS
        )
        if market.history_synced_to is None or market.history_synced_to < head:
            behind = head - (market.history_synced_to or market.history_from_block)
            raise Conflict(
                f"the pools' history is still being read: {behind} blocks to go", code="history_syncing"
            )
        chain_now = gateway.block_timestamp(head)
    live = live_frame(market, chain_now=chain_now)
    training = training_frame(market, chain_now=chain_now)
    sponsor = round.tournament.sponsor
    if len(training) and training["target"].nunique() > 1:
        dataset_upload(
            tournament=round.tournament,
            by=sponsor,
            kind=DatasetKind.TRAINING,
            data=to_parquet_bytes(training),
            filename=f"training_round_{round.number}.parquet",
            market=True,
        )
    return dataset_upload(
        tournament=round.tournament,
        by=sponsor,
        kind=DatasetKind.LIVE,
        round=round,
        data=to_parquet_bytes(live),
        filename=f"live_round_{round.number}.parquet",
        market=True,
    )
