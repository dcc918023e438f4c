"""At most ARENA_WS_MAX_PER_ADDRESS open websockets per client address, in one ASGI process.

A socket costs the process memory and a share of every push's fan-out, so one address
must not hold thousands. The count lives in the process (one asyncio loop: no lock) and is
exact: a socket counts from its handshake until its consumer returns, however it ends.
With N ASGI workers a client may hold up to N times the limit. A shared count (in Redis)
would leak the sockets of a worker that dies and needs a round trip per handshake; the
pub/sub channel layer keeps no state it could live in. Clients whose address the server
does not report (a Unix socket without proxy headers) are not counted; see
accounts/client_address.py for the address behind a proxy.
"""

import json
from collections import Counter

from django.conf import settings

from accounts.client_address import address_bucket
from live.consumers import CloseCode


class SocketsPerAddressLimit:
    """ASGI middleware for the websocket stack (config/asgi.py)."""

    def __init__(self, app):
        self.app = app
        self.open: Counter[str] = Counter()

    async def __call__(self, scope, receive, send):
        bucket = address_bucket((scope.get("client") or (None,))[0])
        limit = settings.ARENA_WS_MAX_PER_ADDRESS  # read per socket: tests change it
        if bucket is None or limit <= 0:
            return await self.app(scope, receive, send)
        if self.open[bucket] >= limit:
            return await refuse_socket(receive, send, limit=limit)
        self.open[bucket] += 1
        try:
            return await self.app(scope, receive, send)
        finally:
            self.open[bucket] -= 1
            if not self.open[bucket]:
                del self.open[bucket]


async def refuse_socket(receive, send, *, limit: int) -> None:
    """Accept, say why, close with 4429: as the consumers refuse (a refused handshake would
    reach the browser as a bare 403 with no code), so the page shows the reason and backs
    off before reconnecting."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    error = {
        "type": "error",
        "code": int(CloseCode.TOO_MANY),
        "message": f"more than {limit} open sockets from your address: close some, or reconnect later",
    }
    await send({"type": "websocket.send", "text": json.dumps(error)})
    await send({"type": "websocket.close", "code": int(CloseCode.TOO_MANY)})
