"""REST API of DEX tournaments: create one, read its market, read a round's P&L.

Thin views: validate with a serializer, call one service or selector, render."""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import HasScope
from chain.dex.twap import DEFAULT_TWAP_BLOCKS, MAX_TWAP_BLOCKS
from core.api.tools import TokenAmountField, operation
from core.errors import NotFound
from dex.models import DEFAULT_FEATURE_WINDOWS
from dex.selectors import market_facts, market_of, round_pnl_facts, round_pnl_series
from dex.services.markets import TradingRules, UniverseToken, dex_tournament_create
from tournaments.apis.common import TournamentOutputSerializer, get_tournament
from tournaments.apis.tournaments import (
    RulesInputSerializer,
    ScheduleInputSerializer,
    _service_fields,
)
from tournaments.models import Round

TAG_DEX = ["DEX tournaments"]


class TokenInputSerializer(serializers.Serializer):
    symbol = serializers.CharField(max_length=12, help_text="the id modelers predict")
    token = serializers.CharField(max_length=42, help_text="the token's address")


class MarketOutputSerializer(serializers.Serializer):
    quote_token = serializers.CharField()
    quote_symbol = serializers.CharField()
    factory = serializers.CharField()
    router = serializers.CharField()
    vault = serializers.CharField()
    keeper = serializers.CharField()
    capital = serializers.CharField(help_text="quote base units")
    tilt = serializers.FloatField()
    era_seconds = serializers.IntegerField()
    history_eras = serializers.IntegerField()
    feature_windows = serializers.ListField(child=serializers.IntegerField())
    slippage_bps = serializers.IntegerField()
    max_attempts = serializers.IntegerField()
    twap_blocks = serializers.IntegerField(
        help_text="prices are time-weighted averages over this many blocks before the block read"
    )
    tokens = TokenInputSerializer(many=True)
    trading_halted = serializers.BooleanField()


class DexTournamentCreateApi(APIView):
    permission_classes = [HasScope("sponsor")]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120)
        slug = serializers.SlugField(max_length=60, required=False)
        description = serializers.CharField(required=False, allow_blank=True)
        token_symbol = serializers.CharField(max_length=12, required=False)
        reward_pool_tokens = TokenAmountField(required=False)
        schedule = ScheduleInputSerializer(required=False)
        rules = RulesInputSerializer(required=False)
        quote_token = serializers.CharField(max_length=42)
        quote_symbol = serializers.CharField(max_length=12)
        factory = serializers.CharField(max_length=42, help_text="a V2 factory holding the pools")
        router = serializers.CharField(max_length=42, help_text="the router the vault trades through")
        tokens = TokenInputSerializer(many=True, help_text="5 to 128 tokens, each with a pool against the quote")
        capital = serializers.IntegerField(min_value=1, help_text="trading capital, quote base units")
        tilt = serializers.FloatField(required=False, default=0.5)
        era_seconds = serializers.IntegerField(required=False, default=60)
        history_eras = serializers.IntegerField(required=False, default=120)
        feature_windows = serializers.ListField(
            child=serializers.IntegerField(), required=False, default=DEFAULT_FEATURE_WINDOWS
        )
        slippage_bps = serializers.IntegerField(required=False, default=50)
        max_attempts = serializers.IntegerField(required=False, default=3)
        twap_blocks = serializers.IntegerField(
            required=False, default=DEFAULT_TWAP_BLOCKS, min_value=1, max_value=MAX_TWAP_BLOCKS,
            help_text="marks, day targets, P&L and trade limits price each pool at its time-weighted "
            "average over this many blocks, so that one block's price cannot move them",
        )
        keeper = serializers.CharField(max_length=42, required=False, help_text="default: the platform's key")
        history_from_block = serializers.IntegerField(required=False, min_value=0)

    @operation(
        summary="Create a DEX tournament",
        tags=TAG_DEX,
        auth="scope `sponsor`; the caller becomes the sponsor",
        request=InputSerializer,
        responses={201: TournamentOutputSerializer},
        errors=[400, 401, 403, 409],
        description="Every token needs a pool against the quote token on `factory`. The platform "
        "deploys the tournament's vault; on a dev chain it also mints and deposits the capital, "
        "elsewhere the sponsor deposits it. Rounds are scheduled and their data built from the pools "
        "by the platform; a round must resolve before the next one closes.",
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        market_keys = ("quote_token", "quote_symbol", "factory", "router", "keeper", "history_from_block")
        market = {k: data.pop(k) for k in market_keys if k in data}
        rules = TradingRules(
            capital=data.pop("capital"),
            tilt=data.pop("tilt"),
            era_seconds=data.pop("era_seconds"),
            history_eras=data.pop("history_eras"),
            feature_windows=tuple(data.pop("feature_windows")),
            slippage_bps=data.pop("slippage_bps"),
            max_attempts=data.pop("max_attempts"),
            twap_blocks=data.pop("twap_blocks"),
        )
        tokens = [UniverseToken(t["symbol"], t["token"]) for t in data.pop("tokens")]
        tournament = dex_tournament_create(
            sponsor=request.user, tokens=tokens, rules=rules, now=timezone.now(), **market,
            **_service_fields(data),
        )
        return Response(TournamentOutputSerializer(tournament).data, status=status.HTTP_201_CREATED)


class DexMarketApi(APIView):
    @operation(
        summary="Read a DEX tournament's market",
        tags=TAG_DEX,
        auth="none (public)",
        responses=MarketOutputSerializer,
        errors=[404],
    )
    def get(self, request: Request, slug: str) -> Response:
        market = market_of(tournament=get_tournament(slug))
        if market is None:
            raise NotFound(f"tournament {slug!r} is not a DEX tournament")
        return Response(MarketOutputSerializer(market_facts(market=market)).data)


class MarkSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    block = serializers.IntegerField()
    day = serializers.IntegerField(allow_null=True, help_text="the score day whose target this mark gave")
    value = serializers.CharField(help_text="vault value at mid, quote base units")
    pnl = serializers.CharField(help_text="value − value at the round's opening marks")
    portfolio_return = serializers.FloatField()
    benchmark_return = serializers.FloatField(help_text="equal weights bought at the opening marks")
    excess_return = serializers.FloatField()


class RoundPnlApi(APIView):
    class OutputSerializer(serializers.Serializer):
        book = serializers.DictField(allow_null=True, help_text="weights, rebalance and latest mark")
        marks = MarkSerializer(many=True)

    @operation(
        summary="Read a DEX round's P&L",
        tags=TAG_DEX,
        auth="none (public)",
        responses=OutputSerializer,
        errors=[404],
    )
    def get(self, request: Request, slug: str, number: int) -> Response:
        tournament = get_tournament(slug)
        if market_of(tournament=tournament) is None:
            raise NotFound(f"tournament {slug!r} is not a DEX tournament")
        rnd = get_object_or_404(Round, tournament=tournament, number=number)
        return Response({"book": round_pnl_facts(round=rnd), "marks": round_pnl_series(round=rnd)})
