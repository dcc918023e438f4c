"""Sealed prediction uploads, their history with signed receipts, and inclusion proofs."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import BaseParser, FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import HasScope
from core.api.tools import (
    FileUploadSerializer,
    ListApiMixin,
    max_prediction_bytes,
    operation,
    paginated_response,
    refuse_oversized_body,
)
from core.errors import NotAllowed, NotFound
from tournaments import selectors
from tournaments.apis.common import TAG_SUBMISSIONS, get_model
from tournaments.apis.upload_lane import THROTTLED_MARK, envelope_name, sealed_upload
from tournaments.ledger import ledger
from tournaments.models import RoundState, Submission
from tournaments.services.receipts import submission_receipt
from tournaments.services.submissions import submission_upload

STATUSES = {
    "counted": "chosen at close (the last upload before close): opened after close and scored "
    "if valid (see `state`)",
    "latest": "the round is open and this is the latest upload: it counts unless replaced",
    "replaced": "a later upload to the same round replaced it",
    "not_counted": "the round closed without counting it",
}
STATES = (
    "received: stored sealed, unreadable before close; valid: opened after close, passed the "
    "rules, scored; invalid: could not be opened or broke the rules (see `error`), not scored"
)


class EnvelopeParser(BaseParser):
    """`Content-Type: application/octet-stream`: the request body is the envelope itself."""

    media_type = "application/octet-stream"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        return stream.read() if stream is not None else b""


class ReceiptSerializer(serializers.Serializer):
    """Exactly the members arena_client.receipts.Receipt signs (canonical JSON, sorted keys)."""

    cid = serializers.CharField()
    model = serializers.IntegerField(help_text="model id")
    received_at = serializers.CharField(help_text="UTC, 'YYYY-MM-DDTHH:MM:SS.ffffffZ'")
    round = serializers.IntegerField(help_text="round number")
    tournament = serializers.CharField(help_text="tournament slug")
    type = serializers.CharField(help_text="'arena.receipt.v1'")


@extend_schema_field(ReceiptSerializer)
class ReceiptField(serializers.Field):
    def __init__(self, **kwargs) -> None:
        kwargs.update(read_only=True, source="*")
        super().__init__(**kwargs)

    def to_representation(self, submission: Submission) -> dict:
        return submission_receipt(submission=submission).to_dict()


class SubmissionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    model_id = serializers.IntegerField()
    round = serializers.IntegerField(source="round.number")
    cid = serializers.CharField(help_text="content id (CIDv1, sha2-256) of the sealed envelope")
    filename = serializers.CharField()
    size_bytes = serializers.IntegerField(help_text="of the envelope")
    rows = serializers.IntegerField(help_text="known once the envelope is opened after close")
    state = serializers.CharField(help_text=STATES)
    created_at = serializers.DateTimeField(help_text="when the platform received it")
    receipt = ReceiptField(help_text="what the platform signed")
    receipt_signature = serializers.CharField(
        help_text="Ed25519 signature (128 hex digits) over the receipt's canonical JSON; the "
        "public key is GET /api/platform's `receipt_public_key`"
    )


def _envelope_from(request: Request) -> tuple[bytes, str]:
    """The uploaded envelope and its name, from a multipart `file` or a raw body."""
    if isinstance(request.data, bytes) or request.content_type.startswith(
        EnvelopeParser.media_type
    ):
        data = request.data if isinstance(request.data, bytes) else b""
        return data, envelope_name(request)
    serializer = FileUploadSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    upload = serializer.validated_data["file"]
    return upload.read(), upload.name


class SubmissionUploadApi(APIView):
    permission_classes = [HasScope("submit")]
    parser_classes = [MultiPartParser, FormParser, EnvelopeParser]

    @classmethod
    def as_view(cls, **initkwargs):
        """The full view behind upload_lane.sealed_upload, which answers the common upload
        (a raw envelope with an API key) itself and hands everything else on."""
        full_view = super().as_view(**initkwargs)

        def view(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            answered = sealed_upload(
                request, kwargs["model_id"], cls, SubmissionOutputSerializer
            )
            return answered or full_view(request, *args, **kwargs)

        view.cls, view.initkwargs = cls, initkwargs
        return csrf_exempt(view)

    def get_throttles(self):
        # A request the lane counted and then handed on (to word an error) counts once.
        return [] if getattr(self.request, THROTTLED_MARK, False) else super().get_throttles()

    @operation(
        summary="Upload sealed predictions for the open round",
        tags=TAG_SUBMISSIONS,
        auth="scope `submit`, own models only",
        request={
            "multipart/form-data": FileUploadSerializer,
            "application/octet-stream": OpenApiTypes.BINARY,
        },
        responses={201: SubmissionOutputSerializer},
        errors=[400, 401, 403, 404, 409, 413],
        description="The body is an Arena envelope: the predictions file (`id,prediction`, CSV "
        "or Parquet) sealed with HPKE to the round's `public_key` (GET the round), with `info` "
        "binding tournament slug, round number and model id (format: client/README.md). Send "
        "it as the multipart field `file`, or as the raw body with `Content-Type: "
        "application/octet-stream`. The platform cannot read it before close: it checks the "
        "envelope's header and size (400 `not_sealed` for a plaintext file, 400 "
        "`malformed_envelope`, 413 over the limit), stores it under its CID and answers with a "
        "receipt signed by the platform key. After close the counted (last) upload is opened "
        "and checked with the prediction rules; its `state` becomes `valid` or `invalid` with "
        "the reason. With no round open: 409 `round_closed` with the close time.",
    )
    def post(self, request: Request, model_id: int) -> Response:
        model = get_model(model_id, related=("tournament",))
        refuse_oversized_body(request, limit=max_prediction_bytes())
        data, filename = _envelope_from(request)
        submission = submission_upload(model=model, by=request.user, data=data, filename=filename)
        return Response(
            SubmissionOutputSerializer(submission).data, status=status.HTTP_201_CREATED
        )


class SubmissionListApi(ListApiMixin, APIView):
    permission_classes = [HasScope("read")]

    class OutputSerializer(SubmissionOutputSerializer):
        round_state = serializers.CharField(source="round.state")
        status = serializers.SerializerMethodField(
            help_text="; ".join(f"{k}: {v}" for k, v in STATUSES.items())
        )
        is_counted = serializers.BooleanField()
        error = serializers.CharField(help_text="why it is invalid (empty otherwise)")
        problems = serializers.ListField(
            child=serializers.DictField(),
            help_text="each broken rule: code, message, count, examples",
        )
        checked_at = serializers.DateTimeField(
            allow_null=True, help_text="when it was opened and checked"
        )

        def get_status(self, submission: Submission) -> str:
            if submission.is_counted:
                return "counted"
            if submission.replaced:
                return "replaced"
            if submission.round.state in (RoundState.SCHEDULED, RoundState.OPEN):
                return "latest"
            return "not_counted"

    @operation(
        summary="My model's uploads",
        tags=TAG_SUBMISSIONS,
        auth="scope `read`, the model's owner only",
        responses=OutputSerializer(many=True),
        errors=[401, 403, 404],
        description="Every accepted upload, newest first, with its receipt, its status in its "
        "round and, after close, whether it opened and passed the rules (`state`, `error`, "
        "`problems`). Refused uploads are answered with 400 and never stored.",
    )
    def get(self, request: Request, model_id: int) -> Response:
        model = get_model(model_id)
        return paginated_response(
            view=self,
            request=request,
            items=selectors.submissions_of_model(model=model, by=request.user),
            serializer_class=self.OutputSerializer,
        )


class SubmissionProofApi(APIView):
    permission_classes = [HasScope("read")]

    class OutputSerializer(serializers.Serializer):
        submission_id = serializers.IntegerField(source="submission.id")
        tournament = serializers.CharField(source="submission.round.tournament.slug")
        round = serializers.IntegerField(source="submission.round.number")
        model_id = serializers.IntegerField(source="submission.model_id")
        cid = serializers.CharField(source="submission.cid")
        digest = serializers.CharField(help_text="0x + the SHA-256 digest the CID carries")
        leaf = serializers.CharField(help_text="0x + keccak256(keccak256(digest))")
        proof = serializers.ListField(
            child=serializers.CharField(), help_text="sibling hashes from the leaf up (0x + hex)"
        )
        root = serializers.CharField(help_text="the round's commitments root (0x + hex)")
        count = serializers.IntegerField(help_text="distinct envelopes under the root")
        tournament_id = serializers.IntegerField(
            source="submission.round.tournament_id", help_text="the tournament's id on-chain"
        )
        root_source = serializers.CharField(
            help_text="'chain' when `root` was just read from the staking contract and equals "
            "the platform's record; 'platform' when the chain could not be read"
        )
        onchain_root = serializers.CharField(
            allow_null=True, help_text="the root the staking contract holds (0x + hex), or null"
        )
        commitments_tx = serializers.CharField(
            allow_null=True, help_text="the transaction that posted the root at close"
        )
        chain = serializers.JSONField(
            allow_null=True, help_text="chain id and contract addresses, to read the root yourself"
        )

    @operation(
        summary="Inclusion proof of a counted submission",
        tags=TAG_SUBMISSIONS,
        auth="scope `read`, the model's owner only",
        responses=OutputSerializer,
        errors=[401, 403, 404, 409],
        description="Proves that the envelope's CID is one of the leaves of the round's "
        "commitments root (fixed at close; the same tree arena_client.merkle verifies: "
        "leaf = keccak256(keccak256(digest)), node = keccak256(sorted pair)). 409 "
        "`round_not_closed` while the round is open, 409 `not_counted` for an upload a later "
        "one replaced.",
    )
    def get(self, request: Request, model_id: int, submission_id: int) -> Response:
        model = get_model(model_id)
        if model.owner_id != getattr(request.user, "id", None):
            raise NotAllowed("only the model's owner can see its submissions")
        submission = (
            model.submissions.select_related("round", "round__tournament")
            .filter(pk=submission_id)
            .first()
        )
        if submission is None:
            raise NotFound(f"model {model.id} has no submission {submission_id}")
        proof = selectors.submission_inclusion_proof(submission=submission)
        onchain = ledger().published_commitments(round=submission.round)
        proof |= {
            "root_source": "chain" if onchain and onchain["root"] == proof["root"] else "platform",
            "onchain_root": onchain["root"] if onchain else None,
            "commitments_tx": onchain["tx_hash"] if onchain else None,
            "chain": ledger().describe(),
        }
        return Response(self.OutputSerializer(proof).data)
