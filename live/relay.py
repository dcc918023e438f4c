"""One channel-layer subscription per stream group per ASGI process, fanned out in-process.

Without it every websocket joins its stream's group itself, so an update reaches each socket
through the channel layer: one queued copy, one consumer task woken, one dispatch per socket
(channels-redis' pub/sub layer even fans out in-process, but still through 1,000 queues and
1,000 task wake-ups). With 1,000 subscribers on one process that per-socket machinery was
about a third of the fan-out's CPU (docs/performance.md).

Here a process subscribes once per group (a relay channel and one receiving task per group)
and hands each message to its local sockets in one loop: `LiveConsumer.relay` sends the
already-encoded text straight away with the consumer's own `send` when it is the socket's next version and the
consumer is idle, and otherwise forwards the message to the consumer's own channel, where its
dispatch loop handles it in order exactly as before (waiting for a resume in progress,
repairing a gap from the log). Ordering and the nothing-lost guarantees are the consumer's,
unchanged; the relay only skips the hop when there is nothing to order.

A relay belongs to one event loop (the ASGI server's; each test's own).
"""

import asyncio
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
        for n, consumer in enumerate(list(self.members.get(group, ()))):
            try:
                await consumer.relay(message)
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
