"""Lookups and output serializers shared by the tournament API modules."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.tools import SecondsField, TokensField, WeiField
from core.errors import NotFound
from tournaments.models import (
    DatasetVersion,
    ModelSlot,
    Round,
    RoundState,
    SponsorUpload,
    Tournament,
    UploadKind,
    UploadState,
)

TAG_TOURNAMENTS = ["tournaments"]
TAG_ROUNDS = ["rounds"]
TAG_DATA = ["data"]
TAG_MODELS = ["models"]
TAG_SUBMISSIONS = ["submissions"]


# --- Lookups (404 in the API's error shape, naming what was not found) ---------------------


def get_tournament(slug: str) -> Tournament:
    tournament = Tournament.objects.select_related("sponsor").filter(slug=slug).first()
    if tournament is None:
        raise NotFound(f"no tournament with slug '{slug}'")
    return tournament


def get_round(tournament: Tournament, number: int) -> Round:
    round = tournament.rounds.select_related("tournament").filter(number=number).first()
    if round is None:
        raise NotFound(f"{tournament.slug} has no round {number}")
    return round


def get_model(model_id: int, related: tuple[str, ...] = ("owner", "tournament")) -> ModelSlot:
    """The model, with `related` loaded in the same query (an upload needs only the
    tournament: joining the owner's row too costs CPU on the hottest endpoint)."""
    model = ModelSlot.objects.select_related(*related).filter(pk=model_id).first()
    if model is None:
        raise NotFound(f"no model with id {model_id}")
    return model


def get_dataset(dataset_id: int) -> DatasetVersion:
    dataset = DatasetVersion.objects.select_related("tournament", "round").filter(pk=dataset_id).first()
    if dataset is None:
        raise NotFound(f"no data set with id {dataset_id}")
    return dataset


# --- Shared output shapes ----------------------------------------------------------------


class ScheduleSerializer(serializers.Serializer):
    first_round_at = serializers.DateTimeField()
    round_interval = SecondsField(help_text="seconds between round openings")
    submission_window = SecondsField(help_text="seconds a round stays open")
    resolution_lag = SecondsField(help_text="seconds from close to the first score day")
    score_days = serializers.IntegerField(help_text="daily score updates per round")
    score_day_interval = SecondsField(help_text="seconds between score days")


class RulesSerializer(serializers.Serializer):
    payout_threshold = WeiField()
    payout_threshold_tokens = TokensField(source="payout_threshold")
    corr_multiplier = serializers.FloatField()
    mmc_multiplier = serializers.FloatField()
    payout_cap = serializers.FloatField()


class TournamentOutputSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    description = serializers.CharField()
    kind = serializers.CharField()
    state = serializers.CharField()
    sponsor = serializers.CharField(source="sponsor.username")
    token_symbol = serializers.CharField()
    reward_pool = WeiField()
    reward_pool_tokens = TokensField(source="reward_pool")
    schedule = ScheduleSerializer(source="*")
    rules = RulesSerializer(source="*")
    created_at = serializers.DateTimeField()


class RoundOutputSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    state = serializers.ChoiceField(choices=RoundState.choices)
    opens_at = serializers.DateTimeField()
    closes_at = serializers.DateTimeField()
    resolves_at = serializers.DateTimeField()
    scored_days = serializers.IntegerField()
    total_score_days = serializers.IntegerField()
    meta_corr = serializers.FloatField(allow_null=True, help_text="the latest score day's")


class DatasetOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    version = serializers.IntegerField()
    round = serializers.IntegerField(source="round.number", allow_null=True, default=None)
    cid = serializers.CharField(help_text="content id (CIDv1, sha2-256) of the file's bytes")
    filename = serializers.CharField()
    size_bytes = serializers.IntegerField()
    rows = serializers.IntegerField()
    n_features = serializers.IntegerField()
    n_eras = serializers.IntegerField()
    feature_names = serializers.ListField(child=serializers.CharField())
    has_target = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    download_url = serializers.SerializerMethodField()

    def get_download_url(self, dataset: DatasetVersion) -> str:
        path = reverse("api-dataset-download", kwargs={"dataset_id": dataset.id})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class UploadErrorSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="why the file was refused, e.g. `invalid`, `too_large`, `unreadable_file`, "
        "`too_slow`, `decoder_crashed`, `conflict`, `check_failed`"
    )
    message = serializers.CharField()
    details = serializers.JSONField(allow_null=True, help_text="e.g. the first offending ids")


class UploadOutputSerializer(serializers.Serializer):
    """A sponsor's upload: `processing` until its check has finished, then `ready` (in force)
    or `rejected` (with `error`)."""

    id = serializers.IntegerField()
    url = serializers.SerializerMethodField(help_text="where to poll this upload's state")
    tournament = serializers.CharField(source="tournament.slug")
    kind = serializers.ChoiceField(choices=UploadKind.choices)
    round = serializers.IntegerField(source="round.number", allow_null=True, default=None)
    day = serializers.IntegerField(allow_null=True, help_text="targets: the score day")
    filename = serializers.CharField()
    size_bytes = serializers.IntegerField()
    cid = serializers.CharField(help_text="content id (CIDv1, sha2-256) of the file's bytes")
    state = serializers.ChoiceField(choices=UploadState.choices)
    error = serializers.SerializerMethodField(help_text="why it was rejected; null otherwise")
    rows = serializers.IntegerField(allow_null=True, help_text="once ready")
    dataset = DatasetOutputSerializer(
        allow_null=True,
        help_text="data files: the version it became once ready (null for targets, and once "
        "a later upload replaced a scheduled round's live data)",
    )
    attempts = serializers.IntegerField(help_text="checks started so far")
    created_at = serializers.DateTimeField()
    checked_at = serializers.DateTimeField(allow_null=True, help_text="when it became ready or rejected")

    def get_url(self, upload: SponsorUpload) -> str:
        return upload_url(upload, self.context.get("request"))

    @extend_schema_field(UploadErrorSerializer(allow_null=True))
    def get_error(self, upload: SponsorUpload) -> dict | None:
        if upload.state != UploadState.REJECTED:
            return None
        return {
            "code": upload.error_code,
            "message": upload.error_message,
            "details": upload.error_details,
        }


def upload_url(upload: SponsorUpload, request=None) -> str:
    path = reverse("api-upload", kwargs={"slug": upload.tournament.slug, "upload_id": upload.id})
    return request.build_absolute_uri(path) if request is not None else path


class ModelOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    tournament = serializers.CharField(source="tournament.slug")
    owner = serializers.CharField(source="owner.username")
    stake = WeiField()
    stake_tokens = TokensField(source="stake")
    created_at = serializers.DateTimeField()
