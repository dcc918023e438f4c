"""REST API for the signed-in user and their API keys."""

from django.http import Http404
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiKey, ApiScope
from accounts.services import api_key_create, api_key_revoke
from core.api.tools import ListApiMixin, operation, paginated_response


class ApiKeySchema(OpenApiAuthenticationExtension):
    """Documents `Authorization: Bearer arena_…` in the OpenAPI schema."""

    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "arena_<prefix>_<secret>",
            "description": "An API key from /api/keys or the site's API keys page. Each key "
            "carries scopes: read, submit, stake, sponsor.",
        }


class IsBrowserSession(BasePermission):
    """Key management needs a logged-in session: a leaked key cannot mint or revoke keys."""

    message = "API keys are managed from a logged-in browser session, not with an API key"

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False  # → 401 (not authenticated)
        return not isinstance(request.auth, ApiKey)


class ApiKeyOutputSerializer(serializers.ModelSerializer):
    active = serializers.BooleanField(source="is_active", read_only=True)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ApiScope.choices))

    class Meta:
        model = ApiKey
        fields = ["prefix", "name", "scopes", "active", "created_at", "last_used_at", "revoked_at"]


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        email = serializers.CharField()
        auth = serializers.ChoiceField(
            choices=["api_key", "session"], help_text="how this request was authenticated"
        )
        scopes = serializers.ListField(
            child=serializers.ChoiceField(choices=ApiScope.choices),
            help_text="what this request may do: the key's scopes, or all for a session",
        )
        key = ApiKeyOutputSerializer(allow_null=True, help_text="the API key used, if any")

    @operation(
        summary="Who am I",
        tags=["account"],
        auth="any API key or session",
        responses=OutputSerializer,
        errors=[401],
    )
    def get(self, request: Request) -> Response:
        key = request.auth if isinstance(request.auth, ApiKey) else None
        data = {
            "id": request.user.id,
            "username": request.user.username,
            "email": request.user.email,
            "auth": "api_key" if key else "session",
            "scopes": sorted(key.scopes) if key else list(ApiScope.values),
            "key": key,
        }
        return Response(self.OutputSerializer(data).data)


class ApiKeyListApi(ListApiMixin, APIView):
    permission_classes = [IsBrowserSession]

    @operation(
        summary="List my API keys",
        tags=["account"],
        auth="browser session",
        responses=ApiKeyOutputSerializer(many=True),
        errors=[401, 403],
        description="Active and revoked keys, newest first. The secret is never shown again.",
    )
    def get(self, request: Request) -> Response:
        keys = ApiKey.objects.filter(user=request.user).order_by("-created_at", "-id")
        return paginated_response(
            view=self, request=request, items=keys, serializer_class=ApiKeyOutputSerializer
        )


class ApiKeyCreateApi(APIView):
    permission_classes = [IsBrowserSession]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        scopes = serializers.ListField(
            child=serializers.ChoiceField(choices=ApiScope.choices), allow_empty=False
        )

    class OutputSerializer(ApiKeyOutputSerializer):
        key = serializers.CharField(
            source="raw_key", help_text="the secret: shown once, store it now"
        )

        class Meta(ApiKeyOutputSerializer.Meta):
            fields = ["key", *ApiKeyOutputSerializer.Meta.fields]

    @operation(
        summary="Create an API key",
        tags=["account"],
        auth="browser session",
        request=InputSerializer,
        responses={201: OutputSerializer},
        errors=[400, 401, 403],
        description="The response is the only time the key's secret is shown.",
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = api_key_create(user=request.user, **serializer.validated_data)
        issued.api_key.raw_key = issued.raw_key
        return Response(self.OutputSerializer(issued.api_key).data, status=status.HTTP_201_CREATED)


class ApiKeyRevokeApi(APIView):
    permission_classes = [IsBrowserSession]

    @operation(
        summary="Revoke an API key",
        tags=["account"],
        auth="browser session",
        responses={200: OpenApiResponse(ApiKeyOutputSerializer, description="the revoked key")},
        errors=[401, 403, 404],
        description="Revoking is immediate and permanent; revoking twice changes nothing.",
    )
    def delete(self, request: Request, prefix: str) -> Response:
        api_key = ApiKey.objects.filter(user=request.user, prefix=prefix).first()
        if api_key is None:
            raise Http404(f"you have no API key with prefix '{prefix}'")
        api_key = api_key_revoke(api_key=api_key, by=request.user)
        return Response(ApiKeyOutputSerializer(api_key).data)
