"""Creating a DEX tournament: its universe, pools, vault and trading rules, all or nothing."""

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from eth_utils import is_address, to_checksum_address

from chain.client import is_dev_chain, use_gateway
from chain.dex.rebalance import RebalanceLimits
from chain.dex.twap import DEFAULT_TWAP_BLOCKS, MAX_TWAP_BLOCKS
from chain.gateway import ChainGateway
from core.errors import ArenaError, InvalidInput
from dex.models import DEFAULT_FEATURE_WINDOWS, DexMarket, DexToken
from dex.services.exchange import dex_for, market_dex, require_chain
from tournaments.models import Tournament, TournamentKind
from tournaments.services.tournaments import tournament_create

log = logging.getLogger("arena.dex")

MIN_TOKENS = 5  # the target ranks tokens into five bins
MAX_TOKENS = 128  # ArenaVault's bound
SYMBOL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,11}")


@dataclass(frozen=True)
class UniverseToken:
    symbol: str
    token: str  # address


@dataclass(frozen=True)
class TradingRules:
    capital: int  # quote base units
    tilt: float = 0.5
    era_seconds: int = 60
    history_eras: int = 120
    feature_windows: tuple[int, ...] = tuple(DEFAULT_FEATURE_WINDOWS)
    slippage_bps: int = 50
    retry_widening_bps: int = 50
    max_attempts: int = 3
    # Blocks of the time-weighted average that prices marks, targets, P&L and trade limits.
    twap_blocks: int = DEFAULT_TWAP_BLOCKS


def horizon(tournament: Tournament) -> timedelta:
    """From a round's close (when the vault trades) to its last score day (when it resolves)."""
    return tournament.resolution_lag + (tournament.score_days - 1) * tournament.score_day_interval


def horizon_eras(market: DexMarket) -> int:
    """The round's horizon in eras (the training target's horizon), at least one."""
    return max(1, round(horizon(market.tournament).total_seconds() / market.era_seconds))


def _check_universe(quote: str, tokens: Sequence[UniverseToken]) -> list[str]:
    problems = []
    if not MIN_TOKENS <= len(tokens) <= MAX_TOKENS:
        problems.append(f"a universe has {MIN_TOKENS} to {MAX_TOKENS} tokens; got {len(tokens)}")
    if not is_address(quote):
        problems.append(f"quote_token {quote!r} is not an address")
    symbols, addresses = set(), set()
    for i, item in enumerate(tokens):
        if not SYMBOL.fullmatch(item.symbol or ""):
            problems.append(f"tokens[{i}]: symbol {item.symbol!r} must be 1-12 letters, digits, _ or -")
        elif item.symbol.upper() in symbols:
            problems.append(f"tokens[{i}]: symbol {item.symbol} appears twice")
        symbols.add((item.symbol or "").upper())
        if not is_address(item.token):
            problems.append(f"tokens[{i}] ({item.symbol}): {item.token!r} is not an address")
            continue
        address = item.token.lower()
        if address in addresses:
            problems.append(f"tokens[{i}] ({item.symbol}): token {item.token} appears twice")
        if is_address(quote) and address == quote.lower():
            problems.append(f"tokens[{i}] ({item.symbol}): the quote token cannot be traded against itself")
        addresses.add(address)
    return problems


MAX_HISTORY_ERAS = 10_000


