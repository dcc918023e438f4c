"""Tournaments, rounds, datasets, model slots, submissions, stakes, scores and payouts.

Rows here are written only by services (tournaments/services/); reads go through selectors.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, models
from django.utils import timezone

from core.lean_sql import column, table
from core.money import WeiField, tokens_to_wei


class TournamentState(models.TextChoices):
    ACTIVE = "active", "active"
    PAUSED = "paused", "paused"
    ARCHIVED = "archived", "archived"


class TournamentKind(models.TextChoices):
    DATASET = "dataset", "data set"
    # The meta-model trades a universe of tokens through on-chain pools (dex/).
    DEX = "dex", "DEX"


class Tournament(models.Model):
    sponsor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sponsored_tournaments"
    )
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=16, choices=TournamentKind.choices, default=TournamentKind.DATASET)
    state = models.CharField(max_length=16, choices=TournamentState.choices, default=TournamentState.ACTIVE)

    # Schedule. Round n opens at first_round_at + n·round_interval and closes
    # submission_window later; score day d (1..score_days) falls at
    # close + resolution_lag + (d-1)·score_day_interval; the round resolves on the last one.
    first_round_at = models.DateTimeField()
    round_interval = models.DurationField(default=timedelta(days=7))
    submission_window = models.DurationField(default=timedelta(days=2))
    resolution_lag = models.DurationField(default=timedelta(days=1))
    score_days = models.PositiveSmallIntegerField(default=20)
    score_day_interval = models.DurationField(default=timedelta(days=1))
    # How long the sponsor (the guardian) may veto a proposed settlement on-chain; empty means
    # the platform default (CHAIN_CHALLENGE_WINDOW). Fixed when the tournament is registered.
    challenge_window = models.DurationField(null=True, blank=True)

    # Payout rules, frozen onto each round when it opens.
    payout_threshold = WeiField(default=tokens_to_wei(1000))
    corr_multiplier = models.FloatField(default=0.5)
    mmc_multiplier = models.FloatField(default=2.0)
    payout_cap = models.FloatField(default=0.05)
    # Weight of the P&L contribution in the payout (DEX tournaments; 0 leaves it out).
    pnl_multiplier = models.FloatField(default=0.0)

    token_symbol = models.CharField(max_length=12, default="ARENA")
    reward_pool = WeiField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def rules_snapshot(self) -> dict:
        return {
            "payout_threshold": str(self.payout_threshold),
            "corr_multiplier": self.corr_multiplier,
            "mmc_multiplier": self.mmc_multiplier,
            "payout_cap": self.payout_cap,
            "pnl_multiplier": self.pnl_multiplier,
            "score_days": self.score_days,
        }


class DatasetKind(models.TextChoices):
    TRAINING = "training", "training"
    VALIDATION = "validation", "validation"
    LIVE = "live", "live"


class DatasetVersion(models.Model):
    """One immutable data file (Parquet or CSV), stored content-addressed by its CID."""

    tournament = models.ForeignKey(Tournament, on_delete=models.CASCADE, related_name="datasets")
    kind = models.CharField(max_length=16, choices=DatasetKind.choices)
    round = models.OneToOneField(
        "Round", null=True, blank=True, on_delete=models.CASCADE, related_name="live_dataset"
    )
    version = models.PositiveIntegerField()
    cid = models.CharField(max_length=100)
    filename = models.CharField(max_length=200)
    size_bytes = models.PositiveBigIntegerField()
    rows = models.PositiveIntegerField()
    n_features = models.PositiveIntegerField()
    n_eras = models.PositiveIntegerField()
    feature_names = models.JSONField(default=list)
    has_target = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tournament", "kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["tournament", "kind", "version"], name="dataset_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.tournament.slug} {self.kind} v{self.version}"


class RoundState(models.TextChoices):
    SCHEDULED = "scheduled", "scheduled"
    OPEN = "open", "open"
    CLOSED = "closed", "closed"
    SCORING = "scoring", "scoring"
    RESOLVED = "resolved", "resolved"
    SETTLED = "settled", "settled"


ROUND_STATE_ORDER = [s.value for s in RoundState]


class RoundQuerySet(models.QuerySet):
    """Rounds, with the one definition of "the open round".

    A round is open at `now` when round_open has moved it to `open` (and round_close has
    not moved it on) and its `opens_at` is not after `now`; of a tournament's open rounds,
    the one with the highest number is *the* open round. `closes_at` is deliberately not
    part of it: the round stays open, on its pages too, until round_close runs (the
    scheduler's next step after `closes_at`), while submission_upload refuses uploads from
    `closes_at` on by itself.

    The upload path's hand-written SQL (core/lean_sql.py) states the same condition through
    `latest_open_at_sql`, below; tests/lifecycle/test_open_round.py holds the two to the
    same rounds at the boundaries.
    """

    def open_at(self, now: datetime) -> "RoundQuerySet":
        """The rounds open at `now`."""
        return self.filter(state=RoundState.OPEN, opens_at__lte=now)

    def latest_open_at(self, now: datetime) -> "Round | None":
        """The open round at `now`: the highest-numbered of `open_at(now)`."""
        return self.open_at(now).order_by("-number").first()

    @staticmethod
    def latest_open_at_sql(tournament: str) -> str:
        """`latest_open_at`'s round id as an SQL subquery on alias `r2`: `tournament` is the
        SQL naming the tournament's id, and the subquery's own two parameters are
        `latest_open_at_sql_params(now)`, in this order."""
        return (
            f"SELECT r2.{column(Round, 'id')} FROM {table(Round)} r2 "
            f"WHERE r2.{column(Round, 'tournament')} = {tournament} "
            f"AND r2.{column(Round, 'state')} = %s AND r2.{column(Round, 'opens_at')} <= %s "
            f"ORDER BY r2.{column(Round, 'number')} DESC LIMIT 1"
        )

    @staticmethod
    def latest_open_at_sql_params(now: datetime) -> list:
        """The parameters of `latest_open_at_sql`: the open state and `now`, bound as the ORM
        binds a DateTimeField's value (the same comparison on SQLite's text dates)."""
        return [RoundState.OPEN.value, connection.ops.adapt_datetimefield_value(now)]


class Round(models.Model):
    tournament = models.ForeignKey(Tournament, on_delete=models.CASCADE, related_name="rounds")
    number = models.PositiveIntegerField()
    state = models.CharField(max_length=16, choices=RoundState.choices, default=RoundState.SCHEDULED)
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    resolves_at = models.DateTimeField()
    rules = models.JSONField(default=dict, blank=True)  # frozen at open
    scored_days = models.PositiveSmallIntegerField(default=0)
    meta_corr = models.FloatField(null=True, blank=True)  # latest score day's
    # Set at close: Merkle root ("0x" + 64 hex) over the counted envelopes' SHA-256 digests
    # (arena_client.merkle's scheme) and how many distinct envelopes it commits to.
    commitments_root = models.CharField(max_length=66, blank=True)
    commitments_count = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RoundQuerySet.as_manager()

    class Meta:
        ordering = ["tournament", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["tournament", "number"], name="round_number_unique")
        ]
        indexes = [models.Index(fields=["state", "closes_at"])]

    def __str__(self) -> str:
        return f"{self.tournament.slug} round {self.number}"

    def score_day_at(self, day: int):
        """When score day `day` (1-based) is due, per the schedule frozen when the round
        opened (a sponsor's later edit of the tournament moves no open or closed round)."""
        lag, interval = self.tournament.resolution_lag, self.tournament.score_day_interval
        if "resolution_lag_seconds" in self.rules:
            lag = timedelta(seconds=self.rules["resolution_lag_seconds"])
            interval = timedelta(seconds=self.rules["score_day_interval_seconds"])
        return self.closes_at + lag + (day - 1) * interval

    @property
    def total_score_days(self) -> int:
        return int(self.rules.get("score_days") or self.tournament.score_days)


class RoundKey(models.Model):
    """The round's HPKE key pair (X25519), made when the round opens.

    Modelers seal predictions to `public_key`. The private key is kept only encrypted
    (AES-256-GCM under settings.ARENA_KEY_ENCRYPTION_KEY, bound to this round); the service
    that decrypts it refuses until the round has closed, and it is shown publicly once the
    round resolves so anyone can re-open the envelopes and re-check the scoring.
    """

    round = models.OneToOneField(Round, on_delete=models.CASCADE, related_name="round_key")
    public_key = models.CharField(max_length=64)  # 32 bytes, hex
    private_key_encrypted = models.CharField(max_length=200)  # hex: version, nonce, ciphertext+tag
    kek_id = models.CharField(max_length=16)  # names the key-encryption key that sealed it
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"key of {self.round}"


class RoundTransition(models.Model):
    """Log of every lifecycle transition, with the time it happened."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=16, choices=RoundState.choices)
    to_state = models.CharField(max_length=16, choices=RoundState.choices)
    at = models.DateTimeField()
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]


class ModelSlot(models.Model):
    """A modeler's named model in one tournament (not called `Model` to avoid confusion)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="model_slots")
    tournament = models.ForeignKey(Tournament, on_delete=models.CASCADE, related_name="model_slots")
    name = models.SlugField(max_length=60)
    stake = WeiField(default=0)  # current stake; the ledger is StakeEvent
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tournament", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tournament", "name"], name="model_name_unique_in_tournament")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.tournament.slug})"


