"""Delivers a turn through a transport and records what the transport reports back.

Delivery never writes to the store; this is where its report becomes state: the message that
now carries the session's keyboard, and a chat that has blocked the bot.
"""

from __future__ import annotations

from bot.app.ports import Clock, Delivered, Delivery, People, Sessions, Turn


class Outbox:
    def __init__(self, sessions: Sessions, people: People, clock: Clock) -> None:
        self.sessions = sessions
        self.people = people
        self.clock = clock

    async def deliver(self, delivery: Delivery, chat_id: int, turn: Turn) -> Delivered:
        """Show `turn` in `chat_id`; call it while holding the person's lock."""
        delivered = await delivery.deliver(chat_id, turn)
        live = delivered.live_message_id
        if turn.session_id and live is not None and live != turn.live_message_id:
            await self.sessions.set_message_id(turn.session_id, live)
        if delivered.blocked:
            await self.people.mark_blocked(chat_id, self.clock())
        return delivered
