"""The sponsor's page for creating a DEX tournament (thin: form → one service → redirect)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from dex.forms import DexTournamentCreateForm
from dex.services.markets import dex_tournament_create
from tournaments.errors import ArenaError
from tournaments.views import _reject


@login_required
def dex_tournament_create_view(request: HttpRequest) -> HttpResponse:
    form = DexTournamentCreateForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            tournament = dex_tournament_create(sponsor=request.user, now=timezone.now(), **form.service_kwargs())
        except ArenaError as exc:
            status = _reject(form, exc)
        else:
            messages.success(
                request,
                f"DEX tournament “{tournament.name}” created with its vault {tournament.dex.vault}. "
                "Round 1 opens with data from the pools.",
            )
            return redirect("tournament-detail", slug=tournament.slug)
    elif request.method == "POST":
        status = 400
    context = {
        "form": form,
        "title": "New DEX tournament",
        "action": "dex-tournament-create",
        "lead": "Name a universe of tokens with pools against a quote token and the vault's capital. "
        "The platform deploys the vault, builds every round's data from the pools, trades the "
        "meta-model at each close and pays each model for its share of the P&L.",
        "multipart": False,
        "submit": "Create DEX tournament",
    }
    return render(request, "tournaments/tournament_create.html", context, status=status)
