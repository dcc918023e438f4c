"""Admin for tournaments. Money is shown here, never moved: payouts, stakes, snapshots and
scores are written only by the services, which keep them consistent with each other and with
the chain (an edit here would pay or burn what no rule decided, and the database would then
disagree with the chain). Deleting a row that money rows hang on is refused as well: Django
asks for delete permission on everything a delete would cascade to."""

from django.contrib import admin

from tournaments import models as m


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the admin may list and show but never add, change or delete."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(m.Tournament)
class TournamentAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "sponsor", "kind", "state", "round_interval", "reward_pool")
    list_filter = ("state", "kind")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    # The pool mirrors the chain's; it grows only through the sponsor's fund transfer.
    readonly_fields = ("reward_pool",)


class RoundTransitionInline(admin.TabularInline):
    model = m.RoundTransition
    extra = 0
    readonly_fields = ("from_state", "to_state", "at", "detail")
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # transitions are the lifecycle services' record


# What a round's money depends on: its state (a state set by hand would skip or repeat a
# settlement step), the payout rules frozen at open, the commitments posted on-chain at close
# and the scoring progress. Only the lifecycle services change them.
ROUND_MONEY_FIELDS = ("state", "rules", "commitments_root", "commitments_count", "scored_days", "meta_corr")


@admin.register(m.Round)
class RoundAdmin(admin.ModelAdmin):
    list_display = ("tournament", "number", "state", "opens_at", "closes_at", "scored_days", "meta_corr")
    list_filter = ("state", "tournament")
    inlines = [RoundTransitionInline]
    readonly_fields = ROUND_MONEY_FIELDS


@admin.register(m.RoundTransition)
class RoundTransitionAdmin(ReadOnlyAdmin):
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
    readonly_fields = ("stake",)  # the sum of its StakeEvents, mirrored from the chain


@admin.register(m.StakeEvent)
class StakeEventAdmin(ReadOnlyAdmin):
    list_display = ("model", "kind", "amount", "round", "tx_hash", "created_at")
    list_filter = ("kind",)


@admin.register(m.Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ("model", "round", "state", "is_counted", "rows", "cid", "created_at")
    list_filter = ("state", "is_counted")


@admin.register(m.StakeSnapshot)
class StakeSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("round", "model", "amount")


@admin.register(m.RoundTarget)
class RoundTargetAdmin(admin.ModelAdmin):
    list_display = ("round", "day", "rows", "cid", "created_at")


@admin.register(m.ScoreDay)
class ScoreDayAdmin(ReadOnlyAdmin):
    list_display = ("round", "day", "meta_corr", "n_models", "computed_at")


@admin.register(m.Score)
class ScoreAdmin(ReadOnlyAdmin):  # payouts are computed from these
    list_display = ("round", "model", "day", "corr", "mmc", "computed_at")
    list_filter = ("round__tournament",)


@admin.register(m.Payout)
class PayoutAdmin(ReadOnlyAdmin):
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


@admin.register(m.SponsorUpload)
class SponsorUploadAdmin(admin.ModelAdmin):
    """Shown, never edited: the upload pipeline alone moves a file from processing to ready
    or rejected (a state set here would put a file in force that nothing checked)."""

    list_display = ("tournament", "kind", "round", "day", "filename", "state", "error_code", "attempts", "created_at")
    list_filter = ("state", "kind")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