def _check_rules(rules: TradingRules, tournament: Tournament) -> list[str]:
    problems = []
    if rules.capital <= 0:
        problems.append("capital must be positive")
    if not 0.0 <= rules.tilt <= 1.0:
        problems.append("tilt must be between 0 and 1 (weights stay within (1 ± tilt)/K)")
    if rules.era_seconds < 1:
        problems.append("era_seconds must be at least 1")
    if not rules.feature_windows or any(int(w) < 1 for w in rules.feature_windows):
        problems.append("feature_windows must be one or more positive numbers of eras")
    elif rules.history_eras < max(rules.feature_windows) + 2:
        problems.append("history_eras must exceed the longest feature window by at least 2")
    if rules.history_eras > MAX_HISTORY_ERAS:
        # Every round builds the training frame over history_eras × tokens rows in the
        # scheduler's process: the bound keeps that small.
        problems.append(f"history_eras must be at most {MAX_HISTORY_ERAS:,}")
    if not 1 <= rules.twap_blocks <= MAX_TWAP_BLOCKS:
        problems.append(
            f"twap_blocks must be between 1 and {MAX_TWAP_BLOCKS} (prices are averaged over that "
            "many blocks so that no single block can move a target, a mark or a trade's limit)"
        )
    try:  # the keeper's own checks of its limits
        RebalanceLimits(
            slippage_bps=rules.slippage_bps,
            retry_widening_bps=rules.retry_widening_bps,
            max_attempts=rules.max_attempts,
        )
    except ValueError as exc:
        problems.append(str(exc))
    # One vault trades one round at a time: a round must resolve before the next one closes
    # and rebalances, or two rounds would claim the same P&L.
    if horizon(tournament) > tournament.round_interval:
        problems.append(
            "resolution_lag + (score_days − 1)·score_day_interval must not exceed round_interval "
            "(the vault trades one round at a time)"
        )
    if horizon(tournament).total_seconds() < rules.era_seconds:
        problems.append("the round's horizon (close to last score day) must be at least one era")
    return problems


def _exchange_allowed(gateway: ChainGateway, *, factory: str, router: str) -> None:
    """Off dev chains the vault may trade only through an exchange the operator lists
    (ARENA_DEX_EXCHANGES, "factory:router" pairs): a sponsor's own router could take the
    vault's capital at any price its code likes."""
    if is_dev_chain(gateway):
        return  # the demo and tests deploy their own exchange each time
    wanted = f"{factory}:{router}".lower()
    if wanted not in {pair.lower() for pair in settings.ARENA_DEX_EXCHANGES}:
        raise InvalidInput(
            f"factory {factory} with router {router} is not an exchange this platform trades on "
            "(the operator lists them in ARENA_DEX_EXCHANGES)",
            code="exchange_not_allowed",
        )


def _quote_reserve(dex, pair: str, quote: str) -> int:
    """The pool's quote reserve as it prices trades (getReserves), not its token balance: a
    transfer to the pair without a sync raises the balance and can be skimmed right back."""
    quote_reserve, _ = dex.reader.reserves(pair).oriented(dex.reader.pair(pair), quote)
    return quote_reserve


def _find_pools(
    gateway: ChainGateway,
    *,
    factory: str,
    router: str,
    quote: str,
    tokens: Sequence[UniverseToken],
    capital: int,
) -> list[str]:
    _exchange_allowed(gateway, factory=factory, router=router)
    dex = dex_for(gateway)
    try:
        dex.attach_exchange(factory=factory, router=router)
    except Exception as exc:  # noqa: BLE001 - any failure here means the addresses are wrong
        raise InvalidInput(f"factory/router: {exc}") from exc
    pairs, missing, shallow = [], [], []
    # A pool much smaller than the vault moves far under its trades, and a thin pool is
    # cheap to push around a round's marks: each must hold this many times the capital.
    least = settings.ARENA_DEX_MIN_POOL_MULTIPLE * capital
    for item in tokens:
        pair = dex.pair_for(item.token, quote)
        if pair is None:
            missing.append(item.symbol)
        elif _quote_reserve(dex, pair, quote) < least:
            shallow.append(item.symbol)
        pairs.append(pair)
    if missing:
        raise InvalidInput(
            f"no pool against the quote token for: {', '.join(missing)}",
            details={"tokens_without_pool": missing},
        )
    if shallow:
        raise InvalidInput(
            f"pools too small for a vault of {capital} quote units (each needs at least "
            f"{settings.ARENA_DEX_MIN_POOL_MULTIPLE}× that in quote tokens): {', '.join(shallow)}",
            code="pool_too_small",
            details={"tokens_with_small_pools": shallow},
        )
    return pairs


