"""The DEX kind's API routes (included under /api/ by config/api_urls.py)."""

from django.urls import path

from dex.apis import DexMarketApi, DexTournamentCreateApi, RoundPnlApi

urlpatterns = [
    path("dex-tournaments", DexTournamentCreateApi.as_view(), name="api-dex-tournaments"),
    path("tournaments/<slug:slug>/market", DexMarketApi.as_view(), name="api-dex-market"),
    path(
        "tournaments/<slug:slug>/rounds/<int:number>/pnl",
        RoundPnlApi.as_view(),
        name="api-round-pnl",
    ),
]
