"""What every app's server-rendered pages share: a service's refusal shown on the form.

The pages' counterpart of core/api/errors.py. Views call one service; when it raises an
ArenaError the form shows the service's message (and the offending rows in `details`, see
templates/includes/arena_error.html) and the view answers with the error's HTTP status.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from core.errors import ArenaError, NotAllowed, NotFound


def show_refusal(form, exc: ArenaError) -> int:
    """Show a service's refusal on the form; return the HTTP status to answer with.
    NotAllowed and NotFound are not form errors: they raise Django's 403 and 404."""
    if isinstance(exc, NotAllowed):
        raise PermissionDenied(exc.message)
    if isinstance(exc, NotFound):
        raise Http404(exc.message)
    form.add_error(None, exc.message)
    form.arena_error = exc  # templates/includes/arena_error.html shows exc.details
    return exc.status
