"""Data: current data sets, downloads, and the sponsor's uploads (data, live data, targets).

An upload is answered 202 as soon as the file is stored, with its upload row (`processing`)
and the URL to poll; the file takes effect once its check has passed (`ready`), or is
`rejected` with the reason (tournaments/services/uploads.py)."""

import io
import re

from django.http import FileResponse, HttpResponse, HttpResponseNotModified, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import HasScope
from core.api.tools import (
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
    UploadOutputSerializer,
    get_dataset,
    get_round,
    get_tournament,
    upload_url,
)
from tournaments.models import DatasetKind, SponsorUpload, UploadKind, UploadState
from tournaments.services.datasets import dataset_upload_receive, round_target_upload_receive

_CONTENT_TYPES = {".parquet": "application/vnd.apache.parquet", ".csv": "text/csv"}


class DatasetListApi(ListApiMixin, APIView):
    @operation(
        summary="Current data sets",
        tags=TAG_DATA,
        auth="none (public)",
        responses=DatasetOutputSerializer(many=True),
        errors=[404],
        description="The latest training and validation data, and the open round's live "
        "data, each with its content id, size, rows, features and download URL. Only "
        "versions in force are listed: a sponsor's upload appears once its check has passed "
        "(`ready`); the sponsor follows uploads being checked or rejected at "
        "`GET /api/tournaments/{slug}/uploads`.",
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
            **{
                (200, content_type): OpenApiResponse(
                    OpenApiTypes.BINARY, description="the stored bytes; ETag is the content id"
                )
                for content_type in _CONTENT_TYPES.values()
            },
            **{
                (206, content_type): OpenApiResponse(
                    OpenApiTypes.BINARY,
                    description="the requested `Range: bytes=start-[end]` (resume a download); "
                    "with `If-Range: <ETag>` only if the file is unchanged",
                )
                for content_type in _CONTENT_TYPES.values()
            },
            304: OpenApiResponse(description="If-None-Match matched: unchanged"),
        },
        errors=[404, 416],
        parameters=[
            OpenApiParameter(
                "Range", str, OpenApiParameter.HEADER,
                description="`bytes=start-[end]` or `bytes=-N`: one byte range (206); a header "
                "that is not one byte range is ignored",
            ),
            OpenApiParameter(
                "If-Range", str, OpenApiParameter.HEADER,
                description="the ETag of the partial copy: the range only if it still matches",
            ),
            OpenApiParameter(
                "If-None-Match", str, OpenApiParameter.HEADER,
                description="ETags the client holds: 304 if one is the file's",
            ),
        ],
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


# first-last, either may be missing; ASCII digits only ("²".isdigit() is true, int("²") fails).
_RANGE_SPEC = re.compile(r"([0-9]*)-([0-9]*)")
# Past any file's size; longer digit strings are not converted (int() refuses > 4300 digits).
_BEYOND_ANY_FILE = 10**18


def _range_number(digits: str) -> int:
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) < 18 else _BEYOND_ANY_FILE


def _byte_range(header: str, size: int) -> tuple[int, int] | str | None:
    """One `bytes=` range as inclusive (start, end); "unsatisfiable"; or None to send it all.

    Several ranges in one request are answered with the whole file, which RFC 9110 allows;
    so is a header that is not a byte range (RFC 9110 §14.2: a recipient ignores it).
    """
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    match = _RANGE_SPEC.fullmatch(spec.strip())
    if match is None or not any(match.groups()):
        return None
    first, last = match.groups()
    if not first:  # the last N bytes
        length = _range_number(last)
        if length == 0:
            return "unsatisfiable"
        return max(0, size - length), size - 1
    start = _range_number(first)
    end = min(_range_number(last), size - 1) if last else size - 1
    if start >= size:
        return "unsatisfiable"
    if end < start:
        return None
    return start, end


_ACCEPTED = (
    "202: the file is stored and is being checked (`state` `processing`; `Location` and "
    "`url` name the upload to poll). It takes effect once `ready`; a file the check refuses "
    "is `rejected` with `error` (code, message, details), and the version in force stays in "
    "force. Who, size, quota and the round's state are refused at once, before anything is "
    "stored; 429 `uploads_pending` while the sponsor has the most files being checked."
)


_LOCATION = OpenApiParameter(
    "Location",
    str,
    OpenApiParameter.HEADER,
    response=[202],
    description="the upload's URL: poll it until `state` is `ready` or `rejected`",
)


def _accepted(request: Request, upload: SponsorUpload) -> Response:
    data = UploadOutputSerializer(upload, context={"request": request}).data
    return Response(
        data, status=status.HTTP_202_ACCEPTED, headers={"Location": upload_url(upload, request)}
    )


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
        responses={202: UploadOutputSerializer},
        parameters=[_LOCATION],
        errors=[400, 401, 403, 404, 409, 413, 429],
        description="CSV or Parquet with `id`, `era`, `feature_*` and `target` columns; it "
        "becomes the next version of its kind once ready. Missing columns, duplicate ids or "
        "non-numeric values make it `rejected`. 409 `market_data_only` for a DEX tournament, "
        "whose data comes from its market. " + _ACCEPTED,
    )
    def post(self, request: Request, slug: str) -> Response:
        tournament = get_tournament(slug)
        refuse_oversized_body(request, limit=max_dataset_bytes())
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        file = serializer.validated_data["file"]
        upload = dataset_upload_receive(
            tournament=tournament,
            by=request.user,
            kind=serializer.validated_data["kind"],
            data=file.read(),
            filename=file.name,
        )
        return _accepted(request, upload)


