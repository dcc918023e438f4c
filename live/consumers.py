"""Websocket consumers: authenticate, join groups, relay pushes from publish.py.

One socket follows one stream: a tournament's leaderboard view
(`/ws/tournaments/<slug>/leaderboard/?metric=corr&last_n=4`) or one round
(`/ws/tournaments/<slug>/rounds/<number>/`). Anyone may listen; a logged-in modeler's socket
also joins their private group and receives their own models' submission status.

Client → server (JSON text, at most MAX_MESSAGE_BYTES):
  {"type": "resume", "since": <last version seen, 0 for none>}   → missed updates or a snapshot,
                                                                   then {"type": "synced"}
  {"type": "ping"}                                                → {"type": "pong"}
Anything else closes the socket with one of the CloseCode codes, after an
{"type": "error", "code": …, "message": …} frame saying why (daphne does not send close
reasons, so the message is the only place for the explanation).
"""

import asyncio
import json
import logging
import time
from collections import deque
from enum import IntEnum
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from live import publish
from live.relay import relay_for
from tournaments.models import Round, Tournament

log = logging.getLogger("arena.consumers")

MAX_MESSAGE_BYTES = 1024
RATE_LIMIT = (30, 10.0)  # at most 30 client messages per 10 seconds


class CloseCode(IntEnum):
    """Close codes (4000–4999 is the range RFC 6455 leaves to applications; the last three
    digits mirror the HTTP status of the same meaning)."""

    MALFORMED = 4400  # not JSON text, not an object, unknown type, bad field
    NOT_FOUND = 4404  # no such tournament or round
    TOO_LARGE = 4413  # a message longer than MAX_MESSAGE_BYTES
    TOO_MANY = 4429  # more than RATE_LIMIT messages; reconnect later
    INTERNAL = 1011  # a server error (logged); reconnecting is safe


