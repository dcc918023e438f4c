"""Shared plumbing for the REST API: pagination, one-path-many-operations routing, token
amounts, upload guards and the documented error shape.

API views stay one operation per class (`<Entity><Action>Api`); `methods_view` serves several
of them on one REST path (GET list + POST create on `/api/tournaments`) without merging them.
"""

from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.pagination import ApiPagination
from core.money import MAX_WEI, TOKEN_DECIMALS, WEI_PER_TOKEN, tokens_to_wei

# --- Schema -----------------------------------------------------------------------------


class ArenaAutoSchema(AutoSchema):
    """Names components after their Api: `TournamentDetailApi.OutputSerializer` → TournamentDetail,
    `RoundListApi.OutputSerializer` → Round, `TournamentCreateApi.InputSerializer` →
    TournamentCreate(Request).

    Every Api nests its own `InputSerializer`/`OutputSerializer`, so class names alone would
    collide in the schema.
    """

    def get_serializer_name(self, serializer, direction) -> str:
        cls = serializer.__class__
        outer, _, inner = cls.__qualname__.rpartition(".")
        if not outer:
            return super().get_serializer_name(serializer, direction)
        outer = outer.split(".")[0].removesuffix("Api")
        inner = inner.removesuffix("Serializer")
        if inner == "Output":
            # RoundListApi's rows are "Round" (in "PaginatedRoundList"), not "RoundList".
            return outer.removesuffix("List")
        return outer if inner == "Input" else outer + inner


# --- Pagination --------------------------------------------------------------------------


def paginated_response(
    *,
    view: APIView,
    request: Request,
    items: Iterable | Sequence,
    serializer_class: type[serializers.BaseSerializer],
    context: dict | None = None,
) -> Response:
    """One page of `items` in the envelope {count, next, previous, results}."""
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(items, request, view=view)
    data = serializer_class(page, many=True, context=context or {"request": request}).data
    return paginator.get_paginated_response(data)


class ListApiMixin:
    """Marks an Api as a paginated list (the schema then shows the envelope and parameters)."""

    pagination_class = ApiPagination


# --- One REST path, several single-operation Apis -----------------------------------------


class _MethodRoute(APIView):
    """Delegates each HTTP method to its own Api; 405/OPTIONS are answered here.

    The operation's handler functions are copied onto this class so that the OpenAPI
    generator, which inspects one class per path, sees each operation's own schema,
    permissions, parsers and pagination.
    """

    operations: ClassVar[dict[str, type[APIView]]] = {}
    _views: ClassVar[dict[str, Callable]] = {}

    def _operation(self) -> type[APIView] | None:
        request = getattr(self, "request", None)
        method = (request.method if request is not None else "GET").lower()
        return self.operations.get("get" if method == "head" else method)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        method = request.method.lower()
        view = self._views.get("get" if method == "head" else method)
        if view is None:
            return super().dispatch(request, *args, **kwargs)
        return view(request, *args, **kwargs)

    def get_permissions(self):
        op = self._operation()
        return op().get_permissions() if op else super().get_permissions()

    def get_parsers(self):
        op = self._operation()
        return op().get_parsers() if op else super().get_parsers()

    def get_renderers(self):
        op = self._operation()
        return op().get_renderers() if op else super().get_renderers()

    @property
    def pagination_class(self):
        return getattr(self._operation(), "pagination_class", None)


def methods_view(**operations: type[APIView]) -> Callable:
    """`path("tournaments", methods_view(get=TournamentListApi, post=TournamentCreateApi))`."""
    attrs: dict[str, Any] = {
        "operations": operations,
        "_views": {method: api.as_view() for method, api in operations.items()},
        "__doc__": " / ".join(api.__name__ for api in operations.values()),
    }
    for method, api in operations.items():
        attrs[method] = getattr(api, method)
    name = "".join(api.__name__.removesuffix("Api") for api in operations.values()) + "Route"
    return type(name, (_MethodRoute,), attrs).as_view()


# --- Token amounts -----------------------------------------------------------------------


def format_tokens(wei: int | str) -> str:
    """Exact decimal token string of a wei amount: 1500000000000000000 → "1.5"."""
    wei = int(wei)  # frozen round rules keep amounts as strings
    whole, frac = divmod(abs(wei), WEI_PER_TOKEN)
    text = str(whole)
    if frac:
        text += "." + f"{frac:0{TOKEN_DECIMALS}d}".rstrip("0")
    return "-" + text if wei < 0 else text


@extend_schema_field(
    {"type": "string", "pattern": r"^-?[0-9]+$", "example": "1500000000000000000",
     "description": "integer amount of wei (10^-18 token), as a string"}
)
class WeiField(serializers.Field):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: int) -> str:
        return str(int(value))


@extend_schema_field(
    {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]{1,18})?$", "example": "1.5",
     "description": "the same amount in tokens, exact decimal string"}
)
class TokensField(serializers.Field):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: int) -> str:
        return format_tokens(value)


