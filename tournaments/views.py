"""Server-rendered pages. Thin: validate with a form, call one service or selector, render.

Services raise ArenaError subclasses; `core.pages.show_refusal` turns one into a form error
with the service's message (and the offending rows in `details`) at the error's HTTP status.
"""

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from core.errors import ArenaError, NotAllowed, NotFound
from core.pages import show_refusal
from tournaments import selectors
from tournaments.charts import score_history_svg
from tournaments.forms import (
    DatasetUploadForm,
    LeaderboardForm,
    LiveDataUploadForm,
    ModelCreateForm,
    PredictionUploadForm,
    StakeForm,
    TargetUploadForm,
    TournamentCreateForm,
)
from tournaments.kinds import kind_hooks
from tournaments.models import (
    ModelSlot,
    Round,
    RoundState,
    SponsorUpload,
    Tournament,
    UploadKind,
    UploadState,
)
from tournaments.services.datasets import dataset_upload_receive, round_target_upload_receive
from tournaments.services.model_slots import model_create, stake_deposit, stake_release
from tournaments.services.submissions import submission_upload
from tournaments.services.tournaments import tournament_launch
from tournaments.templatetags.arena import format_tokens


def _tournament(slug: str) -> Tournament:
    return get_object_or_404(Tournament.objects.select_related("sponsor"), slug=slug)


# --- Everyone ----------------------------------------------------------------------------


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "tournaments/home.html",
        {
            "tournaments": selectors.tournament_list()[:12],
            "recent_rounds": selectors.rounds_recent(limit=10),
        },
    )


@require_GET
def tournament_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "tournaments/tournament_list.html", {"tournaments": selectors.tournament_list()}
    )


@require_GET
def tournament_detail(request: HttpRequest, slug: str) -> HttpResponse:
    tournament = _tournament(slug)
    page = selectors.tournament_page(tournament=tournament, now=timezone.now())
    return render(
        request,
        "tournaments/tournament_detail.html",
        page | {"tournament": tournament, "is_sponsor": tournament.sponsor_id == request.user.id},
    )


