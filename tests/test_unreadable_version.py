"""A session on a questionnaire version whose stored source can no longer be read.

A damaged row, or a later release of the bot with stricter rules than the ones a stored source
once passed, must not stall the person (every press an error) nor take group reports down, and
nothing stored may be lost. The person is told and may go on with the active version; a group
report keeps its last release until every check can be read again (a release without one check
would publish that check by difference).
"""

from __future__ import annotations

import logging
import re
import sqlite3
from pathlib import Path

import pytest

from bot.app import codec
from tests.fast import FastUser, fast_bot
from tests.stored import query
from tests.test_e2e_groups import create_group
from tests.test_fast_conversation import finish_check

NOTICE = "lässt sich im Moment nicht laden"
ADOPT = "▶️ Mit der aktuellen Fassung weitermachen"


def new_version(questionnaire: Path, version: str) -> None:
    text = re.sub(r'(?m)^version: ".*"$', f'version: "{version}"', questionnaire.read_text("utf-8"))
    questionnaire.write_text(text, "utf-8")


def break_stored_source(database: Path, content_hash: str) -> None:
    """What a damaged row (or stricter rules) looks like to the bot: a source that fails."""
    with sqlite3.connect(database) as db:
        db.execute(
            "UPDATE questionnaire_versions SET source = 'id: [kaputt' WHERE content_hash = ?",
            (content_hash,),
        )


def session_hash(database: Path, user_id: int) -> str:
    rows = query(
        database,
        "SELECT content_hash FROM sessions WHERE user_id = ? AND archived_at IS NULL",
        user_id,
    )
    return str(rows[0][0])


def no_errors(caplog: pytest.LogCaptureFixture) -> None:
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


async def begin_and_answer(person: FastUser, answers: int) -> None:
    await person.send_command("/start")
    await person.press("Stadt")
    await person.press("Los geht’s")
    for _ in range(answers):
        await person.press("trifft voll zu")


