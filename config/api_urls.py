"""REST API routes under /api/ (no trailing slashes). The docs are at /api/docs/."""

from django.urls import include, path, re_path

from accounts.apis import ApiKeyCreateApi, ApiKeyListApi, ApiKeyRevokeApi, MeApi
from core.api.tools import api_not_found, methods_view
from tournaments.apis.datasets import (
    DatasetDownloadApi,
    DatasetListApi,
    DatasetUploadApi,
    RoundLiveDataUploadApi,
    RoundTargetUploadApi,
    UploadDetailApi,
    UploadListApi,
)
from tournaments.apis.model_slots import (
    ModelCreateApi,
    ModelDetailApi,
    ModelListApi,
    ModelScoreListApi,
    ModelStakeDepositApi,
    ModelStakeReleaseApi,
)
from tournaments.apis.platform import PlatformDetailApi
from tournaments.apis.rounds import RoundDetailApi, RoundListApi
from tournaments.apis.submissions import (
    SubmissionListApi,
    SubmissionProofApi,
    SubmissionUploadApi,
)
from tournaments.apis.tournaments import (
    LeaderboardApi,
    TournamentCreateApi,
    TournamentDetailApi,
    TournamentListApi,
    TournamentUpdateApi,
)

ROUND = "tournaments/<slug:slug>/rounds/<int:number>"
MODEL = "models/<int:model_id>"

urlpatterns = [
    # Account
    path("me", MeApi.as_view(), name="api-me"),
    path("keys", methods_view(get=ApiKeyListApi, post=ApiKeyCreateApi), name="api-keys"),
    path("keys/<str:prefix>", ApiKeyRevokeApi.as_view(), name="api-key"),
    # Tournaments
    path(
        "tournaments",
        methods_view(get=TournamentListApi, post=TournamentCreateApi),
        name="api-tournaments",
    ),
    path(
        "tournaments/<slug:slug>",
        methods_view(get=TournamentDetailApi, patch=TournamentUpdateApi),
        name="api-tournament",
    ),
    path(
        "tournaments/<slug:slug>/leaderboard", LeaderboardApi.as_view(), name="api-leaderboard"
    ),
    path("", include("dex.api_urls")),  # the DEX kind's routes
    # Rounds
    path("tournaments/<slug:slug>/rounds", RoundListApi.as_view(), name="api-rounds"),
    path(ROUND, RoundDetailApi.as_view(), name="api-round"),
    path(f"{ROUND}/live-data", RoundLiveDataUploadApi.as_view(), name="api-round-live-data"),
    path(
        f"{ROUND}/targets/<int:day>", RoundTargetUploadApi.as_view(), name="api-round-target"
    ),
    # Data
    path(
        "tournaments/<slug:slug>/datasets",
        methods_view(get=DatasetListApi, post=DatasetUploadApi),
        name="api-datasets",
    ),
    path("tournaments/<slug:slug>/uploads", UploadListApi.as_view(), name="api-uploads"),
    path(
        "tournaments/<slug:slug>/uploads/<int:upload_id>",
        UploadDetailApi.as_view(),
        name="api-upload",
    ),
    path(
        "datasets/<int:dataset_id>/download",
        DatasetDownloadApi.as_view(),
        name="api-dataset-download",
    ),
    # Models, stakes, submissions, scores
    path("models", methods_view(get=ModelListApi, post=ModelCreateApi), name="api-models"),
    path(MODEL, ModelDetailApi.as_view(), name="api-model"),
    path(f"{MODEL}/stake", ModelStakeDepositApi.as_view(), name="api-model-stake"),
    path(f"{MODEL}/release", ModelStakeReleaseApi.as_view(), name="api-model-release"),
    path(
        f"{MODEL}/submissions",
        methods_view(get=SubmissionListApi, post=SubmissionUploadApi),
        name="api-model-submissions",
    ),
    path(
        f"{MODEL}/submissions/<int:submission_id>/proof",
        SubmissionProofApi.as_view(),
        name="api-submission-proof",
    ),
    path(f"{MODEL}/scores", ModelScoreListApi.as_view(), name="api-model-scores"),
    # Platform keys and formats
    path("platform", PlatformDetailApi.as_view(), name="api-platform"),
    # Anything else under /api/: a 404 in the API's error shape, not the site's HTML page.
    # (?s): a path with an encoded newline (%0A) is "anything else" too.
    re_path(r"^(?P<unmatched>(?s:.*))$", api_not_found),
]