@extend_schema_field(
    {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]{1,18})?$", "example": "1.5",
     "description": "token amount as a decimal string (up to 18 decimals)"}
)
class TokenAmountField(serializers.Field):
    """Input: a decimal string of tokens ("1.5"); validated value: int wei."""

    default_error_messages = {
        "invalid": "'{value}' is not a token amount: send a decimal string such as \"1.5\"",
        "precision": "'{value}' has more than 18 decimals",
        "too_large": "'{value}' is more tokens than a token contract can hold",
    }

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, str | int | float):
            self.fail("invalid", value=data)
        text = str(data).strip()
        try:
            amount = Decimal(text)
        except InvalidOperation:
            self.fail("invalid", value=text)
        if not amount.is_finite() or "e" in text.lower():
            self.fail("invalid", value=text)
        try:
            wei = tokens_to_wei(amount)
        except ValueError:
            self.fail("precision", value=text)
        if abs(wei) > MAX_WEI:
            self.fail("too_large", value=text)
        return wei

    def to_representation(self, value: int) -> str:
        return format_tokens(value)


# A century: far past any schedule, and inside what timedelta (999999999 days) and the
# databases' duration columns (SQLite: 2^63 microseconds) hold, so no value overflows them.
MAX_DURATION_SECONDS = 100 * 365 * 86400


@extend_schema_field(
    {"type": "integer", "description": "duration in seconds", "example": 86400,
     "minimum": -MAX_DURATION_SECONDS, "maximum": MAX_DURATION_SECONDS}
)
class SecondsField(serializers.IntegerField):
    """A duration exchanged as whole seconds, held as a timedelta."""

    def to_internal_value(self, data: Any) -> timedelta:
        seconds = super().to_internal_value(data)
        # Signs are the services' to word ("round_interval must be positive"); the bound keeps
        # timedelta() from raising OverflowError on a huge number. (Checked here, on the int:
        # IntegerField's validators would see the timedelta.)
        if seconds > MAX_DURATION_SECONDS:
            self.fail("max_value", max_value=MAX_DURATION_SECONDS)
        if seconds < -MAX_DURATION_SECONDS:
            self.fail("min_value", min_value=-MAX_DURATION_SECONDS)
        return timedelta(seconds=seconds)

    def to_representation(self, value: timedelta) -> int:
        return int(value.total_seconds())


# --- Uploads -----------------------------------------------------------------------------

# Room for the multipart envelope and the small form fields around the file.
MULTIPART_SLACK_BYTES = 64 * 1024


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = "the request body is too large"


def refuse_oversized_body(request: Request, *, limit: int) -> None:
    """Answer 413 from the Content-Length alone, before the multipart body is spooled."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    if length > limit + MULTIPART_SLACK_BYTES:
        raise PayloadTooLarge(f"request body is {length} bytes; the file limit is {limit} bytes")


def max_prediction_bytes() -> int:
    return settings.ARENA_MAX_PREDICTION_BYTES


def max_dataset_bytes() -> int:
    return settings.ARENA_MAX_DATASET_BYTES


class FileUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)


# --- The documented error shape -----------------------------------------------------------


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="stable machine-readable code, e.g. 'round_closed'")
    message = serializers.CharField(help_text="what went wrong, for people")
    details = serializers.JSONField(
        allow_null=True, help_text="structured specifics (offending ids, problems, field errors)"
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


_ERROR_TEXT = {
    400: "invalid input",
    401: "not authenticated, or the API key is invalid or revoked",
    403: "not allowed: missing scope, or not the owner/sponsor",
    404: "not found",
    409: "conflicts with the current state (e.g. no round open)",
    413: "the upload is larger than the limit",
    415: "the body's Content-Type is none of the operation's (or is missing)",
    416: "the requested byte range is outside the file",
    429: "too many requests: a quota or rate limit is used up (the message says which)",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    return {c: OpenApiResponse(ErrorSerializer, description=_ERROR_TEXT[c]) for c in codes}


def operation(
    *,
    summary: str,
    tags: list[str],
    auth: str,
    responses: Any,
    errors: Sequence[int] = (),
    request: Any = None,
    parameters: list | None = None,
    description: str = "",
) -> Callable:
    """`extend_schema` with the error responses and the auth requirement spelled out.

    An operation that takes a body also answers 415: DRF refuses a body in a media type none
    of its parsers reads (or one sent without a Content-Type) before the view runs."""
    if request is not None:
        errors = sorted({*errors, 415})
    if isinstance(responses, dict):
        all_responses = {**responses, **error_responses(*errors)}
    else:
        all_responses = {200: responses, **error_responses(*errors)}
    return extend_schema(
        summary=summary,
        description=(f"**Auth:** {auth}\n\n{description}").strip(),
        tags=tags,
        request=request,
        responses=all_responses,
        parameters=parameters,
    )


# --- Unknown paths under /api/ ------------------------------------------------------------


@csrf_exempt
def api_not_found(request: HttpRequest, unmatched: str = "") -> HttpResponse:
    """A JSON 404 in the API's error shape for any path no endpoint matches.

    The two slash-ended pages under /api/ (docs/, schema/) are redirected to, so that
    /api/docs still finds the docs.
    """
    if request.method in ("GET", "HEAD") and not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not api_not_found:
            return HttpResponsePermanentRedirect(request.path + "/")
    return JsonResponse(
        {
            "error": {
                "code": "not_found",
                "message": f"no API endpoint at {request.path}; the endpoints are listed at /api/docs/",
                "details": None,
            }
        },
        status=404,
    )

