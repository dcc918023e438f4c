"""DEX pages: the sponsor's page for creating a DEX tournament (thin: form → one service →
redirect) and a round's P&L chart."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from core.errors import ArenaError
from core.pages import show_refusal
from dex.forms import DexTournamentCreateForm
from dex.selectors import round_pnl_series
from dex.services.markets import dex_tournament_create
from tournaments.charts import pnl_chart_svg
from tournaments.models import Round, TournamentKind


@login_required
def dex_tournament_create_view(request: HttpRequest) -> HttpResponse:
    form = DexTournamentCreateForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            tournament = dex_tournament_create(sponsor=request.user, now=timezone.now(), **form.service_kwargs())
        except ArenaError as exc:
            status = show_refusal(form, exc)
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


@require_GET
def round_pnl_chart(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """The P&L chart of a DEX round as an SVG image (the round page swaps it in live)."""
    rnd = get_object_or_404(
        Round.objects.select_related("tournament"), tournament__slug=slug, number=number,
        tournament__kind=TournamentKind.DEX,
    )
    svg = pnl_chart_svg(
        points=round_pnl_series(round=rnd), title=f"Round {rnd.number}: vault vs equal weight"
    )
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Cache-Control"] = "no-store"
    return response
