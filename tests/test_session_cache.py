"""Issue 15: the session cache spares the hot path its reads and is never the source of truth.

The bot keeps each person's current session as it last read or wrote it, and acts on that
only through a write guarded by the session's id and revision. Here someone else changes the
file behind the bot's back (the admin CLI as its own process, or any other connection): the
next press must store nothing in the wrong place and show what is really stored.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app.records import SessionRecord
from bot.store.sessions import SessionCache
from flows.session import Position, Screen, SessionState
from tests.fast import FastBot, FastUser, fast_bot
from tests.harness import ROOT
from tests.process import run_to_exit

MINI = ROOT / "tests" / "fixtures" / "mini.yaml"
STALE = "nicht mehr aktuell"


def rows(database: Path, query: str, *params: object) -> list[tuple]:
    with sqlite3.connect(database) as db:
        return db.execute(query, params).fetchall()


@pytest.fixture
async def bot(database: Path) -> AsyncIterator[FastBot]:
    async with fast_bot(database, QUESTIONNAIRE_PATH=str(MINI)) as running:
        yield running


async def answered_once(bot: FastBot, user_id: int) -> FastUser:
    """A person at their second question: the session is cached as the last answer wrote it."""
    person = bot.user(user_id, "Cache")
    await person.send_command("/start")
    await person.press("Stadt")
    await person.press("Los geht’s")
    await person.press("trifft voll zu")
    assert "Gespeichert" in (person.last_text or "")
    return person


async def test_a_reset_by_the_admin_cli_is_seen_at_the_next_press(
    bot: FastBot, database: Path
) -> None:
    person = await answered_once(bot, 600)
    question = person.last_message
    result = await run_to_exit(
        {"DATABASE_PATH": str(database), "QUESTIONNAIRE_PATH": str(MINI)}, "admin", "reset", "600"
    )
    assert result.code == 0, result.stderr

    press = await person.press("trifft eher zu", question)
    assert STALE in (press.answer or {}).get("text", "")
    assert "Willkommen beim Mini-Selbstcheck" in (person.last_text or "")
    # The archived check keeps its one answer, the fresh one has none.
    assert rows(
        database,
        "SELECT s.archived_reason, count(a.question_id) FROM sessions s "
        "LEFT JOIN answers a ON a.session_id = s.id WHERE s.user_id = 600 GROUP BY s.id",
    ) == [("admin_reset", 1), (None, 0)]


async def test_a_change_by_another_connection_wins_over_the_cached_session(
    bot: FastBot, database: Path
) -> None:
    person = await answered_once(bot, 601)
    question = person.last_message
    (session_id, question_id, revision) = rows(
        database,
        "SELECT id, question_id, revision FROM sessions "
        "WHERE user_id = 601 AND archived_at IS NULL",
    )[0]
    with sqlite3.connect(database) as other:  # the same question answered elsewhere meanwhile
        other.execute(
            "INSERT INTO answers VALUES (?, ?, 'none', '2026-12-01T10:00:00+00:00')",
            (session_id, question_id),
        )
        other.execute(
            "UPDATE sessions SET revision = ?, screen = 'menu', question_id = NULL WHERE id = ?",
            (revision + 1, session_id),
        )

    press = await person.press("trifft eher zu", question)
    assert STALE in (press.answer or {}).get("text", "")
    assert rows(
        database,
        "SELECT option_id FROM answers WHERE session_id = ? AND question_id = ?",
        session_id,
        question_id,
    ) == [("none",)]
    assert rows(database, "SELECT revision FROM sessions WHERE id = ?", session_id) == [
        (revision + 1,)
    ]
    # From here on the bot works from what is stored: the menu shows the other answer.
    await person.press("📋 Menü")
    assert any("Feld Alpha" in label for label in person.buttons()), person.buttons()
    assert rows(database, "SELECT count(*) FROM answers WHERE session_id = ?", session_id) == [(2,)]


def record(session_id: int, user_id: int, revision: int = 0) -> SessionRecord:
    state = SessionState({}, Position(Screen.WELCOME), revision)  # type: ignore[arg-type]
    return SessionRecord(session_id, user_id, "hash", state, None, "t", "t", None)


def test_the_cache_is_bounded_and_refuses_what_a_forgotten_write_may_have_changed() -> None:
    cache = SessionCache(size=2)
    for user_id in (1, 2, 3):
        cache.put(user_id, record(10 + user_id, user_id), cache.generation)
    assert cache.get(1) is None and cache.get(2) is not None and cache.get(3) is not None
    assert cache.owner(11) is None and cache.owner(13) == 3

    read_began = cache.generation
    cache.forget_all()  # any other write ran while the read was under way
    cache.put(4, record(14, 4), read_began)
    assert cache.get(4) is None and cache.get(2) is None
