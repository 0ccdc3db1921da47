"""The next open field after a finished one: onward from it, wrapping around, skipping done ones."""

from __future__ import annotations

from pathlib import Path

from flows.loading import parse_questionnaire
from flows.navigation import next_open_field

MINI = Path(__file__).resolve().parent / "fixtures" / "mini.yaml"
Q = parse_questionnaire(MINI.read_text(encoding="utf-8"), "mini.yaml")


def answered(*fields: str) -> dict[str, str | None]:
    """Every question of these fields answered (skips count as answered)."""
    return {q.id: None for f in fields for q in Q.field_questions(f)}


def test_next_open_field_goes_onward_then_wraps_around_and_ends() -> None:
    assert [f.id for f in Q.fields] == ["alpha", "beta", "gamma"]
    assert next_open_field(Q, answered("alpha"), "alpha") == "beta"
    assert next_open_field(Q, answered("alpha", "beta"), "beta") == "gamma"
    assert next_open_field(Q, answered("beta", "gamma"), "gamma") == "alpha"  # wraps
    assert next_open_field(Q, answered("gamma"), "gamma") == "alpha"
    assert next_open_field(Q, answered("alpha", "beta", "gamma"), "beta") is None
    # One open question is enough to make a field the next one.
    partly = answered("alpha", "gamma") | {Q.field_questions("beta")[0].id: "full"}
    assert next_open_field(Q, partly, "alpha") == "beta"
