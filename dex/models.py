"""DEX tournaments: the market a tournament trades, each round's trading book, the P&L marks,
the keeper's journal and trading halts.

A DEX tournament is a `tournaments.Tournament` of kind "dex" plus one `DexMarket`: a
universe of tokens, each with a Uniswap-V2-compatible pool against a quote token, and the
tournament's vault (chain/contracts/ArenaVault.vy) holding the trading capital. Rows here
are written only by dex/services; reads go through dex/selectors.py.
"""

from django.conf import settings
from django.db import models

from chain.dex.twap import DEFAULT_TWAP_BLOCKS
from core.money import WeiField
from tournaments.models import Round, Tournament

DEFAULT_FEATURE_WINDOWS = [1, 5, 20]


class DexMarket(models.Model):
    """What a DEX tournament trades and how (fixed when the tournament is created)."""

    tournament = models.OneToOneField(Tournament, on_delete=models.CASCADE, related_name="dex")
    quote_token = models.CharField(max_length=42)
    quote_symbol = models.CharField(max_length=12)
    factory = models.CharField(max_length=42)
    router = models.CharField(max_length=42)
    vault = models.CharField(max_length=42)
    vault_block = models.BigIntegerField()  # the vault's deployment block (ledger starts here)
    keeper = models.CharField(max_length=42)  # the address that signs the vault's trades
    capital = WeiField()  # trading capital the sponsor put in, quote base units
    # w_k = (1 + λ·z_k)/K: how far the portfolio leans away from equal weight (scoring/pnl.py).
    tilt = models.FloatField(default=0.5)
    # Features and training targets live on a grid of eras of this many seconds of chain time.
    era_seconds = models.PositiveIntegerField(default=60)
    history_eras = models.PositiveIntegerField(default=120)  # eras in the training data
    feature_windows = models.JSONField(default=list)  # in eras; empty = the default windows
    # Pool history is read from this block on (the pools' creation, or a recent block on a
    # long-lived public chain).
    history_from_block = models.BigIntegerField(default=0)
    # Pool history is copied into PoolObservation incrementally; this is the last block read.
    history_synced_to = models.BigIntegerField(null=True, blank=True)
    slippage_bps = models.PositiveIntegerField(default=50)
    retry_widening_bps = models.PositiveIntegerField(default=50)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    # Marks, day targets, P&L and the rebalance's plan and slippage limits price each pool at
    # its time-weighted average over this many blocks before the block read (chain/dex/twap.py),
    # never at one block's spot price. Frozen into each round's book at close.
    twap_blocks = models.PositiveSmallIntegerField(default=DEFAULT_TWAP_BLOCKS)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"market of {self.tournament.slug}"

    @property
    def windows(self) -> list[int]:
        return list(self.feature_windows or DEFAULT_FEATURE_WINDOWS)


class DexToken(models.Model):
    """One token of the universe and its pool against the quote token. `symbol` is the id
    modelers see in the data and predict."""

    market = models.ForeignKey(DexMarket, on_delete=models.CASCADE, related_name="tokens")
    position = models.PositiveSmallIntegerField()
    symbol = models.CharField(max_length=12)
    token = models.CharField(max_length=42)
    pair = models.CharField(max_length=42)

    class Meta:
        ordering = ["market", "position"]
        constraints = [
            models.UniqueConstraint(fields=["market", "symbol"], name="dex_token_symbol_unique"),
            models.UniqueConstraint(fields=["market", "position"], name="dex_token_position_unique"),
        ]

    def __str__(self) -> str:
        return self.symbol


class PoolObservation(models.Model):
    """One Sync of a token's pool (reserves after it) and the quote volume of its swap:
    the platform's copy of the pool history the features are computed from."""

    token = models.ForeignKey(DexToken, on_delete=models.CASCADE, related_name="observations")
    block = models.BigIntegerField()
    timestamp = models.BigIntegerField()
    reserve_base = WeiField()
    reserve_quote = WeiField()
    volume_quote = WeiField()

    class Meta:
        ordering = ["token", "block", "id"]
        indexes = [models.Index(fields=["token", "timestamp"])]


