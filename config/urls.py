from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from tournaments.apis.docs import api_docs

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Rendered on the server: drf-spectacular's Redoc/Swagger pages need a CDN.
    path("api/docs/", api_docs, name="api-docs"),
    path("api/", include("config.api_urls")),
    path("accounts/", include("accounts.urls")),
    path("", include("dex.urls")),  # the DEX kind's pages (before tournaments' slug routes)
    path("", include("tournaments.urls")),
]
