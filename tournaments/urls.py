"""Site pages (the REST API lives under /api/, see config/api_urls.py)."""

from django.urls import path

from tournaments import views

urlpatterns = [
    path("", views.home, name="home"),
    path("tournaments/", views.tournament_list, name="tournament-list"),
    path("tournaments/new/", views.tournament_create, name="tournament-create"),
    path("tournaments/<slug:slug>/", views.tournament_detail, name="tournament-detail"),
    path("tournaments/<slug:slug>/leaderboard/", views.leaderboard, name="leaderboard"),
    path("tournaments/<slug:slug>/rounds/<int:number>/", views.round_detail, name="round-detail"),
    path("tournaments/<slug:slug>/models/<slug:name>/", views.model_profile, name="model-profile"),
    path(
        "tournaments/<slug:slug>/data/<int:dataset_id>/",
        views.dataset_download,
        name="dataset-download",
    ),
    path(
        "tournaments/<slug:slug>/dashboard/",
        views.tournament_dashboard,
        name="tournament-dashboard",
    ),
    path(
        "tournaments/<slug:slug>/dashboard/data/",
        views.dashboard_dataset_upload,
        name="dashboard-dataset-upload",
    ),
    path(
        "tournaments/<slug:slug>/dashboard/live/",
        views.dashboard_live_upload,
        name="dashboard-live-upload",
    ),
    path(
        "tournaments/<slug:slug>/dashboard/targets/",
        views.dashboard_target_upload,
        name="dashboard-target-upload",
    ),
    path("me/models/", views.my_models, name="my-models"),
    path("me/models/new/", views.my_model_create, name="my-model-create"),
    path("me/models/<int:pk>/", views.my_model, name="my-model"),
    path("me/models/<int:pk>/predictions/", views.my_model_upload, name="my-model-upload"),
    path("me/models/<int:pk>/stake/", views.my_model_stake, name="my-model-stake"),
    path("me/models/<int:pk>/release/", views.my_model_release, name="my-model-release"),
]
