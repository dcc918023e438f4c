"""DRF authentication by `Authorization: Bearer arena_…` (or `Token arena_…`) API keys."""

from rest_framework import authentication, exceptions

from accounts.selectors import api_key_with_user
from accounts.services import api_key_touch, hash_api_key

KEYWORDS = ("bearer", "token")


def bearer_key(request) -> str | None:
    """The raw key of `Authorization: Bearer <key>` (or `Token <key>`); None without one or
    when the header is malformed."""
    header = authentication.get_authorization_header(request).decode("latin-1").split()
    if len(header) != 2 or header[0].lower() not in KEYWORDS:
        return None
    return header[1]


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in KEYWORDS:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "malformed Authorization header: expected 'Bearer <api key>'"
            )
        raw_key = header[1]
        api_key = api_key_with_user(hash_api_key(raw_key))
        if api_key is None:
            raise exceptions.AuthenticationFailed("invalid API key")
        if not api_key.is_active:
            raise exceptions.AuthenticationFailed("this API key was revoked")
        if not api_key.user.is_active:
            raise exceptions.AuthenticationFailed("this account is disabled")
        api_key_touch(api_key=api_key)
        return (api_key.user, api_key)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
