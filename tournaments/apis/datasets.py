"""Data: current data sets, downloads, and the sponsor's uploads (data, live data, targets)."""

import io

from django.http import FileResponse, HttpResponse, HttpResponseNotModified, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import HasScope
from config.api_tools import (
    FileUploadSerializer,
    ListApiMixin,
    max_dataset_bytes,
    operation,
    paginated_response,
    refuse_oversized_body,
)
from tournaments import selectors
from tournaments.apis.common import (
    TAG_DATA,
    DatasetOutputSerializer,
    get_dataset,
    get_round,
    get_tournament,
)
from tournaments.models import DatasetKind
from tournaments.services.datasets import dataset_upload, round_target_upload

_CONTENT_TYPES = {".parquet": "application/vnd.apache.parquet", ".csv": "text/csv"}


class DatasetListApi(ListApiMixin, APIView):
    @operation(
        summary="Current data sets",
        tags=TAG_DATA,
        auth="none (public)",
        responses=DatasetOutputSerializer(many=True),
        errors=[404],
        description="The latest training and validation data, and the open round's live "
        "data, each with its content id, size, rows, features and download URL.",
    )
    def get(self, request: Request, slug: str) -> Response:
        tournament = get_tournament(slug)
        return paginated_response(
            view=self,
            request=request,
            items=selectors.datasets_current(tournament=tournament),
            serializer_class=DatasetOutputSerializer,
        )


