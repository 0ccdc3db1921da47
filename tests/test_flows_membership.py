"""Rounds and joining: which session a person's answers count for when a group moves on."""

from __future__ import annotations

from flows.membership import Join, behind_current_round, joining


def test_a_session_of_an_earlier_round_is_behind_and_one_without_a_group_never() -> None:
    assert behind_current_round(1, 2)
    assert not behind_current_round(2, 2)
    assert not behind_current_round(None, 5)


def test_joining_moves_the_session_except_a_completed_check_of_an_earlier_round() -> None:
    assert joining(7, 2, completed=False, group=7, current_round=2) is Join.ALREADY
    assert joining(7, 2, completed=True, group=7, current_round=2) is Join.ALREADY
    assert joining(7, 1, completed=True, group=7, current_round=2) is Join.NEW_ROUND
    assert joining(7, 1, completed=False, group=7, current_round=2) is Join.MOVE
    assert joining(None, None, completed=True, group=7, current_round=1) is Join.MOVE
    assert joining(3, 1, completed=True, group=7, current_round=1) is Join.MOVE  # switching