class StreamRefused(Exception):
    def __init__(self, code: CloseCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class LiveConsumer(AsyncWebsocketConsumer):
    """Shared protocol; subclasses say which stream the URL names."""

    async def connect(self) -> None:
        self.stream: publish.Stream | None = None
        self.version: int | None = None  # the last version this client was sent
        self.rows: dict | None = None  # custom leaderboard views: the rows the client has
        self.user = None
        self.joined: list[str] = []
        self.closing = False
        self.recent: deque[float] = deque()
        self.busy = False  # a handler of this socket is running (see relay)
        self.relayed: list[str] = []  # stream groups joined through the process's relay
        publish.note_server_loop(asyncio.get_running_loop())
        # Accept first, then check: a refused handshake reaches the browser as a bare 403
        # with no code; after accepting, the client gets a close code and a message.
        await self.accept()
        try:
            self.stream = await database_sync_to_async(self.resolve_stream)()
        except StreamRefused as exc:
            await self.refuse(exc.code, exc.message)
            return
        groups = self.stream.groups()
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            self.user = user
            groups.append(publish.private_group(self.stream.slug, user.id))
        relay = relay_for(self.channel_layer)
        for group in groups:
            if self.stream.custom or group.startswith("private."):
                # Recomputed or private per socket: these stay on the socket's own channel.
                await self.channel_layer.group_add(group, self.channel_name)
                self.joined.append(group)
            else:
                self.relayed.append(group)
                await relay.join(group, self)

    def resolve_stream(self) -> publish.Stream:
        raise NotImplementedError

    async def dispatch(self, message: dict) -> None:
        """Channels' dispatch, noting that a handler of this socket is running (see relay)."""
        self.busy = True
        try:
            await super().dispatch(message)
        finally:
            self.busy = False

    async def disconnect(self, code: int) -> None:
        relay = relay_for(self.channel_layer)
        for group in self.relayed:
            relay.leave(group, self)
        self.relayed = []
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.joined = []

    async def refuse(self, code: CloseCode, message: str) -> None:
        if self.closing:
            return
        self.closing = True
        await self.send(text_data=json.dumps({"type": "error", "code": int(code), "message": message}))
        await self.close(code=int(code))

    # --- client messages -------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closing or self.stream is None:
            return
        try:
            await self.handle(text_data, bytes_data)
        except Exception:  # noqa: BLE001 - one bad socket must not take the consumer down unseen
            log.exception("live socket %s failed", self.scope.get("path"))
            await self.refuse(CloseCode.INTERNAL, "internal error; reconnect and resume")

    async def handle(self, text_data: str | None, bytes_data: bytes | None) -> None:
        now = time.monotonic()
        self.recent.append(now)
        while self.recent and now - self.recent[0] > RATE_LIMIT[1]:
            self.recent.popleft()
        if len(self.recent) > RATE_LIMIT[0]:
            await self.refuse(
                CloseCode.TOO_MANY,
                f"more than {RATE_LIMIT[0]} messages in {RATE_LIMIT[1]:g} seconds",
            )
            return
        if text_data is None:
            await self.refuse(CloseCode.MALFORMED, "binary frames are not accepted: send JSON text")
            return
        if len(text_data) > MAX_MESSAGE_BYTES or len(text_data.encode()) > MAX_MESSAGE_BYTES:
            await self.refuse(
                CloseCode.TOO_LARGE, f"messages are limited to {MAX_MESSAGE_BYTES} bytes"
            )
            return
        try:
            message = json.loads(text_data)
        except ValueError:
            await self.refuse(CloseCode.MALFORMED, "not JSON: send {\"type\": \"resume\", \"since\": N}")
            return
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "resume":
            since = message.get("since", 0)
            # bool is an int subclass; "since": true is a client bug, not version 1.
            if type(since) is not int or since < 0:
                await self.refuse(
                    CloseCode.MALFORMED, "since must be a non-negative integer: your last version"
                )
                return
            await self.resume(since)
        elif kind == "ping":
            await self.send(text_data='{"type": "pong"}')
        elif not isinstance(message, dict):
            await self.refuse(CloseCode.MALFORMED, "a message must be a JSON object")
        else:
            await self.refuse(
                CloseCode.MALFORMED, f"unknown message type {kind!r}: send resume or ping"
            )

    async def resume(self, since: int) -> None:
        messages, version, rows = await database_sync_to_async(publish.stream_catch_up)(
            self.stream, since
        )
        for message in messages:
            await self.send(text_data=json.dumps(message))
        self.version, self.rows = version, rows
        await self.send(text_data=json.dumps({"type": "synced", "version": version}))
        if self.user is not None:
            await self.send_private()

    async def send_private(self) -> None:
        message = await database_sync_to_async(publish.private_message)(
            tournament_id=self.stream.tournament_id, user=self.user
        )
        await self.send(text_data=json.dumps(message))

    # --- group messages (from publish.py) --------------------------------------------------

    async def relay(self, event: dict) -> None:
        """A stream group's message, from this process's relay (live/relay.py).

        The common case — the next version, nothing else running for this socket — is sent at
        once, with no hop through the channel layer. Anything else (a resume or gap repair in
        progress, a version gap, another message type) goes to this socket's own channel, so
        its dispatch loop handles it in order after what it is doing, as without the relay.
        """
        if self.closing:
            return
        if event.get("type") == "live.update" and not self.busy:
            if self.version is None or event["version"] <= self.version:
                return  # not resumed yet (resume will include it), or already sent
            if event["version"] == self.version + 1:
                self.version = event["version"]
                await self.send(text_data=event["text"])
                return
        await self.channel_layer.send(self.channel_name, event)

    async def live_update(self, event: dict) -> None:
        """A published update, already encoded for this stream: relay it in version order."""
        if self.closing or self.version is None or event["version"] <= self.version:
            return  # not resumed yet (resume will include it), or already sent
        if event["version"] > self.version + 1:
            # An earlier version is still on its way (another process published it) or was
            # lost: send everything missed from the log, in order, then this one is covered.
            await self.resume_gap()
            return
        await self.send(text_data=event["text"])
        self.version = event["version"]

    async def resume_gap(self) -> None:
        messages, version, rows = await database_sync_to_async(publish.stream_catch_up)(
            self.stream, self.version
        )
        for message in messages:
            if message["version"] > self.version or message["type"] == "snapshot":
                await self.send(text_data=json.dumps(message))
        self.version = max(self.version, version)
        if rows is not None:
            self.rows = rows

    async def live_recompute(self, event: dict) -> None:
        """A new version for a view no publish computes: recompute and send the changed rows."""
        if self.closing or self.version is None or event["version"] <= self.version:
            return
        message, self.rows = await database_sync_to_async(publish.custom_view_update)(
            self.stream, event["version"], event["reason"], event["rounds"], self.rows or {}
        )
        await self.send(text_data=json.dumps(message))
        self.version = event["version"]

    async def private_refresh(self, event: dict) -> None:
        if self.closing or self.user is None or self.version is None:
            return
        await self.send_private()


class LeaderboardConsumer(LiveConsumer):
    """`/ws/tournaments/<slug>/leaderboard/?metric=corr&last_n=4` (the page's choice)."""

    def resolve_stream(self) -> publish.Stream:
        slug = self.scope["url_route"]["kwargs"]["slug"]
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        metric = query.get("metric", ["corr"])[-1]
        if metric not in publish.METRICS:
            raise StreamRefused(
                CloseCode.MALFORMED, f"unknown metric {metric!r}: use {', '.join(publish.METRICS)}"
            )
        raw = query.get("last_n", ["4"])[-1]
        if not raw.isdigit() or not 1 <= int(raw) <= publish.MAX_LAST_N:
            raise StreamRefused(
                CloseCode.MALFORMED, f"last_n must be a whole number from 1 to {publish.MAX_LAST_N}"
            )
        tournament = Tournament.objects.filter(slug=slug).only("id", "slug").first()
        if tournament is None:
            raise StreamRefused(CloseCode.NOT_FOUND, f"no tournament with slug {slug!r}")
        return publish.Stream(tournament.id, slug, "leaderboard", metric, int(raw))


class RoundConsumer(LiveConsumer):
    """`/ws/tournaments/<slug>/rounds/<number>/`: the round page's facts and scores."""

    def resolve_stream(self) -> publish.Stream:
        kwargs = self.scope["url_route"]["kwargs"]
        slug, number = kwargs["slug"], kwargs["number"]
        rnd = Round.objects.filter(tournament__slug=slug, number=number).only("tournament_id").first()
        if rnd is None:
            raise StreamRefused(CloseCode.NOT_FOUND, f"no round {number} in tournament {slug!r}")
        return publish.Stream(rnd.tournament_id, slug, "round", round_number=number)


class NoStreamConsumer(LiveConsumer):
    """Any other /ws/ path: a clear 4404 instead of the router's unhandled exception."""

    def resolve_stream(self) -> publish.Stream:
        raise StreamRefused(CloseCode.NOT_FOUND, f"no live stream at {self.scope['path']}")
