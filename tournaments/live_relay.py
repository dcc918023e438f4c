"""One channel-layer subscription per stream group per ASGI process, fanned out in-process.

Without it every websocket joins its stream's group itself, so an update reaches each socket
through the channel layer: one queued copy, one consumer task woken, one dispatch per socket
(channels-redis' pub/sub layer even fans out in-process, but still through 1,000 queues and
1,000 task wake-ups). With 1,000 subscribers on one process that per-socket machinery was
about a third of the fan-out's CPU (docs/performance.md).

Here a process subscribes once per group (a relay channel and one receiving task per group)
and hands each message to its local sockets in one loop: `LiveConsumer.relay` sends the
already-encoded text frame straight away when it is the socket's next version and the
consumer is idle, and otherwise forwards the message to the consumer's own channel, where its
dispatch loop handles it in order exactly as before (waiting for a resume in progress,
repairing a gap from the log). Ordering and the nothing-lost guarantees are the consumer's,
unchanged; the relay only skips the hop when there is nothing to order.

A relay belongs to one event loop (the ASGI server's; each test's own).

Under daphne the frame itself is built once per message too (`text_frame`) and written to
each socket's connection (`DaphneWire`), skipping daphne's, autobahn's and Twisted's
per-message work (reply checks, framing, debug-log formatting, write buffering); any other
server, or a socket that is not plainly open, gets the message through the consumer's normal
`send`.
"""

import asyncio
import functools
import logging
import weakref

log = logging.getLogger("arena.live")

# Sockets served between two yields to the event loop during one fan-out: the server's
# transport flushes what was written so far, so the first frames leave before the last
# sockets are served.
YIELD_EVERY = 100
REFRESH_SECONDS = 3600.0


class Relay:
    def __init__(self, layer):
        self.layer = layer
        self.members: dict[str, set] = {}  # group → local consumers
        self.channels: dict[str, str] = {}  # group → this process's relay channel for it
        self.tasks: list[asyncio.Task] = []
        self.lock = asyncio.Lock()  # one subscription per group, even when sockets race

    async def join(self, group: str, consumer) -> None:
        """Add a local socket to `group`; returns once the group's messages reach this process
        (so a resume read after it cannot miss an update).

        The relay channel stays subscribed while the process lives (groups are few: one per
        stream), and every join renews its membership: layers with a group expiry (the
        in-memory and list-based ones, a day by default) would otherwise drop it, and a
        refresher renews it hourly for processes whose sockets all outlive that.
        """
        self.members.setdefault(group, set()).add(consumer)
        async with self.lock:
            loop = asyncio.get_running_loop()
            channel = self.channels.get(group)
            if channel is None:
                channel = await self.layer.new_channel("live-relay.")
                self.tasks.append(loop.create_task(self._pump(group, channel)))
                if not self.channels:
                    self.tasks.append(loop.create_task(self._refresh()))
                self.channels[group] = channel
            await self.layer.group_add(group, channel)

    def leave(self, group: str, consumer) -> None:
        members = self.members.get(group)
        if members is not None:
            members.discard(consumer)

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            for group, channel in list(self.channels.items()):
                try:
                    await self.layer.group_add(group, channel)
                except Exception:  # noqa: BLE001 - retried at the next refresh or join
                    log.exception("could not renew the relay's membership of %s", group)

    async def _pump(self, group: str, channel: str) -> None:
        while True:
            message = await self.layer.receive(channel)
            try:
                await self.fan_out(group, message)
            except Exception:  # noqa: BLE001 - the group's later updates must still flow
                log.exception("relay of %s to group %s failed", message.get("type"), group)

    async def fan_out(self, group: str, message: dict) -> None:
        frame = text_frame(message["text"]) if isinstance(message.get("text"), str) else None
        for n, consumer in enumerate(list(self.members.get(group, ()))):
            try:
                await consumer.relay(message, frame)
            except Exception:  # noqa: BLE001 - one broken socket must not starve the others
                log.exception("relay to a socket of group %s failed", group)
            if n % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)


_relays: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Relay]" = weakref.WeakKeyDictionary()


def relay_for(layer) -> Relay:
    """This event loop's relay on `layer`."""
    loop = asyncio.get_running_loop()
    relay = _relays.get(loop)
    if relay is None or relay.layer is not layer:
        relay = _relays[loop] = Relay(layer)
    return relay


# --- Writing a prepared frame -------------------------------------------------------------

SERVER_SEND_KEY = "arena.server_send"  # config/asgi.py puts the server's own send here


def text_frame(text: str) -> bytes:
    """One unfragmented RFC 6455 text frame as a server sends it (FIN, opcode 1, unmasked)."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        header = bytes((0x81, n))
    elif n < 1 << 16:
        header = bytes((0x81, 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + n.to_bytes(8, "big")
    return header + payload


class DaphneWire:
    """Writes prepared frames straight to a daphne websocket's connection.

    daphne hands each application `functools.partial(server.handle_reply, protocol)` as its
    send; the protocol is autobahn's, which frames and writes each message itself through
    Twisted. Twisted's write buffers the bytes, registers the socket with the event loop for
    writability and sends on the next loop turn, then unregisters it: two `epoll_ctl` calls
    and a callback per socket per message, most of what fan-out cost once framing was done
    once (docs/performance.md).

    A frame is written here only when autobahn would have written the same bytes at once: the
    socket is open, autobahn has nothing queued, and no compression was negotiated. When
    Twisted has nothing buffered for the connection either (the usual case: frames are small)
    and it is plain TCP, the frame goes to the socket in one `send`; whatever the kernel does
    not take, and every other case, goes through Twisted's own `write`, after anything it
    still holds, so the byte order on the connection is unchanged.
    """

    def __init__(self, protocol):
        self.protocol = protocol

    @classmethod
    def for_send(cls, send) -> "DaphneWire | None":
        if not isinstance(send, functools.partial) or not send.args:
            return None
        protocol = send.args[0]
        try:
            from daphne.ws_protocol import WebSocketProtocol
        except ImportError:  # another ASGI server
            return None
        return cls(protocol) if isinstance(protocol, WebSocketProtocol) else None

    def write(self, frame: bytes) -> bool:
        """Write `frame`; False (nothing written) when the normal send path must be used."""
        p = self.protocol
        transport = p.transport
        if (
            p.state != p.STATE_OPEN
            or p.send_queue
            or p._perMessageCompress is not None
            or transport is None
        ):
            return False
        sent = 0
        if _idle_plain_tcp(transport):
            try:
                sent = transport.socket.send(frame)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                return False  # let Twisted's own write meet the error and close the connection
        if sent < len(frame):
            transport.write(frame[sent:] if sent else frame)
        return True


def _idle_plain_tcp(transport) -> bool:
    """A Twisted TCP connection without TLS, open, with nothing waiting in its write buffers."""
    from twisted.internet.tcp import Connection

    return (
        isinstance(transport, Connection)
        and not getattr(transport, "TLS", False)
        and transport.connected
        and not transport.disconnecting
        and not transport._writeDisconnected
        and not transport._tempDataLen
        and len(transport.dataBuffer) == transport.offset
    )
