"""Websocket routes (config/asgi.py wraps them in origin validation and session auth)."""

from django.urls import path, re_path

from live.consumers import LeaderboardConsumer, NoStreamConsumer, RoundConsumer

websocket_urlpatterns = [
    path("ws/tournaments/<slug:slug>/leaderboard/", LeaderboardConsumer.as_asgi()),
    path("ws/tournaments/<slug:slug>/rounds/<int:number>/", RoundConsumer.as_asgi()),
    re_path(r"^", NoStreamConsumer.as_asgi()),
]