class StakeEventKind(models.TextChoices):
    DEPOSIT = "deposit", "deposit"
    RELEASE = "release", "release"
    BURN = "burn", "burn"
    REWARD = "reward", "reward"


class StakeEvent(models.Model):
    """Append-only stake ledger; `ModelSlot.stake` is its running sum."""

    model = models.ForeignKey(ModelSlot, on_delete=models.CASCADE, related_name="stake_events")
    kind = models.CharField(max_length=16, choices=StakeEventKind.choices)
    amount = WeiField()  # signed change of the stake
    round = models.ForeignKey(Round, null=True, blank=True, on_delete=models.SET_NULL)
    tx_hash = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class SubmissionState(models.TextChoices):
    # Stored sealed; nobody can read it before the round closes.
    RECEIVED = "received", "received"
    # Opened after close and passed the prediction rules: it is scored.
    VALID = "valid", "valid"
    # Could not be opened, or broke the rules (`error` says which): not scored, still stored.
    INVALID = "invalid", "invalid"


class Submission(models.Model):
    """One uploaded sealed envelope (`cid` names the ciphertext). History is kept; the last
    one received before close counts, and is opened and checked after close."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="submissions")
    model = models.ForeignKey(ModelSlot, on_delete=models.CASCADE, related_name="submissions")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    cid = models.CharField(max_length=100)
    filename = models.CharField(max_length=200)
    size_bytes = models.PositiveBigIntegerField()
    rows = models.PositiveIntegerField(default=0)  # known once opened after close
    state = models.CharField(
        max_length=16, choices=SubmissionState.choices, default=SubmissionState.RECEIVED
    )
    error = models.TextField(blank=True)
    problems = models.JSONField(default=list, blank=True)  # the rule breaches, as the API shows them
    is_counted = models.BooleanField(default=False)  # chosen at close
    # When the platform accepted it (the service's clock, so simulated runs stay consistent).
    created_at = models.DateTimeField(default=timezone.now)
    # Ed25519 signature (hex) of the receipt over (tournament, round, model, cid, created_at).
    receipt_signature = models.CharField(max_length=128, blank=True)
    # After close: the validated predictions, float64 in live-id order (predictions_blob.py).
    predictions_cid = models.CharField(max_length=100, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    # After close, an envelope that did not count is deleted from storage (services/storage.py);
    # its row and signed receipt stay.
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["round", "model", "-created_at"]),
            models.Index(fields=["cid"], name="submission_cid"),
        ]


class StakeSnapshot(models.Model):
    """Stake at risk for a round, frozen at close."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="stake_snapshots")
    model = models.ForeignKey(ModelSlot, on_delete=models.CASCADE, related_name="stake_snapshots")
    amount = WeiField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "model"], name="stake_snapshot_unique")
        ]