class RebalanceState(models.TextChoices):
    PENDING = "pending", "pending"  # planned or in progress; the task (re)runs it
    DONE = "done", "done"
    FAILED = "failed", "failed"  # a non-retryable revert: the round trades nothing more
    HALTED = "halted", "halted"  # ledger mismatch: waits for an operator (TradingHalt)


class DexBook(models.Model):
    """A round's trading book: target weights from the meta-model at close, the opening marks
    (read before the rebalance, so its fees and slippage are inside the round's P&L) and the
    latest mark."""

    round = models.OneToOneField(Round, on_delete=models.CASCADE, related_name="dex")
    weights = models.JSONField()  # symbol -> target weight (sums to 1)
    n_models = models.PositiveIntegerField()  # models in the meta-model
    start_block = models.BigIntegerField()
    start_value = WeiField()  # vault value at mid, quote base units
    # symbol -> [R_token, R_quote] as decimal strings (the exact opening marks): each pool's
    # time-weighted average price over `twap_blocks` blocks before start_block, at its depth
    start_reserves = models.JSONField()
    start_spot_reserves = models.JSONField(default=dict, blank=True)  # the same at start_block
    # The round's price window, frozen from the market at close (0: spot, books made before
    # prices were averaged).
    twap_blocks = models.PositiveSmallIntegerField(default=0)
    rebalance_state = models.CharField(
        max_length=16, choices=RebalanceState.choices, default=RebalanceState.PENDING
    )
    rebalance = models.JSONField(default=dict, blank=True)  # summary of the RebalanceResult
    rebalance_error = models.TextField(blank=True)
    rebalance_attempts = models.PositiveIntegerField(default=0)
    # One keeper at a time: a run takes the lease until this moment (crash → it expires).
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"book of {self.round}"

    def start_price(self, symbol: str) -> float:
        reserve_token, reserve_quote = self.start_reserves[symbol]
        return int(reserve_quote) / int(reserve_token)


class PnlMark(models.Model):
    """The vault marked to market at one block during a round: P&L since the round's opening
    marks, and the same over an equal-weight portfolio bought at those marks (no costs).
    `day` is set on the mark a score day's target and contributions were computed from.
    Prices are the pools' time-weighted averages over the book's `twap_blocks` blocks
    before `block` (`reserves`); `spot_reserves` are the pools at `block` itself."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="pnl_marks")
    at = models.DateTimeField()
    block = models.BigIntegerField()
    day = models.PositiveSmallIntegerField(null=True, blank=True)
    value_at_mid = WeiField()
    pnl = WeiField()
    portfolio_return = models.FloatField()
    benchmark_return = models.FloatField()
    excess_return = models.FloatField()
    reserves = models.JSONField()  # symbol -> [R_token, R_quote] as decimal strings
    spot_reserves = models.JSONField(default=dict, blank=True)
    twap_from_block = models.BigIntegerField(null=True, blank=True)  # the average's first block

    class Meta:
        ordering = ["round", "at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "day"], condition=models.Q(day__isnull=False), name="pnl_mark_day_unique"
            )
        ]

    def price(self, symbol: str) -> float:
        reserve_token, reserve_quote = self.reserves[symbol]
        return int(reserve_quote) / int(reserve_token)


class JournalDocument(models.Model):
    """The keeper's durable documents (rebalance plans, the vault ledger), key → JSON: the
    database implementation of chain/dex/journal.py's Journal. Each save commits on its own,
    before the keeper sends the trade it describes."""

    key = models.CharField(max_length=200, unique=True)
    document = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.key


class TradingHalt(models.Model):
    """An alert: the vault's balances on-chain differ from the ledger, so trading stopped.
    An operator books the explained difference (admin action) and trading resumes."""

    market = models.ForeignKey(DexMarket, on_delete=models.CASCADE, related_name="halts")
    round = models.ForeignKey(Round, null=True, blank=True, on_delete=models.SET_NULL)
    reason = models.TextField()
    created_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    resolution = models.TextField(blank=True)
    adjustments = models.JSONField(default=dict, blank=True)  # token -> signed amount (str)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"halt of {self.market.tournament.slug} at {self.created_at:%Y-%m-%d %H:%M}"
