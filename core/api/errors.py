"""One error shape for the whole API: {"error": {"code", "message", "details"}}."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler, set_rollback

from core.errors import ArenaError

NOT_AUTHENTICATED = (
    "authentication required: send 'Authorization: Bearer <api key>' or log in to the site"
)


def _flatten(detail, path: str = "") -> str:
    """DRF error details as one line: `schedule.round_interval: …; scopes[0]: …`."""
    if isinstance(detail, dict):
        parts = []
        for key, value in detail.items():
            if isinstance(key, int):
                sub = f"{path}[{key}]"
            elif key == api_settings.NON_FIELD_ERRORS_KEY:
                sub = path
            else:
                sub = f"{path}.{key}" if path else str(key)
            parts.append(_flatten(value, sub))
        return "; ".join(parts)
    if isinstance(detail, list):
        return "; ".join(_flatten(v, path) for v in detail)
    return f"{path}: {detail}" if path else str(detail)


def _error(code: str, message: str, details, status_code: int) -> Response:
    set_rollback()
    return Response(
        {"error": {"code": code, "message": message, "details": details}}, status=status_code
    )


def api_exception_handler(exc, context):
    if isinstance(exc, ArenaError):
        return _error(exc.code, exc.message, exc.details, exc.status)
    if isinstance(exc, DjangoValidationError):
        # Raised by services outside tournaments (e.g. accounts.services.api_key_create).
        return _error("invalid", "; ".join(exc.messages), None, status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RequestDataTooBig):
        return _error("too_large", str(exc), None, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        code, details = "invalid", exc.detail
    else:
        code = getattr(exc, "default_code", "error")
        details = None
    if isinstance(exc, exceptions.PermissionDenied):
        code = "forbidden"  # the same code services use (core.errors.NotAllowed)
    if isinstance(exc, exceptions.Throttled):
        code = "throttled"
        details = {"retry_after_seconds": exc.wait}
    message = _flatten(exc.detail) if hasattr(exc, "detail") else str(exc)
    if isinstance(exc, exceptions.NotAuthenticated):
        message = NOT_AUTHENTICATED
    response.data = {"error": {"code": code, "message": message, "details": details}}
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        response.data["error"]["code"] = "unauthorized"
    return response
