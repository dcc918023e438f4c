"""Sign-up, log-in and API key pages. Log-out is Django's own view (accounts/urls.py)."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.forms import ApiKeyCreateForm, SignUpForm, ThrottledAuthenticationForm
from accounts.models import ApiKey
from accounts.services import api_key_create, api_key_revoke


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome to Arena, {user.username}!")
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = "home"
        return redirect(target)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "registration/signup.html",
        {"form": form, "next": request.GET.get("next", "")},
        status=status,
    )


class ThrottledLoginView(auth_views.LoginView):
    """Django's log-in view with the throttled form: a refused log-in is answered 429 with
    Retry-After, the form saying when to try again."""

    form_class = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form: ThrottledAuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        if form.refusal is not None:
            response.status_code = 429
            response["Retry-After"] = str(form.refusal.retry_after)
        return response


@never_cache
@login_required
def api_keys(request: HttpRequest) -> HttpResponse:
    """List keys and create one. A new raw key is rendered in the answer to the create POST
    only (not cached, never in a session or the database): it is shown exactly once."""
    form = ApiKeyCreateForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                issued = api_key_create(
                    user=request.user,
                    name=form.cleaned_data["name"],
                    scopes=form.cleaned_data["scopes"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return render(
                    request,
                    "accounts/api_key_new.html",
                    {"api_key": issued.api_key, "raw_key": issued.raw_key},
                    status=201,
                )
    keys = request.user.api_keys.all()
    return render(request, "accounts/api_keys.html", {"form": form, "keys": keys}, status=status)


@login_required
@require_POST
def api_key_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    api_key = get_object_or_404(ApiKey, pk=pk)
    try:
        api_key_revoke(api_key=api_key, by=request.user)
    except PermissionError as exc:
        raise PermissionDenied(str(exc)) from exc
    messages.success(request, f"Key {api_key.prefix}… ({api_key.name}) revoked.")
    return redirect("api-keys")
