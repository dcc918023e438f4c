"""Models: mine, register, public profile, stake and release, scores."""

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import HasScope
from core.api.tools import (
    ListApiMixin,
    TokenAmountField,
    TokensField,
    WeiField,
    operation,
    paginated_response,
)
from tournaments import selectors
from tournaments.apis.common import TAG_MODELS, ModelOutputSerializer, get_model, get_tournament
from tournaments.services.model_slots import model_create, stake_deposit, stake_release


class ModelListApi(ListApiMixin, APIView):
    permission_classes = [HasScope("read")]

    class FilterSerializer(serializers.Serializer):
        tournament = serializers.SlugField(required=False)

    @operation(
        summary="List my models",
        tags=TAG_MODELS,
        auth="scope `read`",
        responses=ModelOutputSerializer(many=True),
        errors=[400, 401, 403, 404],
        parameters=[OpenApiParameter("tournament", str, description="only this tournament's")],
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        slug = filters.validated_data.get("tournament")
        models = selectors.model_list(
            owner=request.user, tournament=get_tournament(slug) if slug else None
        )
        return paginated_response(
            view=self, request=request, items=models, serializer_class=ModelOutputSerializer
        )


class ModelCreateApi(APIView):
    permission_classes = [HasScope("submit")]

    class InputSerializer(serializers.Serializer):
        tournament = serializers.SlugField(help_text="the tournament's slug")
        name = serializers.CharField(max_length=60, help_text="lowercase letters, digits, - and _")

    @operation(
        summary="Register a model",
        tags=TAG_MODELS,
        auth="scope `submit`",
        request=InputSerializer,
        responses={201: ModelOutputSerializer},
        errors=[400, 401, 403, 404, 409],
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        model = model_create(
            owner=request.user,
            tournament=get_tournament(serializer.validated_data["tournament"]),
            name=serializer.validated_data["name"],
        )
        return Response(ModelOutputSerializer(model).data, status=status.HTTP_201_CREATED)


class ScoreHistorySerializer(serializers.Serializer):
    round = serializers.IntegerField()
    day = serializers.IntegerField(help_text="the round's latest score day")
    corr = serializers.FloatField()
    mmc = serializers.FloatField()
    payout = WeiField(allow_null=True, help_text="once the round is resolved")
    payout_tokens = TokensField(source="payout", allow_null=True)


class ModelDetailApi(APIView):
    class OutputSerializer(ModelOutputSerializer):
        stake_locked = WeiField(help_text="stake backing rounds that are not settled yet")
        stake_locked_tokens = TokensField(source="stake_locked")
        score_history = ScoreHistorySerializer(many=True, help_text="oldest round first")

    @operation(
        summary="A model's public profile",
        tags=TAG_MODELS,
        auth="none (public)",
        responses=OutputSerializer,
        errors=[404],
    )
    def get(self, request: Request, model_id: int) -> Response:
        model = get_model(model_id)
        page = selectors.model_page(model=model)
        model.stake_locked = page["stake_locked"]
        model.score_history = page["history"]
        return Response(self.OutputSerializer(model).data)


class StakeInputSerializer(serializers.Serializer):
    amount = TokenAmountField(help_text="tokens, as a decimal string, e.g. \"1.5\"")


class ModelStakeDepositApi(APIView):
    permission_classes = [HasScope("stake")]

    @operation(
        summary="Add stake",
        tags=TAG_MODELS,
        auth="scope `stake`, own models only",
        request=StakeInputSerializer,
        responses=ModelOutputSerializer,
        errors=[400, 401, 403, 404],
        description="Stake is at risk from the next round close: it is snapshotted then.",
    )
    def post(self, request: Request, model_id: int) -> Response:
        model = get_model(model_id)
        serializer = StakeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        model = stake_deposit(model=model, by=request.user, amount=serializer.validated_data["amount"])
        return Response(ModelOutputSerializer(model).data)


class ModelStakeReleaseApi(APIView):
    permission_classes = [HasScope("stake")]

    @operation(
        summary="Release stake",
        tags=TAG_MODELS,
        auth="scope `stake`, own models only",
        request=StakeInputSerializer,
        responses=ModelOutputSerializer,
        errors=[400, 401, 403, 404, 409],
        description="Only stake not backing an unsettled round can be released (409 otherwise).",
    )
    def post(self, request: Request, model_id: int) -> Response:
        model = get_model(model_id)
        serializer = StakeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        model = stake_release(model=model, by=request.user, amount=serializer.validated_data["amount"])
        return Response(ModelOutputSerializer(model).data)


class ModelScoreListApi(ListApiMixin, APIView):
    class OutputSerializer(serializers.Serializer):
        round = serializers.IntegerField(source="round.number")
        day = serializers.IntegerField()
        corr = serializers.FloatField()
        mmc = serializers.FloatField()
        fnc = serializers.FloatField(allow_null=True)
        bmc = serializers.FloatField(allow_null=True)
        computed_at = serializers.DateTimeField()

    @operation(
        summary="A model's scores, per round and score day",
        tags=TAG_MODELS,
        auth="none (public)",
        responses=OutputSerializer(many=True),
        errors=[404],
        description="Newest round and day first.",
    )
    def get(self, request: Request, model_id: int) -> Response:
        model = get_model(model_id)
        return paginated_response(
            view=self,
            request=request,
            items=selectors.scores_of_model(model=model),
            serializer_class=self.OutputSerializer,
        )
