"""DRF authentication by `Authorization: Bearer arena_…` (or `Token arena_…`) API keys."""

from rest_framework import authentication, exceptions

from accounts.models import ApiKey
from accounts.services import api_key_touch, hash_api_key


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keywords = ("bearer", "token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "malformed Authorization header: expected 'Bearer <api key>'"
            )
        raw_key = header[1]
        try:
            # key_hash is unique: get() needs no ORDER BY, unlike first()
            api_key = ApiKey.objects.select_related("user").get(key_hash=hash_api_key(raw_key))
        except ApiKey.DoesNotExist:
            raise exceptions.AuthenticationFailed("invalid API key") from None
        if not api_key.is_active:
            raise exceptions.AuthenticationFailed("this API key was revoked")
        if not api_key.user.is_active:
            raise exceptions.AuthenticationFailed("this account is disabled")
        api_key_touch(api_key=api_key)
        return (api_key.user, api_key)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
