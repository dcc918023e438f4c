"""Websocket consumers: authenticate, join groups, relay pushes from events.py."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from tournaments.events import leaderboard_group


class LeaderboardConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.group = leaderboard_group(self.scope["url_route"]["kwargs"]["slug"])
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def round_update(self, event):
        await self.send_json({k: v for k, v in event.items() if k != "type"} | {"kind": "round"})
