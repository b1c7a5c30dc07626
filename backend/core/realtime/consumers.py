"""The one websocket consumer, at /ws/events/: refuse anonymous users (4401), join only the groups
this user may see, relay events as JSON `{"id", "type", "at", "payload"}`."""
from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .auth import NOT_AUTHENTICATED


class EventsConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            # ConnectionPolicyMiddleware refuses these before routing; accept first, as it does,
            # so that the client reads the code (a close before accept is an HTTP 403).
            await self.accept()
            await self.close(code=NOT_AUTHENTICATED)
            return
        from accounts.permissions import event_groups_for

        self.groups_joined = await database_sync_to_async(event_groups_for)(user)
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "payload": {"groups": self.groups_joined}})

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        # The socket is one-way; a ping keeps proxies from closing an idle connection.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong", "payload": {}})

    async def event_relay(self, message: dict) -> None:
        await self.send_json(message["event"])