class RoundLiveDataUploadApi(APIView):
    permission_classes = [HasScope("sponsor")]
    parser_classes = [MultiPartParser, FormParser]

    @operation(
        summary="Upload a round's live data",
        tags=TAG_DATA,
        auth="scope `sponsor`, and only the tournament's own sponsor",
        request={"multipart/form-data": FileUploadSerializer},
        responses={202: UploadOutputSerializer},
        parameters=[_LOCATION],
        errors=[400, 401, 403, 404, 409, 413, 429],
        description="CSV or Parquet with `id`, `era` and `feature_*` columns, for a round that "
        "has not opened yet; once ready it replaces any earlier live data of the round (which "
        "stays in force until then: a round opens only on live data that is ready). 409 once "
        "the round is open; a file still being checked when the round opens is `rejected` "
        "(`conflict`). " + _ACCEPTED,
    )
    def post(self, request: Request, slug: str, number: int) -> Response:
        round = get_round(get_tournament(slug), number)
        refuse_oversized_body(request, limit=max_dataset_bytes())
        serializer = FileUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        file = serializer.validated_data["file"]
        upload = dataset_upload_receive(
            tournament=round.tournament,
            by=request.user,
            kind=DatasetKind.LIVE,
            round=round,
            data=file.read(),
            filename=file.name,
        )
        return _accepted(request, upload)


class RoundTargetUploadApi(APIView):
    permission_classes = [HasScope("sponsor")]
    parser_classes = [MultiPartParser, FormParser]

    @operation(
        summary="Upload a score day's target",
        tags=TAG_DATA,
        auth="scope `sponsor`, and only the tournament's own sponsor",
        request={"multipart/form-data": FileUploadSerializer},
        responses={202: UploadOutputSerializer},
        parameters=[_LOCATION],
        errors=[400, 401, 403, 404, 409, 413, 429],
        description="`id,target` for every live id of a closed round; day 1 … the round's "
        "score days. A day already scored cannot change (409). Once ready it is the day's "
        "target (replacing an earlier one); a day is scored only against a target that is "
        "ready. " + _ACCEPTED,
    )
    def post(self, request: Request, slug: str, number: int, day: int) -> Response:
        round = get_round(get_tournament(slug), number)
        refuse_oversized_body(request, limit=max_dataset_bytes())
        serializer = FileUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        file = serializer.validated_data["file"]
        upload = round_target_upload_receive(
            round=round, by=request.user, day=day, data=file.read(), filename=file.name
        )
        return _accepted(request, upload)


class UploadListApi(ListApiMixin, APIView):
    permission_classes = [HasScope("sponsor")]

    class FilterSerializer(serializers.Serializer):
        state = serializers.ChoiceField(choices=UploadState.choices, required=False)
        kind = serializers.ChoiceField(choices=UploadKind.choices, required=False)
        round = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False)

    @operation(
        summary="List a tournament's uploads",
        tags=TAG_DATA,
        auth="scope `sponsor`, and only the tournament's own sponsor",
        responses=UploadOutputSerializer(many=True),
        errors=[400, 401, 403, 404],
        parameters=[FilterSerializer],
        description="Every data, live-data and target file the sponsor sent, newest first, "
        "with its state: `processing` (being checked; nothing of it in force yet), `ready` "
        "(in force: `dataset` names the version it became) or `rejected` (`error` says why; "
        "the version in force stayed). Filter by `state`, `kind` (`training`, `validation`, "
        "`live`, `target`) and `round` — e.g. `?round=3&kind=target` for a round's targets.",
    )
    def get(self, request: Request, slug: str) -> Response:
        tournament = get_tournament(slug)
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data
        return paginated_response(
            view=self,
            request=request,
            items=selectors.sponsor_uploads(
                tournament=tournament,
                by=request.user,
                state=wanted.get("state"),
                kind=wanted.get("kind"),
                round_number=wanted.get("round"),
            ),
            serializer_class=UploadOutputSerializer,
        )


class UploadDetailApi(APIView):
    permission_classes = [HasScope("sponsor")]

    @operation(
        summary="Read an upload",
        tags=TAG_DATA,
        auth="scope `sponsor`, and only the tournament's own sponsor",
        responses=UploadOutputSerializer,
        errors=[401, 403, 404],
        description="The upload's state — poll it after an upload (its `url`) until it is "
        "`ready` or `rejected`.",
    )
    def get(self, request: Request, slug: str, upload_id: int) -> Response:
        upload = selectors.sponsor_upload(
            tournament=get_tournament(slug), upload_id=upload_id, by=request.user
        )
        return Response(UploadOutputSerializer(upload, context={"request": request}).data)