@require_GET
def round_detail(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    rnd = get_object_or_404(
        Round.objects.select_related("tournament"), tournament__slug=slug, number=number
    )
    page = selectors.round_page(round=rnd)
    return render(
        request,
        "tournaments/round_detail.html",
        page
        | {
            "round": rnd,
            "tournament": rnd.tournament,
            "resolved": rnd.state in (RoundState.RESOLVED, RoundState.SETTLED),
        },
    )


@require_GET
def leaderboard(request: HttpRequest, slug: str) -> HttpResponse:
    tournament = _tournament(slug)
    form = LeaderboardForm(
        request.GET or None, extra_columns=kind_hooks(tournament.kind).extra_score_columns
    )
    metric, last_n = form.choice()
    rows = selectors.leaderboard(tournament=tournament, metric=metric, last_n=last_n)
    return render(
        request,
        "tournaments/leaderboard.html",
        {
            "tournament": tournament,
            "form": form,
            "rows": rows,
            "metric": metric,
            "metric_label": dict(LeaderboardForm.METRICS)[metric],
            "last_n": last_n,
        },
    )


@require_GET
def model_profile(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    model = get_object_or_404(
        ModelSlot.objects.select_related("owner", "tournament"), tournament__slug=slug, name=name
    )
    page = selectors.model_page(model=model)
    return render(
        request,
        "tournaments/model_profile.html",
        page
        | {
            "model": model,
            "tournament": model.tournament,
            "chart": score_history_svg(history=page["history"], model_name=model.name),
            "is_owner": model.owner_id == request.user.id,
        },
    )


@require_GET
def dataset_download(request: HttpRequest, slug: str, dataset_id: int) -> HttpResponse:
    tournament = _tournament(slug)
    try:
        dataset = selectors.dataset_for_download(
            tournament=tournament, dataset_id=dataset_id, by=request.user
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    response = HttpResponse(
        selectors.dataset_content(dataset=dataset), content_type="application/octet-stream"
    )
    stem = f"{tournament.slug}-{dataset.kind}-v{dataset.version}"
    suffix = ".parquet" if dataset.filename.lower().endswith(".parquet") else ".csv"
    response["Content-Disposition"] = f'attachment; filename="{stem}{suffix}"'
    response["X-Content-CID"] = dataset.cid
    return response


# --- Sponsors ----------------------------------------------------------------------------


@login_required
def tournament_create(request: HttpRequest) -> HttpResponse:
    form = TournamentCreateForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            tournament = tournament_launch(sponsor=request.user, **form.service_kwargs())
        except ArenaError as exc:
            status = show_refusal(form, exc)
        else:
            messages.success(
                request,
                f"Tournament “{tournament.name}” created. Upload the live data of round 1 to open it.",
            )
            return redirect("tournament-dashboard", slug=tournament.slug)
    elif request.method == "POST":
        status = 400
    return render(request, "tournaments/tournament_create.html", {"form": form}, status=status)


def _dashboard(
    request: HttpRequest, tournament: Tournament, status: int = 200, **forms
) -> HttpResponse:
    try:
        page = selectors.sponsor_dashboard(tournament=tournament, by=request.user)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    context = page | {
        "tournament": tournament,
        "dataset_form": forms.get("dataset_form") or DatasetUploadForm(),
        "live_form": forms.get("live_form") or LiveDataUploadForm(rounds=page["scheduled_rounds"]),
        "target_form": forms.get("target_form") or TargetUploadForm(rounds=page["target_rounds"]),
    }
    return render(request, "tournaments/tournament_dashboard.html", context, status=status)


@login_required
@require_GET
def tournament_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    return _dashboard(request, _tournament(slug))


def _run_form(
    request: HttpRequest,
    form,
    action: Callable[[dict], str | None],
    *,
    done: HttpResponse,
    again: Callable[[int], HttpResponse],
) -> HttpResponse:
    """The shape of every form post: validate, call one service through `action` (which
    returns the success message, or None if it said how it went itself), then `done`;
    otherwise `again` re-renders the page with the form's errors and the service's status
    (400, 409, 413…)."""
    status = 400
    if form.is_valid():
        try:
            message = action(form.cleaned_data)
        except ArenaError as exc:
            status = show_refusal(form, exc)
        else:
            if message:
                messages.success(request, message)
            return done
    return again(status)


def _report_upload(request: HttpRequest, upload: SponsorUpload) -> None:
    """Say how a sponsor's upload went: usually still being checked (the dashboard lists it
    until it is ready or rejected); where tasks run in-process, already one or the other."""
    if upload.kind == UploadKind.TARGET:
        what = f"Target for round {upload.round.number}, day {upload.day}"
    elif upload.kind == UploadKind.LIVE:
        what = f"Live data for round {upload.round.number}"
    else:
        what = f"{upload.kind.capitalize()} data"
    if upload.state == UploadState.READY:
        if upload.kind == UploadKind.TARGET:
            messages.success(request, f"{what} stored.")
        elif upload.kind == UploadKind.LIVE:
            messages.success(request, f"{what} stored: {upload.rows:,} rows.")
        else:
            messages.success(request, f"{what} v{upload.dataset.version} stored: {upload.rows:,} rows.")
    elif upload.state == UploadState.REJECTED:
        messages.error(
            request, f"{what} ({upload.filename}) was refused: {upload.error_message}"
        )
    else:
        messages.success(
            request,
            f"{what} received ({upload.filename}, {upload.size_bytes:,} bytes): it is being "
            "checked and takes effect once it is ready. Its state is under “Uploads” below.",
        )


@login_required
@require_POST
def dashboard_dataset_upload(request: HttpRequest, slug: str) -> HttpResponse:
    tournament = _tournament(slug)
    form = DatasetUploadForm(request.POST, request.FILES)

    def upload(data: dict) -> None:
        upload = dataset_upload_receive(
            tournament=tournament, by=request.user, kind=data["kind"],
            data=data["file"].read(), filename=data["file"].name,
        )
        _report_upload(request, upload)

    return _run_form(
        request, form, upload, done=redirect("tournament-dashboard", slug=slug),
        again=lambda status: _dashboard(request, tournament, status, dataset_form=form),
    )


@login_required
@require_POST
def dashboard_live_upload(request: HttpRequest, slug: str) -> HttpResponse:
    tournament = _tournament(slug)
    rounds = selectors.rounds_awaiting_live_data(tournament=tournament)
    form = LiveDataUploadForm(request.POST, request.FILES, rounds=rounds)

    def upload(data: dict) -> None:
        upload = dataset_upload_receive(
            tournament=tournament, by=request.user, kind="live", round=data["round"],
            data=data["file"].read(), filename=data["file"].name,
        )
        _report_upload(request, upload)

    return _run_form(
        request, form, upload, done=redirect("tournament-dashboard", slug=slug),
        again=lambda status: _dashboard(request, tournament, status, live_form=form),
    )


@login_required
@require_POST
def dashboard_target_upload(request: HttpRequest, slug: str) -> HttpResponse:
    tournament = _tournament(slug)
    rounds = selectors.rounds_awaiting_targets(tournament=tournament)
    form = TargetUploadForm(request.POST, request.FILES, rounds=rounds)

    def upload(data: dict) -> None:
        upload = round_target_upload_receive(
            round=data["round"], by=request.user, day=data["day"],
            data=data["file"].read(), filename=data["file"].name,
        )
        _report_upload(request, upload)

    return _run_form(
        request, form, upload, done=redirect("tournament-dashboard", slug=slug),
        again=lambda status: _dashboard(request, tournament, status, target_form=form),
    )


# --- Modelers ----------------------------------------------------------------------------


@login_required
@require_GET
def my_models(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "tournaments/my_models.html",
        {"rows": selectors.models_of_owner(owner=request.user)},
    )


@login_required
def my_model_create(request: HttpRequest) -> HttpResponse:
    tournaments = selectors.tournament_list()
    initial = {"tournament": request.GET.get("tournament")} if request.method == "GET" else None
    form = ModelCreateForm(request.POST or None, tournaments=tournaments, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            model = model_create(
                owner=request.user,
                tournament=form.cleaned_data["tournament"],
                name=form.cleaned_data["name"],
            )
        except ArenaError as exc:
            status = show_refusal(form, exc)
        else:
            messages.success(request, f"Model {model.name} registered in {model.tournament.name}.")
            return redirect("my-model", pk=model.pk)
    elif request.method == "POST":
        status = 400
    return render(request, "tournaments/my_model_create.html", {"form": form}, status=status)


def _my_model(request: HttpRequest, pk: int, status: int = 200, **forms) -> HttpResponse:
    model = get_object_or_404(ModelSlot.objects.select_related("owner", "tournament"), pk=pk)
    try:
        page = selectors.model_private(model=model, by=request.user)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    context = page | {
        "model": model,
        "tournament": model.tournament,
        "stake_free": max(0, model.stake - page["stake_locked"]),
        "upload_form": forms.get("upload_form") or PredictionUploadForm(),
        "max_prediction_bytes": settings.ARENA_MAX_PREDICTION_BYTES,
        "stake_form": forms.get("stake_form") or StakeForm(prefix="stake"),
        "release_form": forms.get("release_form") or StakeForm(prefix="release"),
        "chart": score_history_svg(history=page["history"], model_name=model.name),
    }
    return render(request, "tournaments/my_model.html", context, status=status)


@login_required
@require_GET
def my_model(request: HttpRequest, pk: int) -> HttpResponse:
    return _my_model(request, pk)


def _model(pk: int) -> ModelSlot:
    # Ownership is the services' rule: they answer NotAllowed (403) for another's model.
    return get_object_or_404(ModelSlot.objects.select_related("tournament"), pk=pk)


@login_required
@require_POST
def my_model_upload(request: HttpRequest, pk: int) -> HttpResponse:
    model = _model(pk)
    form = PredictionUploadForm(request.POST, request.FILES)
    status = 400
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            submission = submission_upload(
                model=model, by=request.user, data=upload.read(), filename=upload.name
            )
        except ArenaError as exc:
            status = show_refusal(form, exc)
        else:
            messages.success(
                request,
                f"Sealed predictions received for round {submission.round.number} "
                f"({submission.cid}); they are opened and checked when the round closes.",
            )
            return redirect("my-model", pk=model.pk)
    return _my_model(request, pk, status, upload_form=form)


def _stake_form_action(request: HttpRequest, pk: int, *, prefix: str, service, done: str) -> HttpResponse:
    """Stake and release: validate the amount, call the service, report the new stake."""
    model = _model(pk)
    form = StakeForm(request.POST, prefix=prefix)

    def act(data: dict) -> str:
        changed = service(model=model, by=request.user, amount=data["amount"])
        return f"{done} Stake is now {format_tokens(changed.stake)} {changed.tournament.token_symbol}."

    return _run_form(
        request, form, act, done=redirect("my-model", pk=model.pk),
        again=lambda status: _my_model(request, pk, status, **{f"{prefix}_form": form}),
    )


@login_required
@require_POST
def my_model_stake(request: HttpRequest, pk: int) -> HttpResponse:
    return _stake_form_action(request, pk, prefix="stake", service=stake_deposit, done="Staked.")


@login_required
@require_POST
def my_model_release(request: HttpRequest, pk: int) -> HttpResponse:
    return _stake_form_action(request, pk, prefix="release", service=stake_release, done="Released.")
