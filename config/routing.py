from django.urls import path

from tournaments.consumers import LeaderboardConsumer

websocket_urlpatterns = [
    path("ws/tournaments/<slug:slug>/leaderboard/", LeaderboardConsumer.as_asgi()),
]
