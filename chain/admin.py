"""Admin for the chain mirror. The deployment, settlements and indexed events are records of
what the chain did: read-only here (tournaments/admin.py says why money rows are)."""

from django.contrib import admin

from chain import models as m
from tournaments.admin import ReadOnlyAdmin


@admin.register(m.ChainDeployment)
class ChainDeploymentAdmin(ReadOnlyAdmin):  # names the contracts every stake and payout moves through
    list_display = ("chain_id", "token", "staking", "block", "created_at")


@admin.register(m.Wallet)
class WalletAdmin(admin.ModelAdmin):
    list_display = ("user", "address", "custodial", "created_at")
    search_fields = ("user__username", "address")


@admin.register(m.ChainRegistration)
class ChainRegistrationAdmin(admin.ModelAdmin):
    list_display = ("kind", "object_id", "address", "tx_hash", "created_at")
    list_filter = ("kind",)


@admin.register(m.RoundSettlement)
class RoundSettlementAdmin(ReadOnlyAdmin):
    list_display = ("round", "commitments_root", "settlement_root", "leaf_count", "completed", "updated_at")
    list_filter = ("completed",)


@admin.register(m.IndexerCursor)
class IndexerCursorAdmin(admin.ModelAdmin):
    list_display = ("name", "last_block", "updated_at")


@admin.register(m.IndexedEvent)
class IndexedEventAdmin(ReadOnlyAdmin):  # stakes are mirrored from these
    list_display = ("block", "log_index", "name", "tx_hash")
    list_filter = ("name",)
