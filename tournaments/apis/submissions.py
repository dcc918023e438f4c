"""Prediction uploads and their history."""

from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import HasScope
from config.api_tools import (
    FileUploadSerializer,
    ListApiMixin,
    max_prediction_bytes,
    operation,
    paginated_response,
    refuse_oversized_body,
)
from tournaments import selectors
from tournaments.apis.common import TAG_SUBMISSIONS, get_model
from tournaments.models import RoundState, Submission
from tournaments.services.submissions import submission_upload

STATUSES = {
    "counted": "chosen at close: this file is scored",
    "latest": "the round is open and this is the latest upload: it counts unless replaced",
    "replaced": "a later upload to the same round replaced it",
    "not_counted": "the round closed without counting it",
}


class SubmissionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    model_id = serializers.IntegerField()
    round = serializers.IntegerField(source="round.number")
    cid = serializers.CharField(help_text="content id (CIDv1, sha2-256) of the uploaded bytes")
    filename = serializers.CharField()
    size_bytes = serializers.IntegerField()
    rows = serializers.IntegerField()
    state = serializers.CharField()
    created_at = serializers.DateTimeField()


class SubmissionUploadApi(APIView):
    permission_classes = [HasScope("submit")]
    parser_classes = [MultiPartParser, FormParser]

    @operation(
        summary="Upload predictions for the open round",
        tags=TAG_SUBMISSIONS,
        auth="scope `submit`, own models only",
        request={"multipart/form-data": FileUploadSerializer},
        responses={201: SubmissionOutputSerializer},
        errors=[400, 401, 403, 404, 409, 413],
        description="A `.csv` or `.parquet` file with exactly the columns `id,prediction`: "
        "every live id once, no other id, numbers in [0, 1], not all equal. A rejected file "
        "answers 400 naming each problem with counts and the first offending ids/rows "
        "(`details.problems`) and changes nothing: the previous accepted upload still counts. "
        "With no round open: 409 `round_closed` with the close time.",
    )
    def post(self, request: Request, model_id: int) -> Response:
        model = get_model(model_id)
        refuse_oversized_body(request, limit=max_prediction_bytes())
        serializer = FileUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        submission = submission_upload(
            model=model, by=request.user, data=upload.read(), filename=upload.name
        )
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
        error = serializers.CharField()

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
        description="Every accepted upload, newest first, with its status in its round. "
        "Rejected files are answered with 400 and never stored.",
    )
    def get(self, request: Request, model_id: int) -> Response:
        model = get_model(model_id)
        return paginated_response(
            view=self,
            request=request,
            items=selectors.submissions_of_model(model=model, by=request.user),
            serializer_class=self.OutputSerializer,
        )
