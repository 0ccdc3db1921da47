"""Group membership and rounds: the rules for a session when its group moves on or is joined.

A coordinator starts a new round; a check from an earlier round stays with that round and the
person begins anew in the current one. Joining moves the current session along with all its
answers, except a completed check of an earlier round of the same group, which stays there.
"""

from __future__ import annotations

from enum import Enum


class Join(Enum):
    """What joining a group's current round does with the person's session."""

    ALREADY = "already"  # the session is in this round of this group: nothing to do
    MOVE = "move"  # the session (and its answers) now counts for this group and round
    NEW_ROUND = "new_round"  # a completed check of an earlier round stays; begin anew


def behind_current_round(session_round: int | None, current_round: int) -> bool:
    """Whether a group session belongs to a round the coordinator has since left behind."""
    return session_round is not None and current_round > session_round


def joining(
    session_group: int | None,
    session_round: int | None,
    completed: bool,
    group: int,
    current_round: int,
) -> Join:
    """What joining round `current_round` of `group` does with the person's current session."""
    if session_group == group and session_round == current_round:
        return Join.ALREADY
    if completed and session_group == group:
        return Join.NEW_ROUND
    return Join.MOVE
