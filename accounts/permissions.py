"""Scope checks: a key only does what its scopes allow; a browser session may do everything."""

from rest_framework.permissions import BasePermission

from accounts.models import ApiKey


def request_has_scope(request, scope: str) -> bool:
    if not (request.user and request.user.is_authenticated):
        return False
    if isinstance(request.auth, ApiKey):
        return request.auth.has_scope(scope)
    return True  # session-authenticated users act as themselves with full rights


class ScopePermission(BasePermission):
    """Use as `permission_classes = [HasScope("submit")]`."""

    scope = "read"

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            self.message = "authentication required: send 'Authorization: Bearer <api key>'"
            return False
        if not request_has_scope(request, self.scope):
            self.message = f"this API key lacks the '{self.scope}' scope"
            return False
        return True


def HasScope(scope: str) -> type[ScopePermission]:  # noqa: N802 - reads like a class in lists
    return type(f"HasScope_{scope}", (ScopePermission,), {"scope": scope})
