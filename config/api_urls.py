"""REST API routes under /api/."""

from django.urls import path

urlpatterns: list = []