class RoundTarget(models.Model):
    """The target for one score day of a round (`id,target`), uploaded by the sponsor."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="targets")
    day = models.PositiveSmallIntegerField()
    cid = models.CharField(max_length=100)
    rows = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["round", "day"]
        constraints = [models.UniqueConstraint(fields=["round", "day"], name="round_target_unique")]


class UploadKind(models.TextChoices):
    TRAINING = "training", "training"
    VALIDATION = "validation", "validation"
    LIVE = "live", "live"
    TARGET = "target", "target"


class UploadState(models.TextChoices):
    # Stored; the check in the sandbox has not finished. Nothing of it is in force yet.
    PROCESSING = "processing", "processing"
    # Checked and in force: it became `dataset` (a data file) or the day's RoundTarget.
    READY = "ready", "ready"
    # Refused (`error_code`, `error_message`, `error_details`); the version in force stays.
    REJECTED = "rejected", "rejected"


class SponsorUpload(models.Model):
    """A sponsor's data file (training, validation, a round's live data, a day's target) from
    the moment it is stored until its check has finished (services/uploads.py).

    DatasetVersion and RoundTarget rows exist only for files that passed: a processing or
    rejected upload is never a round's live data nor a score day's target, so nothing that
    reads those (opening, scoring, downloads, the audit) needs to know about this row.
    """

    tournament = models.ForeignKey(Tournament, on_delete=models.CASCADE, related_name="uploads")
    # Live data and targets belong to a round; training and validation data do not.
    round = models.ForeignKey(
        "Round", null=True, blank=True, on_delete=models.CASCADE, related_name="uploads"
    )
    kind = models.CharField(max_length=16, choices=UploadKind.choices)
    day = models.PositiveSmallIntegerField(null=True, blank=True)  # targets only
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    cid = models.CharField(max_length=100)
    filename = models.CharField(max_length=200)
    size_bytes = models.PositiveBigIntegerField()
    state = models.CharField(
        max_length=16, choices=UploadState.choices, default=UploadState.PROCESSING
    )
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    error_details = models.JSONField(null=True, blank=True)
    rows = models.PositiveIntegerField(null=True, blank=True)  # known once ready
    # The version it became; null for targets, and once a later upload replaced a scheduled
    # round's live data (that version is deleted).
    dataset = models.OneToOneField(
        DatasetVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="upload"
    )
    # Checks started: bounded (ARENA_UPLOAD_CHECK_ATTEMPTS) so that a file whose check never
    # finishes is refused instead of retried forever.
    attempts = models.PositiveSmallIntegerField(default=0)
    # While processing: when the scheduler's sweep sends the check again if it has not
    # finished by then (the task was lost, or its worker died).
    retry_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    checked_at = models.DateTimeField(null=True, blank=True)  # ready or rejected since

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "retry_at"], name="upload_state_retry"),
            models.Index(fields=["tournament", "-created_at"], name="upload_tournament_recent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind="target", day__isnull=False, round__isnull=False)
                    | models.Q(kind="live", day__isnull=True, round__isnull=False)
                    | models.Q(kind__in=["training", "validation"], day__isnull=True, round__isnull=True)
                ),
                name="upload_round_and_day_fit_kind",
            )
        ]

    def __str__(self) -> str:
        where = f" round {self.round.number}" if self.round_id else ""
        day = f" day {self.day}" if self.day else ""
        return f"{self.tournament.slug} {self.kind}{where}{day} upload {self.pk} ({self.state})"


class ScoreDay(models.Model):
    """Round-level results of one score day."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="score_days")
    day = models.PositiveSmallIntegerField()
    meta_corr = models.FloatField()
    n_models = models.PositiveIntegerField()
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["round", "day"]
        constraints = [models.UniqueConstraint(fields=["round", "day"], name="score_day_unique")]


