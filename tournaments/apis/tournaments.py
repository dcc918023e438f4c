"""Tournaments: list, create, read, edit, leaderboard."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import HasScope
from core.api.tools import (
    ListApiMixin,
    SecondsField,
    TokenAmountField,
    TokensField,
    WeiField,
    operation,
    paginated_response,
)
from tournaments import selectors
from tournaments.apis.common import (
    TAG_TOURNAMENTS,
    RoundOutputSerializer,
    TournamentOutputSerializer,
    get_tournament,
)
from tournaments.models import TournamentState
from tournaments.services.tournaments import (
    MAX_SCORE_DAYS,
    tournament_create,
    tournament_update,
)


class ScheduleInputSerializer(serializers.Serializer):
    first_round_at = serializers.DateTimeField(required=False)
    round_interval = SecondsField(required=False)
    submission_window = SecondsField(required=False)
    resolution_lag = SecondsField(required=False)
    # Magnitude only, as SecondsField does: the sign is the service's to word ("score_days
    # must be at least 1"); past the bound a DEX horizon (score_days × score_day_interval)
    # overflows timedelta and the column (a small integer) overflows on PostgreSQL.
    score_days = serializers.IntegerField(
        required=False, min_value=-MAX_SCORE_DAYS, max_value=MAX_SCORE_DAYS
    )
    score_day_interval = SecondsField(required=False)


class RulesInputSerializer(serializers.Serializer):
    payout_threshold_tokens = TokenAmountField(required=False)
    corr_multiplier = serializers.FloatField(required=False)
    mmc_multiplier = serializers.FloatField(required=False)
    payout_cap = serializers.FloatField(required=False)
    pnl_multiplier = serializers.FloatField(required=False, help_text="DEX tournaments only")


def _service_fields(validated: dict) -> dict:
    """Nested API input → the flat keyword arguments the tournament services take."""
    fields = {k: v for k, v in validated.items() if k not in ("schedule", "rules", "reward_pool_tokens")}
    fields.update(validated.get("schedule", {}))
    rules = dict(validated.get("rules", {}))
    if "payout_threshold_tokens" in rules:
        rules["payout_threshold"] = rules.pop("payout_threshold_tokens")
    fields.update(rules)
    if "reward_pool_tokens" in validated:
        fields["reward_pool"] = validated["reward_pool_tokens"]
    return fields


class TournamentListApi(ListApiMixin, APIView):
    @operation(
        summary="List tournaments",
        tags=TAG_TOURNAMENTS,
        auth="none (public)",
        responses=TournamentOutputSerializer(many=True),
        description="Active and paused tournaments, by name.",
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            view=self,
            request=request,
            items=selectors.tournament_list(),
            serializer_class=TournamentOutputSerializer,
        )


class TournamentCreateApi(APIView):
    permission_classes = [HasScope("sponsor")]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120)
        slug = serializers.SlugField(max_length=60, required=False, help_text="default: from the name")
        description = serializers.CharField(required=False, allow_blank=True)
        token_symbol = serializers.CharField(max_length=12, required=False)
        reward_pool_tokens = TokenAmountField(required=False)
        schedule = ScheduleInputSerializer(required=False)
        rules = RulesInputSerializer(required=False)

    @operation(
        summary="Create a tournament",
        tags=TAG_TOURNAMENTS,
        auth="scope `sponsor`; the caller becomes the sponsor",
        request=InputSerializer,
        responses={201: TournamentOutputSerializer},
        errors=[400, 401, 403, 409],
        description="Durations are whole seconds; token amounts are decimal strings of tokens. "
        "Then upload training data (`POST …/datasets`) and each round's live data.",
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tournament = tournament_create(sponsor=request.user, **_service_fields(serializer.validated_data))
        return Response(TournamentOutputSerializer(tournament).data, status=status.HTTP_201_CREATED)


class TournamentDetailApi(APIView):
    class OutputSerializer(TournamentOutputSerializer):
        current_round = RoundOutputSerializer(allow_null=True, help_text="the open round")
        next_round = RoundOutputSerializer(allow_null=True, help_text="the next scheduled round")
        n_models = serializers.IntegerField()

    @operation(
        summary="Read a tournament",
        tags=TAG_TOURNAMENTS,
        auth="none (public)",
        responses=OutputSerializer,
        errors=[404],
    )
    def get(self, request: Request, slug: str) -> Response:
        tournament = get_tournament(slug)
        page = selectors.tournament_page(tournament=tournament, now=timezone.now())
        tournament.current_round = page["current_round"]
        tournament.next_round = page["next_round"]
        tournament.n_models = page["n_models"]
        return Response(self.OutputSerializer(tournament).data)


class TournamentUpdateApi(APIView):
    permission_classes = [HasScope("sponsor")]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120, required=False)
        description = serializers.CharField(required=False, allow_blank=True)
        state = serializers.ChoiceField(choices=TournamentState.choices, required=False)
        token_symbol = serializers.CharField(max_length=12, required=False)
        reward_pool_tokens = TokenAmountField(required=False)
        schedule = ScheduleInputSerializer(required=False)
        rules = RulesInputSerializer(required=False)

    @operation(
        summary="Edit a tournament",
        tags=TAG_TOURNAMENTS,
        auth="scope `sponsor`, and only the tournament's own sponsor",
        request=InputSerializer,
        responses=TournamentOutputSerializer,
        errors=[400, 401, 403, 404],
        description="Send only the fields to change. Rules already frozen onto opened rounds "
        "do not change.",
    )
    def patch(self, request: Request, slug: str) -> Response:
        tournament = get_tournament(slug)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tournament = tournament_update(
            tournament=tournament, by=request.user, **_service_fields(serializer.validated_data)
        )
        return Response(TournamentOutputSerializer(tournament).data)


class LeaderboardApi(ListApiMixin, APIView):
    class FilterSerializer(serializers.Serializer):
        metric = serializers.ChoiceField(
            choices=["corr", "mmc", "payout", "pnl"], default="corr",
            help_text="pnl: the P&L contribution (DEX tournaments)",
        )
        rounds = serializers.IntegerField(min_value=1, max_value=100, default=4)

    class OutputSerializer(serializers.Serializer):
        rank = serializers.IntegerField()
        model_id = serializers.IntegerField()
        model = serializers.CharField()
        owner = serializers.CharField()
        stake = WeiField()
        stake_tokens = TokensField(source="stake")
        score = serializers.FloatField(help_text="mean of the metric over the rounds counted")
        rounds = serializers.IntegerField(help_text="rounds counted for this model")

    @operation(
        summary="Leaderboard",
        tags=TAG_TOURNAMENTS,
        auth="none (public)",
        responses=OutputSerializer(many=True),
        errors=[400, 404],
        parameters=[
            OpenApiParameter("metric", str, enum=["corr", "mmc", "payout"],
                             description="rank by CORR, MMC or payout/stake (default corr)"),
            OpenApiParameter("rounds", int, description="the last N scored rounds (default 4)"),
        ],
        description="Models ranked by the mean of a score over the last N scored rounds; "
        "each round contributes its latest score day.",
    )
    def get(self, request: Request, slug: str) -> Response:
        tournament = get_tournament(slug)
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        rows = selectors.leaderboard(
            tournament=tournament,
            metric=filters.validated_data["metric"],
            last_n=filters.validated_data["rounds"],
        )
        return paginated_response(
            view=self, request=request, items=rows, serializer_class=self.OutputSerializer
        )
