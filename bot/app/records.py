"""The records use cases work with: what the store returns, never a database row or cursor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flows.session import SessionState


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class UserRef:
    """Who the bot talks to; in private chats the chat id equals the user id."""

    user_id: int
    chat_id: int
    username: str | None = None
    first_name: str | None = None


@dataclass(frozen=True)
class SessionRecord:
    id: int
    user_id: int
    content_hash: str
    state: SessionState
    message_id: int | None
    started_at: str
    updated_at: str
    completed_at: str | None
    group_id: int | None = None
    group_round: int | None = None
    perspective: str | None = None
    municipality_type: str | None = None
    """The type the person (or their group's coordinator) chose; None: not chosen yet."""


@dataclass(frozen=True)
class GroupRecord:
    id: int
    name: str
    join_token: str
    coordinator_token: str
    created_by: int
    created_at: str
    closed_at: str | None
    current_round: int
    municipality_type: str | None = None
    """The type every check of the group answers for; None: the questionnaire's default."""
    link_generation: int = 0  # workshop links of older generations are revoked

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


@dataclass(frozen=True)
class GroupCounts:
    joined: int
    started: int
    completed: int


@dataclass(frozen=True)
class CompletedCheck:
    """A completed session of a group round, for aggregation; never shown individually.

    `session_id` identifies the check in disclosure control's releases; `user_id` tells a
    coordinator's own check apart (it must not count towards their own threshold).
    """

    perspective: str | None
    content_hash: str
    answers: dict[str, str | None]
    session_id: int
    user_id: int
