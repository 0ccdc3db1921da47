"""What the web server needs from the rest of the bot, as a small protocol.

The server never touches storage: the composition root passes an object with these three
coroutines (backed by the store), and tests pass one built from real `flows` data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from flows.aggregation import GroupReport
from flows.questionnaire import Questionnaire


@dataclass(frozen=True)
class GroupLink:
    """A group's link state: `generation` is raised to revoke every older link."""

    generation: int
    closed: bool = False  # True: the group's workshop page is no longer available


@dataclass(frozen=True)
class WorkshopData:
    """A round's report with what the page says about it."""

    group_name: str
    round: int
    released: date
    questionnaire: Questionnaire
    report: GroupReport  # or flows.disclosure.PublishedReport, which has the same shape
    previous_round: int | None = None


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
