"""Admin for DEX tournaments. Trading halts are the operator's alerts: each open one has a
"resolve" page that books the explained difference and resumes trading (dex/services)."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html
from eth_utils import is_address

from core.errors import ArenaError
from dex import models as m
from dex.services.trading import dex_halt_resolve
from tournaments.admin import ReadOnlyAdmin


class DexTokenInline(admin.TabularInline):
    model = m.DexToken
    extra = 0
    readonly_fields = ("position", "symbol", "token", "pair")
    can_delete = False


@admin.register(m.DexMarket)
class DexMarketAdmin(admin.ModelAdmin):
    list_display = ("tournament", "quote_symbol", "vault", "capital", "tilt", "era_seconds", "twap_blocks")
    inlines = [DexTokenInline]
    readonly_fields = ("capital", "vault", "keeper")  # the vault's money and who may trade it


@admin.register(m.DexToken)
class DexTokenAdmin(admin.ModelAdmin):
    list_display = ("market", "position", "symbol", "token", "pair")


@admin.register(m.PoolObservation)
class PoolObservationAdmin(ReadOnlyAdmin):  # prices the day targets are computed from
    list_display = ("token", "block", "timestamp", "reserve_base", "reserve_quote", "volume_quote")
    list_filter = ("token__market",)


@admin.register(m.DexBook)
class DexBookAdmin(ReadOnlyAdmin):  # the keeper's rebalance record: an edit could trade twice
    list_display = ("round", "n_models", "start_value", "rebalance_state", "rebalance_attempts")
    list_filter = ("rebalance_state",)


@admin.register(m.PnlMark)
class PnlMarkAdmin(ReadOnlyAdmin):  # the P&L payouts are computed from
    list_display = ("round", "at", "block", "day", "pnl", "portfolio_return", "excess_return")


@admin.register(m.JournalDocument)
class JournalDocumentAdmin(admin.ModelAdmin):
    list_display = ("key", "updated_at")
    search_fields = ("key",)

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # the keeper's own records: editing them could make it trade twice


class ResolveHaltForm(forms.Form):
    token = forms.CharField(help_text="address of the token whose balance differs")
    amount = forms.IntegerField(help_text="signed amount in base units to book (+ for a transfer in)")
    reason = forms.CharField(widget=forms.Textarea, help_text="what explains the difference")

    def clean_token(self) -> str:
        token = self.cleaned_data["token"].strip()
        if not is_address(token):
            raise forms.ValidationError("not an address")
        return token


@admin.register(m.TradingHalt)
class TradingHaltAdmin(admin.ModelAdmin):
    list_display = ("market", "round", "created_at", "resolved_at", "resolve_link")
    list_filter = ("resolved_at",)
    readonly_fields = ("market", "round", "reason", "created_at", "resolved_at", "resolved_by", "resolution",
                       "adjustments")

    def get_urls(self):
        return [
            path("<int:halt_id>/resolve/", self.admin_site.admin_view(self.resolve_view), name="dex_tradinghalt_resolve"),
            *super().get_urls(),
        ]

    @admin.display(description="resolve")
    def resolve_link(self, halt: m.TradingHalt) -> str:
        if halt.resolved_at is not None:
            return "—"
        return format_html('<a href="{}">resolve…</a>', reverse("admin:dex_tradinghalt_resolve", args=[halt.pk]))

    def resolve_view(self, request, halt_id: int):
        halt = get_object_or_404(m.TradingHalt, pk=halt_id)
        form = ResolveHaltForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                dex_halt_resolve(
                    halt=halt, adjustments={data["token"]: data["amount"]}, reason=data["reason"], by=request.user
                )
            except ArenaError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, "Booked; the ledger reconciles and trading resumes.")
                return redirect("admin:dex_tradinghalt_changelist")
        context = {**self.admin_site.each_context(request), "halt": halt, "form": form, "title": "Resolve a trading halt"}
        return render(request, "admin/dex/tradinghalt/resolve.html", context)