def dex_tournament_create(
    *,
    sponsor: User,
    name: str,
    quote_token: str,
    quote_symbol: str,
    factory: str,
    router: str,
    tokens: Sequence[UniverseToken],
    rules: TradingRules,
    now: datetime,
    slug: str = "",
    description: str = "",
    keeper: str | None = None,
    history_from_block: int | None = None,
    **tournament_fields,
) -> Tournament:
    """A DEX tournament: checks the universe (every token needs a pool against the quote
    token on `factory`), deploys the tournament's vault and records it all. On a dev chain the capital is minted and deposited into the vault; on a
    real chain the sponsor deposits it (anyone may call the vault's `deposit`). The
    scheduler schedules round 1 and builds its data from the pools when it is due."""
    try:  # the schedule as it will be saved (tournament_create checks the rest of it)
        schedule = Tournament(kind=TournamentKind.DEX, **tournament_fields)
    except TypeError as exc:
        raise InvalidInput(f"unknown tournament field: {exc}") from None
    problems = _check_universe(quote_token, tokens) + _check_rules(rules, schedule)
    if keeper is not None and not is_address(keeper):
        problems.append(f"keeper {keeper!r} is not an address")
    if problems:
        raise InvalidInput("; ".join(problems), details={"problems": problems})
    require_chain()
    quote = to_checksum_address(quote_token)
    # Lock order: the chain gateway, then the database (see tournaments/services/lifecycle).
    with use_gateway() as gateway:
        pairs = _find_pools(
            gateway, factory=factory, router=router, quote=quote, tokens=tokens, capital=rules.capital
        )
        with transaction.atomic():
            tournament = tournament_create(
                sponsor=sponsor,
                name=name,
                slug=slug,
                description=description,
                first_round_at=now,
                kind=TournamentKind.DEX,
                **tournament_fields,
            )
            market = DexMarket(
                tournament=tournament,
                quote_token=quote,
                quote_symbol=quote_symbol[:12],
                factory=to_checksum_address(factory),
                router=to_checksum_address(router),
                keeper=to_checksum_address(keeper or gateway.operator),
                capital=rules.capital,
                tilt=rules.tilt,
                era_seconds=rules.era_seconds,
                history_eras=rules.history_eras,
                feature_windows=sorted({int(w) for w in rules.feature_windows}),
                slippage_bps=rules.slippage_bps,
                retry_widening_bps=rules.retry_widening_bps,
                max_attempts=rules.max_attempts,
                twap_blocks=rules.twap_blocks,
            )
            dex = market_dex(market, gateway)
            # Inside the transaction: if the vault cannot be deployed nothing is recorded; if
            # the commit fails after it, the unused vault is harmless (the owner may withdraw).
            market.vault = dex.deploy_vault(
                quote=quote, keeper=market.keeper, tournament_id=tournament.pk,
                tokens=[t.token for t in tokens],
            )
            market.vault_block = gateway.block_number()
            market.history_from_block = (
                market.vault_block if history_from_block is None else history_from_block
            )
            market.save()
            DexToken.objects.bulk_create(
                [
                    DexToken(market=market, position=i, symbol=item.symbol,
                             token=to_checksum_address(item.token), pair=pair)
                    for i, (item, pair) in enumerate(zip(tokens, pairs, strict=True))
                ]
            )
            if is_dev_chain(gateway):
                transaction.on_commit(lambda: _fund_vault_on_dev_chain(market.pk))
    return tournament


def _fund_vault_on_dev_chain(market_id: int) -> None:
    try:
        dex_vault_fund_dev(market=DexMarket.objects.get(pk=market_id))
    except ArenaError as exc:
        log.warning("vault of market %s not funded: %s", market_id, exc.message)
    except Exception:  # noqa: BLE001 - the tournament is committed; funding can be redone
        log.exception("vault of market %s not funded", market_id)


def dex_vault_fund_dev(*, market: DexMarket) -> bool:
    """Dev chains: mint the capital and deposit it, unless the vault already holds quote
    (so a retry never deposits twice). Returns True if it deposited."""
    with use_gateway() as gateway:
        if not is_dev_chain(gateway):
            raise InvalidInput("only a dev chain mints test capital; deposit from your wallet")
        dex = market_dex(market, gateway)
        if dex.balance_of(market.quote_token, market.vault) > 0:
            return False
        dex.mint(token=market.quote_token, to=gateway.operator, amount=market.capital)
        dex.vault_deposit(vault=market.vault, amount=market.capital)
    return True