class Score(models.Model):
    """One model's scores on one score day of a round."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="scores")
    model = models.ForeignKey(ModelSlot, on_delete=models.CASCADE, related_name="scores")
    day = models.PositiveSmallIntegerField()
    corr = models.FloatField()
    mmc = models.FloatField()
    fnc = models.FloatField(null=True, blank=True)
    bmc = models.FloatField(null=True, blank=True)
    # DEX rounds: the model's normalised P&L contribution over the round so far (dex/).
    pnl_contribution = models.FloatField(null=True, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["round", "day", "model"]
        constraints = [
            models.UniqueConstraint(fields=["round", "model", "day"], name="score_unique")
        ]


class PayoutState(models.TextChoices):
    PENDING = "pending", "pending"
    SETTLED = "settled", "settled"
    # The round was abandoned on-chain (90 days unsettled): this payout was never applied.
    VOID = "void", "void"


class Payout(models.Model):
    """Final payout of a model for a round: positive is a reward, negative a burn."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="payouts")
    model = models.ForeignKey(ModelSlot, on_delete=models.CASCADE, related_name="payouts")
    stake_at_risk = WeiField()
    corr = models.FloatField()
    mmc = models.FloatField()
    pnl_contribution = models.FloatField(null=True, blank=True)
    payout_factor = models.FloatField()
    amount = WeiField()
    state = models.CharField(max_length=16, choices=PayoutState.choices, default=PayoutState.PENDING)
    settled_at = models.DateTimeField(null=True, blank=True)
    tx_hash = models.CharField(max_length=80, blank=True)

    class Meta:
        ordering = ["round", "model__name"]
        constraints = [models.UniqueConstraint(fields=["round", "model"], name="payout_unique")]


# --- Live leaderboards -------------------------------------------------------------------
# Written only by live/publish.py (after the commit of the change they describe).


class LeaderboardFeed(models.Model):
    """A tournament's live-update counter and the state its clients were last sent.

    `version` grows by one per published update; `state` is what version `version` shows
    (leaderboard rows per view, round facts, round score rows), so the next update is the
    difference to it and a reconnecting client can get a snapshot consistent with a version.
    The row is also the lock that orders a tournament's updates.
    """

    tournament = models.OneToOneField(Tournament, on_delete=models.CASCADE, related_name="live_feed")
    version = models.PositiveBigIntegerField(default=0)
    state = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.tournament.slug} feed v{self.version}"


class LeaderboardUpdate(models.Model):
    """One published update (the changed rows and round facts), kept in a bounded log so a
    client that reconnects with its last version can be sent exactly what it missed."""

    tournament = models.ForeignKey(Tournament, on_delete=models.CASCADE, related_name="live_updates")
    version = models.PositiveBigIntegerField()
    reason = models.CharField(max_length=40)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tournament", "version"]
        constraints = [
            models.UniqueConstraint(fields=["tournament", "version"], name="leaderboard_update_unique")
        ]

    def __str__(self) -> str:
        return f"{self.tournament.slug} update v{self.version}"
