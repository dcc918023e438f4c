"""The DEX kind's site pages (included by config/urls.py before tournaments' own)."""

from django.urls import path

from dex import views

urlpatterns = [
    path("tournaments/new/dex/", views.dex_tournament_create_view, name="dex-tournament-create"),
    path(
        "tournaments/<slug:slug>/rounds/<int:number>/pnl.svg",
        views.round_pnl_chart,
        name="round-pnl-chart",
    ),
]
