from django.contrib import admin

from tournaments import models as m


@admin.register(m.Tournament)
class TournamentAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "sponsor", "kind", "state", "round_interval", "reward_pool")
    list_filter = ("state", "kind")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


class RoundTransitionInline(admin.TabularInline):
    model = m.RoundTransition
    extra = 0
    readonly_fields = ("from_state", "to_state", "at", "detail")
    can_delete = False


@admin.register(m.Round)
class RoundAdmin(admin.ModelAdmin):
    list_display = ("tournament", "number", "state", "opens_at", "closes_at", "scored_days", "meta_corr")
    list_filter = ("state", "tournament")
    inlines = [RoundTransitionInline]


@admin.register(m.RoundTransition)
class RoundTransitionAdmin(admin.ModelAdmin):
    list_display = ("round", "from_state", "to_state", "at", "detail")
    list_filter = ("to_state",)


@admin.register(m.DatasetVersion)
class DatasetVersionAdmin(admin.ModelAdmin):
    list_display = ("tournament", "kind", "version", "round", "rows", "n_features", "n_eras", "cid")
    list_filter = ("kind", "tournament")


@admin.register(m.ModelSlot)
class ModelSlotAdmin(admin.ModelAdmin):
    list_display = ("name", "tournament", "owner", "stake", "created_at")
    list_filter = ("tournament",)
    search_fields = ("name", "owner__username")


@admin.register(m.StakeEvent)
class StakeEventAdmin(admin.ModelAdmin):
    list_display = ("model", "kind", "amount", "round", "tx_hash", "created_at")
    list_filter = ("kind",)


@admin.register(m.Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ("model", "round", "state", "is_counted", "rows", "cid", "created_at")
    list_filter = ("state", "is_counted")


@admin.register(m.StakeSnapshot)
class StakeSnapshotAdmin(admin.ModelAdmin):
    list_display = ("round", "model", "amount")


@admin.register(m.RoundTarget)
class RoundTargetAdmin(admin.ModelAdmin):
    list_display = ("round", "day", "rows", "cid", "created_at")


@admin.register(m.ScoreDay)
class ScoreDayAdmin(admin.ModelAdmin):
    list_display = ("round", "day", "meta_corr", "n_models", "computed_at")


@admin.register(m.Score)
class ScoreAdmin(admin.ModelAdmin):
    list_display = ("round", "model", "day", "corr", "mmc", "computed_at")
    list_filter = ("round__tournament",)


@admin.register(m.Payout)
class PayoutAdmin(admin.ModelAdmin):
    list_display = ("round", "model", "stake_at_risk", "corr", "mmc", "payout_factor", "amount", "state")
    list_filter = ("state",)


@admin.register(m.RoundKey)
class RoundKeyAdmin(admin.ModelAdmin):
    # The sealed private key is never shown, not even encrypted: it leaves only through the
    # round's publication after resolution.
    list_display = ("round", "public_key", "kek_id", "created_at")
    exclude = ("private_key_encrypted",)
    readonly_fields = ("round", "public_key", "kek_id", "created_at")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(m.LeaderboardFeed)
class LeaderboardFeedAdmin(admin.ModelAdmin):
    list_display = ("tournament", "version", "updated_at")


@admin.register(m.LeaderboardUpdate)
class LeaderboardUpdateAdmin(admin.ModelAdmin):
    list_display = ("tournament", "version", "reason", "created_at")
    list_filter = ("tournament", "reason")
