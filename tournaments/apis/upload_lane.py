"""The common API upload, answered without DRF's request cycle.

Nearly every upload is the same request: `arena submit` sending the sealed envelope as the
raw body (`application/octet-stream`) with an API key that has the `submit` scope, for the
key owner's model, while a round is open. This lane answers exactly that request with one
SELECT for everything it checks (selectors.upload_context) and the same service, throttles
and response as the full view. Whenever anything is off (another body type, an unknown or
revoked key, a missing scope, someone else's model, no open round, a bad envelope, a
throttle) it stores nothing and returns None, and the full DRF view answers instead, so
every error is still worded in one place. `tests/api/test_upload_lane.py` holds the two
paths to the same answers.

Why: a burst of uploads is CPU-bound, and DRF's cycle with three ORM queries cost about as
much CPU as the upload's own work (docs/performance.md).
"""

from functools import cache
from types import SimpleNamespace

from arena_client.cid import cid_for_bytes
from arena_client.sealing import ENVELOPE_OVERHEAD
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import parse_header_parameters
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.serializers import Serializer

from accounts.authentication import bearer_key
from accounts.models import ApiScope
from accounts.services import api_key_touch, hash_api_key
from core.api.tools import max_prediction_bytes
from core.errors import ArenaError
from tournaments.selectors import upload_context
from tournaments.services.submissions import submission_upload

ENVELOPE_MEDIA_TYPE = "application/octet-stream"
DEFAULT_ENVELOPE_NAME = "predictions.sealed"
# Set on a request the lane let through after counting it against the throttles, so the
# full view does not count it twice.
THROTTLED_MARK = "_arena_throttles_counted"


def envelope_name(request: HttpRequest) -> str:
    """The file name from `Content-Disposition`, as arena_client sends it."""
    _, params = parse_header_parameters(request.headers.get("Content-Disposition", ""))
    return params.get("filename") or DEFAULT_ENVELOPE_NAME


def _small_enough(request: HttpRequest) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return 0 < length <= max_prediction_bytes() + ENVELOPE_OVERHEAD


def _throttles_allow(request: HttpRequest, user, view_class) -> bool:
    """The full view's throttles, counted as it counts them (same classes, same cache)."""
    shim = SimpleNamespace(user=user, META=request.META)
    throttles = [throttle() for throttle in view_class.throttle_classes]
    allowed = all(throttle.allow_request(shim, None) for throttle in throttles)
    setattr(request, THROTTLED_MARK, allowed)
    return allowed


@cache
def _allow(view_class) -> str:
    return ", ".join(view_class().allowed_methods)


@cache
def _representer(output_serializer) -> Serializer:
    """One serializer of this class for every response: a serializer builds its fields
    (deep copies of the declared ones) when first used, which cost more than the rendering
    itself. Its to_representation reads only the instance it is given, so sharing it
    between threads is safe."""
    return output_serializer()


def sealed_upload(request: HttpRequest, model_id: int, view_class, output_serializer) -> HttpResponse | None:
    """201 with the stored submission, or None: the full view (`view_class`) answers."""
    if request.method != "POST" or request.content_type != ENVELOPE_MEDIA_TYPE:
        return None
    raw_key = bearer_key(request)
    if raw_key is None or not _small_enough(request):
        return None
    now = timezone.now()
    cid = cid_for_bytes(request.body)
    context = upload_context(key_hash=hash_api_key(raw_key), model_id=model_id, now=now, cid=cid)
    if context is None or context.model is None:
        return None
    api_key, user = context.api_key, context.api_key.user
    if not (api_key.is_active and user.is_active and api_key.has_scope(ApiScope.SUBMIT)):
        return None
    if context.model.owner_id != user.id or context.round is None:
        return None
    if not _throttles_allow(request, user, view_class):
        return None
    api_key_touch(api_key=api_key)
    try:
        submission = submission_upload(
            model=context.model,
            by=user,
            data=request.body,
            filename=envelope_name(request),
            now=now,
            open_round=context.round,
            uploads_so_far=context.uploads,
            envelope_reused=context.envelope_reused,
        )
    except ArenaError:
        # Refused with no row stored (at most an unreferenced blob): the full view tries the
        # same upload again and words the error.
        return None
    response = HttpResponse(
        JSONRenderer().render(_representer(output_serializer).to_representation(submission)),
        status=201,
        content_type="application/json",
    )
    # What DRF's APIView adds to every response.
    response["Vary"] = "Accept"
    response["Allow"] = _allow(view_class)
    return response