class DatasetDownloadApi(APIView):
    @operation(
        summary="Download a data file",
        tags=TAG_DATA,
        auth="none (public); a scheduled round's live data only for its sponsor",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="the stored bytes; ETag is the content id"
            ),
            (206, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="the requested `Range: bytes=start-[end]` (resume a download); "
                "with `If-Range: <ETag>` only if the file is unchanged",
            ),
            304: OpenApiResponse(description="If-None-Match matched: unchanged"),
        },
        errors=[404],
        description="Streams the file exactly as stored. Its SHA-256 content id (CIDv1) is "
        "the ETag and the X-Content-CID header, so a client can verify what it received. "
        "Supports one byte range per request (206; 416 `range_not_satisfiable` past the end) "
        "so an interrupted download resumes.",
    )
    def get(self, request: Request, dataset_id: int) -> HttpResponse:
        dataset = selectors.dataset_for_download(
            tournament=get_dataset(dataset_id).tournament, dataset_id=dataset_id, by=request.user
        )
        etag = f'"{dataset.cid}"'
        if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
            response = HttpResponseNotModified()
            response["ETag"] = etag
            return response
        suffix = ".parquet" if dataset.filename.lower().endswith(".parquet") else ".csv"
        filename = f"{dataset.tournament.slug}-{dataset.kind}-v{dataset.version}{suffix}"
        content = selectors.dataset_content(dataset=dataset)
        wanted = request.headers.get("Range", "")
        # If-Range: resume only if the file is still the one the partial copy came from.
        if wanted and request.headers.get("If-Range", etag) == etag:
            span = _byte_range(wanted, len(content))
            if span == "unsatisfiable":
                response = JsonResponse(
                    {
                        "error": {
                            "code": "range_not_satisfiable",
                            "message": f"range {wanted!r} is outside the file's "
                            f"{len(content)} bytes",
                            "details": None,
                        }
                    },
                    status=416,
                )
                response["Content-Range"] = f"bytes */{len(content)}"
                return response
            if span is not None:
                start, end = span
                response = HttpResponse(
                    content[start : end + 1], status=206, content_type=_CONTENT_TYPES[suffix]
                )
                response["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
                response["Content-Disposition"] = f'attachment; filename="{filename}"'
                return self._tagged(response, dataset.cid)
        response = FileResponse(
            io.BytesIO(content),
            as_attachment=True,
            filename=filename,
            content_type=_CONTENT_TYPES[suffix],
        )
        return self._tagged(response, dataset.cid)

    @staticmethod
    def _tagged(response: HttpResponse, cid: str) -> HttpResponse:
        response["ETag"] = f'"{cid}"'
        response["X-Content-CID"] = cid
        response["Accept-Ranges"] = "bytes"
        return response

    def perform_content_negotiation(self, request, force=False):
        # The body is a file whatever the client accepts; errors still render as JSON.
        return super().perform_content_negotiation(request, force=True)


def _byte_range(header: str, size: int) -> tuple[int, int] | str | None:
    """One `bytes=` range as inclusive (start, end); "unsatisfiable"; or None to send it all.

    Several ranges in one request are answered with the whole file, which RFC 9110 allows.
    """
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash or not (first.isdigit() or last.isdigit()):
        return None
    if not first:  # the last N bytes
        length = int(last)
        if length == 0:
            return "unsatisfiable"
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last.isdigit() else size - 1
    if start >= size:
        return "unsatisfiable"
    if end < start:
        return None
    return start, end


class DatasetUploadApi(APIView):
    permission_classes = [HasScope("sponsor")]
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(FileUploadSerializer):
        kind = serializers.ChoiceField(choices=[DatasetKind.TRAINING, DatasetKind.VALIDATION])

    @operation(
        summary="Upload training or validation data",
        tags=TAG_DATA,
        auth="scope `sponsor`, and only the tournament's own sponsor",
        request={"multipart/form-data": InputSerializer},
        responses={201: DatasetOutputSerializer},
        errors=[400, 401, 403, 404, 413],
        description="CSV or Parquet with `id`, `era`, `feature_*` and `target` columns. Missing "
        "columns, duplicate ids or non-numeric values are rejected before anything is stored.",
    )
    def post(self, request: Request, slug: str) -> Response:
        tournament = get_tournament(slug)
        refuse_oversized_body(request, limit=max_dataset_bytes())
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        dataset = dataset_upload(
            tournament=tournament,
            by=request.user,
            kind=serializer.validated_data["kind"],
            data=upload.read(),
            filename=upload.name,
        )
        data = DatasetOutputSerializer(dataset, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)


class RoundLiveDataUploadApi(APIView):
    permission_classes = [HasScope("sponsor")]
    parser_classes = [MultiPartParser, FormParser]

    @operation(
        summary="Upload a round's live data",
        tags=TAG_DATA,
        auth="scope `sponsor`, and only the tournament's own sponsor",
        request={"multipart/form-data": FileUploadSerializer},
        responses={201: DatasetOutputSerializer},
        errors=[400, 401, 403, 404, 409, 413],
        description="CSV or Parquet with `id`, `era` and `feature_*` columns, for a round that "
        "has not opened yet (replacing any earlier upload for it). 409 once the round is open.",
    )
    def post(self, request: Request, slug: str, number: int) -> Response:
        round = get_round(get_tournament(slug), number)
        refuse_oversized_body(request, limit=max_dataset_bytes())
        serializer = FileUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        dataset = dataset_upload(
            tournament=round.tournament,
            by=request.user,
            kind=DatasetKind.LIVE,
            round=round,
            data=upload.read(),
            filename=upload.name,
        )
        data = DatasetOutputSerializer(dataset, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)


class RoundTargetUploadApi(APIView):
    permission_classes = [HasScope("sponsor")]
    parser_classes = [MultiPartParser, FormParser]

    class OutputSerializer(serializers.Serializer):
        tournament = serializers.CharField(source="round.tournament.slug")
        round = serializers.IntegerField(source="round.number")
        day = serializers.IntegerField()
        cid = serializers.CharField()
        rows = serializers.IntegerField()
        created_at = serializers.DateTimeField()

    @operation(
        summary="Upload a score day's target",
        tags=TAG_DATA,
        auth="scope `sponsor`, and only the tournament's own sponsor",
        request={"multipart/form-data": FileUploadSerializer},
        responses={201: OutputSerializer},
        errors=[400, 401, 403, 404, 409, 413],
        description="`id,target` for every live id of a closed round; day 1 … the round's "
        "score days. A day already scored cannot change (409).",
    )
    def post(self, request: Request, slug: str, number: int, day: int) -> Response:
        round = get_round(get_tournament(slug), number)
        refuse_oversized_body(request, limit=max_dataset_bytes())
        serializer = FileUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        target = round_target_upload(
            round=round, by=request.user, day=day, data=upload.read(), filename=upload.name
        )
        return Response(self.OutputSerializer(target).data, status=status.HTTP_201_CREATED)
