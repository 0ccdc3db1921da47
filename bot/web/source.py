"""What the web server needs from the rest of the bot, as a small protocol.

The server never touches storage: the composition root passes an object with these three
coroutines (backed by the store), and tests pass one built from real `flows` data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.app.ports import ViewerReport
from flows.questionnaire import Questionnaire


@dataclass(frozen=True)
class GroupLink:
    """A group's link state: `generation` is raised to revoke every older link.

    There is no "closed" state here on purpose: closing a group (/gruppeschliessen) only stops
    new participants — it is reversible, started checks may still be completed, and it is what
    a coordinator does right before the workshop the page is for. A link ends when it is
    revoked (`/workshop neu`), expires, or its round is over (`current_round` moved on).
    """

    generation: int
    current_round: int


@dataclass(frozen=True)
class WorkshopData:
    """A round's published report with its group and round, as the page and the PDF show it.

    `seen` is exactly what the chat report renders: the `ViewerReport` that
    `GroupDesk.published_report(group, viewer_id)` returns. The page never sees a live
    aggregation, only the release as its viewer may see it.
    """

    group_name: str
    round: int
    questionnaire: Questionnaire
    seen: ViewerReport


class WorkshopSource(Protocol):
    async def group_link(self, group_id: int) -> GroupLink | None:
        """The group's link state, or None for a group that does not exist."""
        ...

    async def page_data(self, group_id: int, round: int) -> WorkshopData | None:
        """The figures of one round, or None when the group has no such round."""
        ...

    async def is_coordinator(self, user_id: int, group_id: int) -> bool:
        """Whether this Telegram user coordinates the group (checked for Mini App requests)."""
        ...