async def test_a_person_on_an_unreadable_version_is_told_and_goes_on_with_the_active_one(
    database: Path, questionnaire: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = {"QUESTIONNAIRE_PATH": str(questionnaire)}
    async with fast_bot(database, **env) as bot:
        await begin_and_answer(bot.user(201, "Kim"), answers=2)
    old = session_hash(database, 201)
    new_version(questionnaire, "test.2")
    break_stored_source(database, old)
    caplog.set_level(logging.INFO)
    async with fast_bot(database, **env) as bot:
        person = bot.user(201, "Kim")
        # A command, free text and a button of the old version: the same answer each time.
        await person.send_command("/menu")
        assert NOTICE in (person.last_text or "")
        assert "Ihre Antworten sind sicher gespeichert" in (person.last_text or "")
        assert person.buttons() == [ADOPT]
        await person.send_text("hallo?")
        assert NOTICE in (person.last_text or "") and person.buttons() == [ADOPT]
        pressed = await person.press_data(1, codec.answer(3, 2, 0))
        assert pressed.answer is not None and "nicht laden" in pressed.answer["text"]
        assert NOTICE in (person.last_text or "")
        # Read once, then remembered as unreadable: one WARNING, not one per input.
        warnings = [r for r in caplog.records if r.name == "bot.store.catalog"]
        assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
        assert old in warnings[0].getMessage()
        no_errors(caplog)
        assert query(database, "SELECT COUNT(*) FROM answers")[0][0] == 2

        await person.press(ADOPT)
        text = person.last_text or ""
        assert "Sie machen jetzt mit der aktuellen Fassung des Fragebogens weiter" in text
        await person.send_command("/fortschritt")
        assert "2 beantwortet, 0 übersprungen, 8 offen" in (person.last_text or "")
        # Onward from where the answers stand: the third question is next.
        await person.send_command("/menu")
        await person.press("1. Feld Alpha (2/3)")
        await person.press("trifft eher zu")
        # The old notice's button, pressed again, is stale and changes nothing.
        notice = next(m for m in reversed(person.messages) if NOTICE in (m.text or ""))
        before = session_hash(database, 201)
        again = await person.press_data(notice.message_id, codec.ADOPT_ACTIVE)
        assert again.answer is not None and "nicht mehr aktuell" in again.answer["text"]
        assert session_hash(database, 201) == before
    current = query(
        database,
        "SELECT content_hash FROM questionnaire_versions WHERE version = 'test.2'",
    )
    assert (session_hash(database, 201),) in current
    assert query(database, "SELECT COUNT(*) FROM answers")[0][0] == 3
    no_errors(caplog)


async def test_a_forged_adopt_press_on_a_readable_version_changes_nothing(
    database: Path, questionnaire: Path
) -> None:
    async with fast_bot(database, QUESTIONNAIRE_PATH=str(questionnaire)) as bot:
        person = bot.user(202, "Alex")
        await begin_and_answer(person, answers=1)
        before = query(database, "SELECT content_hash, revision FROM sessions")
        pressed = await person.press_data(1, codec.ADOPT_ACTIVE)
        assert pressed.answer is not None and "nicht mehr aktuell" in pressed.answer["text"]
        assert query(database, "SELECT content_hash, revision FROM sessions") == before


async def test_a_group_report_keeps_its_last_release_while_a_check_cannot_be_read(
    database: Path, questionnaire: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Three checks make the first release; a fourth, on a version that then breaks, must not
    change what is published (without its answers, or leaving it out, a new release would
    differ from the first by exactly that check), and the rest of the bot goes on."""
    env = {"QUESTIONNAIRE_PATH": str(questionnaire), "ADMIN_IDS": "900"}
    async with fast_bot(database, **env) as bot:
        coordinator = bot.user(100, "Kim")
        token, _, _ = await create_group(coordinator)
        for user_id in (201, 202, 203):
            person = bot.user(user_id, f"P{user_id}")
            await person.send_command("/start", token)
            await person.press("✅ Einverstanden, teilnehmen")
            await person.press("Verwaltung")
            await finish_check(person, "trifft voll zu")
        await coordinator.send_command("/gruppenbericht")
        first = coordinator.last_text or ""
        assert "Stand: Bericht 1 vom" in first
        new_version(questionnaire, "test.2")
        admin = bot.user(900, "Admin")
        await admin.send_command("/reload")
        late = bot.user(204, "P204")
        await late.send_command("/start", token)
        await late.press("✅ Einverstanden, teilnehmen")
        await late.press("Politik")
        await finish_check(late, "trifft nicht zu")
        new_version(questionnaire, "test.3")
        await admin.send_command("/reload")
    break_stored_source(database, session_hash(database, 204))
    caplog.set_level(logging.INFO)
    async with fast_bot(database, **env) as bot:
        coordinator = bot.user(100, "Kim")
        await coordinator.send_command("/gruppenbericht")
        report = coordinator.last_text or ""
        assert "Stand: Bericht 1 vom" in report and "3 abgeschlossene Selbstchecks" in report
        assert query(database, "SELECT COUNT(*) FROM group_releases")[0][0] == 1
        held = [r for r in caplog.records if r.name == "bot.app.groups"]
        assert held and all(r.levelno == logging.WARNING for r in held)
        # The admin's export and the person's own data still give every stored answer.
        admin = bot.user(900, "Admin")
        await admin.send_command("/export")
        await admin.send_command("/stats")
        late = bot.user(204, "P204")
        await late.send_command("/meinedaten")
        assert any(m.document for m in late.messages)
        # The person moves the check onto the active version: it counts again, as a newcomer.
        await late.send_command("/start")
        await late.press(ADOPT)
        await coordinator.send_command("/gruppenbericht")
        assert "Seitdem ist 1 Selbstcheck hinzugekommen" in (coordinator.last_text or "")
    assert (
        query(
            database,
            "SELECT COUNT(*) FROM answers WHERE session_id IN "
            "(SELECT id FROM sessions WHERE user_id = 204)",
        )[0][0]
        == 10
    )
    no_errors(caplog)
