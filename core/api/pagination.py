"""The API's pagination (its own module: DRF imports it from settings while loading)."""

from rest_framework.pagination import LimitOffsetPagination


class ApiPagination(LimitOffsetPagination):
    """`?limit=&offset=`; the default page is settings.REST_FRAMEWORK["PAGE_SIZE"]."""

    max_limit = 500
