"""Account forms: sign-up, throttled log-in (site and admin) and API key creation."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.core.exceptions import ValidationError

from accounts.login_throttle import (
    LoginRefused,
    login_failure_record,
    login_refusal,
    login_success_record,
)
from accounts.models import ApiScope


class ThrottledLoginMixin:
    """For AuthenticationForm subclasses: refuse while throttled (accounts/login_throttle.py),
    count each failed log-in, clear the username's count on success. `refusal` says why a
    submission was refused, for the view's status code and Retry-After header."""

    refusal: LoginRefused | None = None

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password:
            return super().clean()  # a missing field: nothing was tried, nothing to count
        address = self.request.META.get("REMOTE_ADDR") if self.request else None
        self.refusal = login_refusal(username=username, address=address)
        if self.refusal is not None:
            raise ValidationError(self.refusal.message, code="throttled")
        try:
            cleaned = super().clean()
        except ValidationError as exc:
            if exc.code == "invalid_login":
                login_failure_record(username=username, address=address)
            raise
        login_success_record(username=username)
        return cleaned


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    """The site's log-in form."""


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    """The admin's log-in form: the same counts, so /admin/login/ is no way around them."""


class SignUpForm(UserCreationForm):
    """Username and password (twice); Django's password validators apply."""

    class Meta(UserCreationForm.Meta):
        fields = ("username",)


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="A label to recognise the key, e.g. “laptop”.")
    scopes = forms.MultipleChoiceField(
        choices=ApiScope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[ApiScope.READ],
        help_text="Give a key only what it needs: a submission bot needs read and submit.",
    )
