"""One error shape for the whole API: {"error": {"code", "message", "details"}}."""

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from tournaments.errors import ArenaError


def _flatten(detail) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{k}: {_flatten(v)}" for k, v in detail.items())
    if isinstance(detail, list):
        return "; ".join(_flatten(v) for v in detail)
    return str(detail)


def api_exception_handler(exc, context):
    if isinstance(exc, ArenaError):
        return Response(
            {"error": {"code": exc.code, "message": exc.message, "details": exc.details}},
            status=exc.status,
        )
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        code, details = "invalid", exc.detail
    else:
        code = getattr(exc, "default_code", "error")
        details = None
    if isinstance(exc, exceptions.Throttled):
        code = "throttled"
    message = _flatten(exc.detail) if hasattr(exc, "detail") else str(exc)
    response.data = {"error": {"code": code, "message": message, "details": details}}
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        response.data["error"]["code"] = "unauthorized"
    return response
