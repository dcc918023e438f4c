"""Rounds: list and detail (frozen rules, transitions, counts, scores, payouts)."""

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.tools import ListApiMixin, TokensField, WeiField, operation, paginated_response
from tournaments import selectors
from tournaments.apis.common import (
    TAG_ROUNDS,
    DatasetOutputSerializer,
    RoundOutputSerializer,
    get_round,
    get_tournament,
)
from tournaments.models import RoundState


class RoundListApi(ListApiMixin, APIView):
    class OutputSerializer(RoundOutputSerializer):
        submissions = serializers.IntegerField(source="n_submissions", help_text="uploads, all")
        valid_submissions = serializers.IntegerField(source="n_valid", help_text="counted at close")
        models = serializers.IntegerField(source="n_models", help_text="models that uploaded")

    @operation(
        summary="List a tournament's rounds",
        tags=TAG_ROUNDS,
        auth="none (public)",
        responses=OutputSerializer(many=True),
        errors=[404],
        description="Newest first, including the next scheduled round.",
    )
    def get(self, request: Request, slug: str) -> Response:
        tournament = get_tournament(slug)
        return paginated_response(
            view=self,
            request=request,
            items=selectors.rounds_with_counts(tournament=tournament),
            serializer_class=self.OutputSerializer,
        )


class FrozenRulesSerializer(serializers.Serializer):
    payout_threshold = WeiField()
    payout_threshold_tokens = TokensField(source="payout_threshold")
    corr_multiplier = serializers.FloatField()
    mmc_multiplier = serializers.FloatField()
    payout_cap = serializers.FloatField()
    score_days = serializers.IntegerField()


class TransitionSerializer(serializers.Serializer):
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    at = serializers.DateTimeField()
    detail = serializers.CharField()


class RoundCountsSerializer(serializers.Serializer):
    submissions = serializers.IntegerField(help_text="uploads, all")
    valid_submissions = serializers.IntegerField(help_text="counted at close")
    models = serializers.IntegerField(help_text="models that uploaded")


class ScoreDaySerializer(serializers.Serializer):
    day = serializers.IntegerField()
    meta_corr = serializers.FloatField()
    n_models = serializers.IntegerField()
    computed_at = serializers.DateTimeField()


class RoundScoreSerializer(serializers.Serializer):
    model_id = serializers.IntegerField()
    model = serializers.CharField(source="model.name")
    owner = serializers.CharField(source="model.owner.username")
    day = serializers.IntegerField()
    corr = serializers.FloatField()
    mmc = serializers.FloatField()


class PayoutSerializer(serializers.Serializer):
    model_id = serializers.IntegerField()
    model = serializers.CharField(source="model.name")
    owner = serializers.CharField(source="model.owner.username")
    stake_at_risk = WeiField()
    stake_at_risk_tokens = TokensField(source="stake_at_risk")
    corr = serializers.FloatField()
    mmc = serializers.FloatField()
    payout_factor = serializers.FloatField()
    amount = WeiField(help_text="positive: reward; negative: burn")
    amount_tokens = TokensField(source="amount")
    state = serializers.CharField()
    settled_at = serializers.DateTimeField(allow_null=True)


class RoundTargetSerializer(serializers.Serializer):
    day = serializers.IntegerField()
    cid = serializers.CharField(help_text="content id of the target file")
    rows = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class RoundDetailApi(APIView):
    class OutputSerializer(RoundOutputSerializer):
        tournament = serializers.CharField(source="tournament.slug")
        rules = FrozenRulesSerializer(allow_null=True, help_text="frozen when the round opened")
        transitions = TransitionSerializer(many=True)
        counts = RoundCountsSerializer()
        mean_corr = serializers.FloatField(allow_null=True, help_text="mean CORR, latest day")
        score_days = ScoreDaySerializer(many=True, help_text="the meta-model per score day")
        live_dataset = DatasetOutputSerializer(
            allow_null=True,
            help_text="once the round opens (always live data whose check passed: a round "
            "opens only on live data that is ready)",
        )
        targets = RoundTargetSerializer(
            many=True,
            help_text="the score days' targets in force (files whose check passed; a day is "
            "scored only against one). The sponsor sees uploads still being checked or "
            "rejected at `GET /api/tournaments/{slug}/uploads?round=N`",
        )
        scores = RoundScoreSerializer(many=True, help_text="each model's latest score day")
        payouts = PayoutSerializer(many=True, help_text="once the round is resolved")
        public_key = serializers.CharField(
            allow_null=True,
            help_text="the round's X25519 public key (64 hex digits) to seal predictions to; "
            "from the moment the round opens",
        )
        private_key = serializers.CharField(
            allow_null=True,
            help_text="the round's X25519 private key (64 hex digits), published once the round "
            "resolves so anyone can open the envelopes and re-check the scoring",
        )
        commitments_root = serializers.CharField(
            allow_null=True,
            help_text="0x + Merkle root over the counted envelopes, fixed at close",
        )
        commitments_count = serializers.IntegerField(
            allow_null=True, help_text="distinct envelopes under the root"
        )

    @operation(
        summary="Read a round",
        tags=TAG_ROUNDS,
        auth="none (public)",
        responses=OutputSerializer,
        errors=[404],
        description="State and times, the rules frozen at open, every transition with its "
        "time, submission counts, the meta-model's CORR per score day, and once scored each "
        "model's latest scores (payouts once resolved), and the score days' targets in force. "
        "Encryption: `public_key` from open, "
        "`commitments_root` from close, `private_key` once resolved.",
    )
    def get(self, request: Request, slug: str, number: int) -> Response:
        round = get_round(get_tournament(slug), number)
        page = selectors.round_page(round=round)
        data = {name: getattr(round, name) for name in RoundOutputSerializer().fields} | {
            "tournament": round.tournament,
            "rules": round.rules or None,
            "transitions": page["transitions"],
            "counts": {
                "submissions": page["summary"]["submissions"],
                "valid_submissions": page["summary"]["valid_submissions"],
                "models": page["n_models"],
            },
            "mean_corr": page["summary"]["mean_corr"],
            "score_days": page["score_days"],
            # A scheduled round's live data stays the sponsor's until the round opens.
            "live_dataset": page["live_dataset"] if round.state != RoundState.SCHEDULED else None,
            "targets": page["targets"],
            "scores": page["scores"],
            "payouts": page["payouts"],
        } | page["encryption"]
        return Response(self.OutputSerializer(data, context={"request": request}).data)
