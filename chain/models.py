"""What the platform records about the chain: deployment, wallets, per-round settlement
progress (every tx hash), and the event indexer's cursor and de-duplication log."""

from django.conf import settings
from django.db import models


class ChainDeployment(models.Model):
    """The contracts this database talks to; a mismatch with the node means another chain."""

    chain_id = models.BigIntegerField()
    token = models.CharField(max_length=42)
    staking = models.CharField(max_length=42)
    block = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]


class Wallet(models.Model):
    """A user's address. `custodial` wallets exist only on dev chains (embedded profile):
    their keys live in var/ (never the database), so demo users can stake from the site."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wallet")
    address = models.CharField(max_length=42, unique=True)
    custodial = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} {self.address}"


class ChainRegistration(models.Model):
    """A tournament or model registered on the staking contract (tx recorded)."""

    KIND_CHOICES = [("tournament", "tournament"), ("model", "model")]
    kind = models.CharField(max_length=16, choices=KIND_CHOICES)
    object_id = models.BigIntegerField()
    address = models.CharField(max_length=42)  # guardian or owner
    tx_hash = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "object_id"], name="chain_registration_unique")]


class RoundSettlement(models.Model):
    """A round's on-chain progress: commitments root at close, then propose → finalize →
    apply. Each step records its tx hash; a crash between steps resumes from the chain."""

    round = models.OneToOneField("tournaments.Round", on_delete=models.CASCADE, related_name="chain")
    commitments_root = models.CharField(max_length=66, blank=True)
    commitments_count = models.PositiveIntegerField(default=0)
    commitments_tx = models.CharField(max_length=80, blank=True)
    # The round opened on-chain (its ordinal for the release lock), at open.
    opened_tx = models.CharField(max_length=80, blank=True)
    # The chain's latest block when the platform closed the round: stakes at risk are read
    # at it, so nothing deposited after the close (or after the scores are out) counts.
    close_block = models.BigIntegerField(null=True, blank=True)
    # The block at which the stakes at risk were read from the contract (`stake_at_risk`)
    # into the round's stake snapshot: close_block (the post's block for rounds closed
    # before it was recorded).
    stakes_block = models.BigIntegerField(null=True, blank=True)
    settlement_root = models.CharField(max_length=66, blank=True)
    leaf_count = models.PositiveIntegerField(default=0)
    total_rewards = models.CharField(max_length=80, default="0")
    total_burns = models.CharField(max_length=80, default="0")
    proposed_tx = models.CharField(max_length=80, blank=True)
    challenge_ends = models.BigIntegerField(null=True, blank=True)  # chain timestamp
    # The same moment on the platform's clock (a dev chain's block time can run ahead of it).
    window_ends_at = models.DateTimeField(null=True, blank=True)
    finalized_tx = models.CharField(max_length=80, blank=True)
    apply_txs = models.JSONField(default=list, blank=True)
    completed = models.BooleanField(default=False)
    # Set when the round was abandoned on-chain (a vetoed settlement that nobody corrected
    # within 90 days of the close): no leaf was applied and its stakes at risk are free.
    abandoned_tx = models.CharField(max_length=80, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"chain state of {self.round}"


class IndexerCursor(models.Model):
    name = models.CharField(max_length=40, primary_key=True)
    last_block = models.BigIntegerField(default=-1)
    last_block_hash = models.CharField(max_length=66, blank=True)
    updated_at = models.DateTimeField(auto_now=True)


class IndexedEvent(models.Model):
    """Every mirrored chain event once: the unique key makes re-indexing harmless."""

    tx_hash = models.CharField(max_length=80)
    log_index = models.PositiveIntegerField()
    block = models.BigIntegerField()
    name = models.CharField(max_length=40)
    args = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["block", "log_index"]
        constraints = [models.UniqueConstraint(fields=["tx_hash", "log_index"], name="indexed_event_unique")]
