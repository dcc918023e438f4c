"""Account forms: sign-up and API key creation."""

from django import forms
from django.contrib.auth.forms import UserCreationForm

from accounts.models import ApiScope


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
