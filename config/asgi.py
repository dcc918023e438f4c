"""ASGI entry point: HTTP through Django, websockets through Channels."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)  # as get_asgi_application() does: the script prefix is per request

from channels.auth import AuthMiddlewareStack  # noqa: E402 - needs Django set up first
from channels.layers import get_channel_layer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import get_resolver  # noqa: E402

from config.asgi_http import OneHopASGIHandler  # noqa: E402
from config.body_limit import BodyLimit  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402
from tournaments.live_relay import SERVER_SEND_KEY  # noqa: E402
from tournaments.socket_limit import SocketsPerAddressLimit  # noqa: E402

# Build the channel layer (importing channels-redis and redis) now, not inside the first
# requests that push an update: a burst of them would all wait on the import lock. Likewise
# load the URLconf (every view, serializer and DRF): each server process — uvicorn starts N
# workers — is then ready when it starts taking connections, not in its first requests.
get_channel_layer()
get_resolver().url_patterns  # noqa: B018 - imports the URLconf


def with_server_send(app):
    """Keep the ASGI server's own `send` in the scope: the live relay writes prepared frames
    through it (tournaments/live_relay.py), past the session middleware's wrapper."""

    async def asgi(scope, receive, send):
        return await app({**scope, SERVER_SEND_KEY: send}, receive, send)

    return asgi


application = ProtocolTypeRouter(
    {
        # Bodies over their route's limit are refused before the handler spools them; one
        # thread hop per request instead of Django's per-middleware hops (see the modules).
        "http": BodyLimit(OneHopASGIHandler()),
        # Sockets per client address are counted first: a refusal costs no session lookup.
        "websocket": with_server_send(
            SocketsPerAddressLimit(
                AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
            )
        ),
    }
)
