"""Site forms: they validate the shape of input; services own the business rules."""

from datetime import timedelta
from decimal import Decimal

from arena_client.sealing import ENVELOPE_OVERHEAD
from django import forms
from django.conf import settings
from django.core.validators import RegexValidator
from django.db.models import QuerySet
from django.utils.text import slugify

from core.money import TOKEN_DECIMALS, tokens_to_wei
from tournaments.models import DatasetKind, Round, Tournament

DURATION_UNITS = {
    "minutes": timedelta(minutes=1),
    "hours": timedelta(hours=1),
    "days": timedelta(days=1),
}


class DurationWidget(forms.MultiWidget):
    """A number and a unit (minutes/hours/days) side by side."""

    def __init__(self, attrs=None):
        super().__init__(
            [
                forms.NumberInput(attrs={"step": "any", "min": "0", "class": "duration-amount"}),
                forms.Select(
                    choices=[(u, u) for u in DURATION_UNITS], attrs={"class": "duration-unit"}
                ),
            ],
            attrs,
        )

    def decompress(self, value):
        if not value:
            return [None, "days"]
        seconds = value.total_seconds()
        for unit in ("days", "hours", "minutes"):
            size = DURATION_UNITS[unit].total_seconds()
            if seconds % size == 0:
                return [int(seconds // size), unit]
        return [seconds / 60, "minutes"]


class DurationWithUnitField(forms.MultiValueField):
    """`[7, "days"]` → `timedelta(days=7)`."""

    widget = DurationWidget

    def __init__(self, *, allow_zero: bool = False, **kwargs):
        self.allow_zero = allow_zero
        fields = (
            forms.DecimalField(min_value=0, max_digits=12, decimal_places=4),
            forms.ChoiceField(choices=[(u, u) for u in DURATION_UNITS]),
        )
        super().__init__(fields=fields, require_all_fields=True, **kwargs)

    def compress(self, data_list):
        if not data_list:
            return None
        amount, unit = data_list
        value = DURATION_UNITS[unit] * float(amount)
        if value < timedelta(seconds=1) and not (self.allow_zero and amount == 0):
            raise forms.ValidationError("must be at least one second")
        return value


class TokenAmountField(forms.DecimalField):
    """An amount in tokens (up to 18 decimals); `cleaned_data` holds it as an int of wei."""

    def __init__(self, *, allow_zero: bool = False, **kwargs):
        self.allow_zero = allow_zero
        kwargs.setdefault("max_digits", 40)
        kwargs.setdefault("decimal_places", TOKEN_DECIMALS)
        kwargs.setdefault("min_value", Decimal(0))
        kwargs.setdefault("widget", forms.NumberInput(attrs={"step": "any", "min": "0"}))
        super().__init__(**kwargs)

    def clean(self, value):
        tokens = super().clean(value)
        if tokens is None:
            return None
        if tokens == 0 and not self.allow_zero:
            raise forms.ValidationError("must be more than zero")
        return tokens_to_wei(tokens)


class UploadSizeMixin:
    """Refuse files over the configured limit before they are read into memory."""

    size_setting = "ARENA_MAX_DATASET_BYTES"

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = getattr(settings, self.size_setting)
        if upload.size > limit:
            raise forms.ValidationError(
                f"file is {upload.size:,} bytes; the limit is {limit:,} bytes"
            )
        return upload


class TournamentCreateForm(forms.Form):
    name = forms.CharField(max_length=120)
    slug = forms.SlugField(
        max_length=60,
        required=False,
        help_text="Used in addresses; derived from the name if left empty.",
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    first_round_at = forms.DateTimeField(
        required=False,
        label="First round opens at (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Leave empty to open round 1 as soon as its live data is uploaded.",
    )
    round_interval = DurationWithUnitField(
        initial=timedelta(days=7), help_text="A new round opens this often."
    )
    submission_window = DurationWithUnitField(
        initial=timedelta(days=2), help_text="How long a round accepts predictions."
    )
    resolution_lag = DurationWithUnitField(
        allow_zero=True, initial=timedelta(days=1), help_text="From close to the first score day."
    )
    score_days = forms.IntegerField(min_value=1, max_value=365, initial=20, label="Score days")
    score_day_interval = DurationWithUnitField(
        initial=timedelta(days=1), label="Between score days"
    )
    payout_threshold = TokenAmountField(
        initial=1000, help_text="Payout factor = min(1, threshold / total stake), in tokens."
    )
    corr_multiplier = forms.FloatField(
        min_value=0, max_value=10, initial=0.5, label="CORR multiplier"
    )
    mmc_multiplier = forms.FloatField(
        min_value=0, max_value=10, initial=2.0, label="MMC multiplier"
    )
    payout_cap = forms.FloatField(
        min_value=0.0001,
        max_value=1,
        initial=0.05,
        help_text="Largest gain or loss per round, as a fraction of stake.",
    )
    token_symbol = forms.CharField(
        max_length=12,
        initial="ARENA",
        validators=[RegexValidator(r"^[A-Z0-9]{2,12}$", "2–12 capital letters or digits.")],
    )
    reward_pool = TokenAmountField(
        allow_zero=True, initial=0, help_text="Tokens available for rewards."
    )
    training_data = forms.FileField(
        help_text="CSV or Parquet with id, era, feature_* and target columns."
    )

    FIELDSETS = (
        ("About", ("name", "slug", "description", "training_data")),
        (
            "Schedule",
            (
                "first_round_at",
                "round_interval",
                "submission_window",
                "resolution_lag",
                "score_days",
                "score_day_interval",
            ),
        ),
        ("Payout rules", ("payout_threshold", "corr_multiplier", "mmc_multiplier", "payout_cap")),
        ("Token", ("token_symbol", "reward_pool")),
    )

    def fieldsets(self) -> list[tuple[str, list[forms.BoundField]]]:
        """The fields in titled groups, for templates/tournaments/tournament_create.html."""
        return [(title, [self[name] for name in names]) for title, names in self.FIELDSETS]

    def clean_slug(self) -> str:
        return self.cleaned_data["slug"] or slugify(self.cleaned_data.get("name", ""))[:60]

    def clean(self):
        data = super().clean()
        window, interval = data.get("submission_window"), data.get("round_interval")
        if window and interval and window > interval:
            self.add_error("submission_window", "must not be longer than the round interval")
        upload = data.get("training_data")
        if upload is not None and upload.size > settings.ARENA_MAX_DATASET_BYTES:
            self.add_error(
                "training_data", f"file is larger than {settings.ARENA_MAX_DATASET_BYTES:,} bytes"
            )
        if not data.get("slug") and data.get("name"):
            self.add_error("slug", "could not derive an address from the name; please enter one")
        return data

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        upload = data.pop("training_data")
        if data["first_round_at"] is None:
            data.pop("first_round_at")
        return data | {"training_data": upload.read(), "training_filename": upload.name}


class DatasetUploadForm(UploadSizeMixin, forms.Form):
    kind = forms.ChoiceField(
        choices=[(DatasetKind.TRAINING, "training"), (DatasetKind.VALIDATION, "validation")]
    )
    file = forms.FileField(help_text="CSV or Parquet: id, era, feature_*, target.")


class LiveDataUploadForm(UploadSizeMixin, forms.Form):
    round = forms.ModelChoiceField(queryset=Round.objects.none(), empty_label=None)
    file = forms.FileField(help_text="CSV or Parquet: id, era, feature_* (no target).")

    def __init__(self, *args, rounds: QuerySet[Round], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["round"].queryset = rounds
        self.fields["round"].label_from_instance = lambda r: (
            f"Round {r.number} (opens {r.opens_at:%Y-%m-%d %H:%M} UTC)"
        )


class TargetUploadForm(UploadSizeMixin, forms.Form):
    round = forms.ModelChoiceField(queryset=Round.objects.none(), empty_label=None)
    day = forms.IntegerField(min_value=1, max_value=365, help_text="Score day, 1 = first.")
    file = forms.FileField(help_text="CSV or Parquet: id, target — one row per live id.")

    def __init__(self, *args, rounds: QuerySet[Round], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["round"].queryset = rounds
        self.fields["round"].label_from_instance = lambda r: (
            f"Round {r.number} ({r.state}, {r.scored_days} days scored)"
        )


class ModelCreateForm(forms.Form):
    tournament = forms.ModelChoiceField(queryset=Tournament.objects.none(), empty_label=None)
    name = forms.CharField(
        max_length=60, help_text="Lowercase letters, digits, '-' or '_'; unique in the tournament."
    )

    def __init__(self, *args, tournaments: QuerySet[Tournament], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tournament"].queryset = tournaments
        self.fields["tournament"].to_field_name = "slug"


class StakeForm(forms.Form):
    amount = TokenAmountField(label="Amount (tokens)")


class PredictionUploadForm(forms.Form):
    """The model page's upload: the browser seals the chosen file before it is sent, so what
    arrives is an envelope (its size limit is the predictions limit plus the envelope's)."""

    file = forms.FileField(
        label="Predictions file",
        help_text="CSV or Parquet with columns id,prediction; one row per live id.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.ARENA_MAX_PREDICTION_BYTES + ENVELOPE_OVERHEAD
        if upload.size > limit:
            raise forms.ValidationError(
                f"file is {upload.size:,} bytes; the limit is {limit:,} bytes"
            )
        return upload


class LeaderboardForm(forms.Form):
    METRICS = [("corr", "CORR"), ("mmc", "MMC"), ("payout", "payout / stake"), ("pnl", "P&L contribution")]

    metric = forms.ChoiceField(choices=METRICS, initial="corr", required=False, label="Rank by")
    last_n = forms.IntegerField(
        min_value=1, max_value=100, initial=4, required=False, label="over the last N rounds"
    )

    def __init__(self, *args, extra_columns: tuple[str, ...] = (), **kwargs):
        super().__init__(*args, **kwargs)
        if "pnl" not in extra_columns:  # only kinds with P&L contributions (DEX) rank by it
            self.fields["metric"].choices = [c for c in self.METRICS if c[0] != "pnl"]

    def choice(self) -> tuple[str, int]:
        """The chosen (metric, last_n), defaults filled in."""
        data = self.cleaned_data if self.is_valid() else {}
        return data.get("metric") or "corr", data.get("last_n") or 4
