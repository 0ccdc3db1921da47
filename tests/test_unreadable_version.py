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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.app import codec
from bot.web.documents import workshop_page
from bot.web.pages import DeskSource
from bot.web.render import shared_renderer
from tests.fast import FastBot, FastUser, fast_bot
from tests.stored import query
from tests.test_e2e_groups import create_group
from tests.test_e2e_reminders import FakeClock
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


async def join_and_finish(bot: FastBot, user_id: int, token: str, label: str) -> None:
    person = bot.user(user_id, f"P{user_id}")
    await person.send_command("/start", token)
    await person.press("✅ Einverstanden, teilnehmen")
    await person.press("Verwaltung")
    await finish_check(person, label)


async def reload_version(bot: FastBot, questionnaire: Path, version: str) -> None:
    new_version(questionnaire, version)
    admin = bot.user(900, "Admin")
    await admin.send_command("/reload")
    assert "Fragebogen neu geladen." in (admin.last_text or "")


@asynccontextmanager
async def broken_then_three_more(
    database: Path, env: dict[str, str], token: str, broken: int, newcomers: tuple[int, ...]
) -> AsyncIterator[tuple[FastBot, str]]:
    """Break the stored version of `broken`'s check, restart, let `newcomers` complete on
    the active version; yields the bot and the coordinator's report then."""
    break_stored_source(database, session_hash(database, broken))
    async with fast_bot(database, **env) as bot:
        for user_id in newcomers:
            await join_and_finish(bot, user_id, token, "trifft eher zu")
        coordinator = bot.user(100, "Kim")
        await coordinator.send_command("/gruppenbericht")
        yield bot, coordinator.last_text or ""


def releases(database: Path) -> int:
    return int(query(database, "SELECT COUNT(*) FROM group_releases")[0][0])


async def test_an_unreadable_check_no_release_counted_yet_is_left_out_and_the_round_goes_on(
    database: Path, questionnaire: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """In no published figure, so leaving it out publishes nothing about it: three more
    checks make the next release without it, and it counts again once it can be read."""
    env = {"QUESTIONNAIRE_PATH": str(questionnaire), "ADMIN_IDS": "900"}
    async with fast_bot(database, **env) as bot:
        coordinator = bot.user(100, "Kim")
        token, _, _ = await create_group(coordinator)
        for user_id in (201, 202, 203):
            await join_and_finish(bot, user_id, token, "trifft voll zu")
        await coordinator.send_command("/gruppenbericht")
        assert "Stand: Bericht 1 vom" in (coordinator.last_text or "")
        await reload_version(bot, questionnaire, "test.2")
        await join_and_finish(bot, 204, token, "trifft nicht zu")
        await reload_version(bot, questionnaire, "test.3")
    caplog.set_level(logging.INFO)
    async with broken_then_three_more(database, env, token, 204, (205, 206, 207)) as (bot, report):
        coordinator = bot.user(100, "Kim")
        assert "Stand: Bericht 2 vom" in report and "6 abgeschlossene Selbstchecks" in report
        assert "Seitdem" not in report and "technisch nicht laden" not in report
        assert releases(database) == 2
        held = [r for r in caplog.records if r.name == "bot.app.groups"]
        assert held and "left out until they can" in held[0].getMessage()
        # The admin's export and the person's own data still give every stored answer.
        admin = bot.user(900, "Admin")
        await admin.send_command("/export")
        assert any(m.document for m in admin.messages)
        await admin.send_command("/stats")
        stats = admin.last_text or ""
        assert "Nicht mitgezählt: ein aktueller Selbstcheck, dessen Fragebogen-Fassung" in stats
        late = bot.user(204, "P204")
        await late.send_command("/meinedaten")
        assert any(m.document for m in late.messages)
        # The person moves the check onto the active version: it counts again, as a newcomer.
        await late.send_command("/start")
        await late.press(ADOPT)
        await coordinator.send_command("/gruppenbericht")
        assert "Seitdem ist 1 Selbstcheck hinzugekommen" in (coordinator.last_text or "")
    answers_of_204 = query(
        database,
        "SELECT COUNT(*) FROM answers WHERE session_id IN "
        "(SELECT id FROM sessions WHERE user_id = 204)",
    )
    assert answers_of_204 == [(10,)]
    no_errors(caplog)


async def test_an_unreadable_check_a_release_counted_holds_the_round_at_that_release(
    database: Path, questionnaire: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Leaving out a released check would be a removal: the next release would differ from
    the last by it (and the audit would withhold its fields for the rest of the round). So
    the round stays at its release, says so without promising the next one, and goes on
    once the check can be read again."""
    env = {"QUESTIONNAIRE_PATH": str(questionnaire), "ADMIN_IDS": "900"}
    async with fast_bot(database, **env) as bot:
        coordinator = bot.user(100, "Kim")
        token, _, _ = await create_group(coordinator)
        for user_id in (201, 202):
            await join_and_finish(bot, user_id, token, "trifft voll zu")
        await reload_version(bot, questionnaire, "test.2")
        await join_and_finish(bot, 203, token, "trifft nicht zu")
        await coordinator.send_command("/gruppenbericht")
        assert "Stand: Bericht 1 vom" in (coordinator.last_text or "")
        await reload_version(bot, questionnaire, "test.3")
    caplog.set_level(logging.INFO)
    async with broken_then_three_more(database, env, token, 203, (204, 205, 206)) as (bot, report):
        coordinator = bot.user(100, "Kim")
        assert "Stand: Bericht 1 vom" in report and "3 abgeschlossene Selbstchecks" in report
        assert "lässt sich die Fragebogen-Fassung gerade technisch nicht laden" in report
        assert "im nächsten Bericht" not in report
        assert releases(database) == 1
        held = [r for r in caplog.records if r.name == "bot.app.groups"]
        assert held and "no new release until they can" in held[0].getMessage()
        # The workshop page says the same, without the promise either.
        group = await bot.core.storage.group(1)
        assert group is not None
        source = DeskSource(bot.core.storage, bot.core.groups, bot.core.catalog)
        page = await source.page_data(group.id, group.current_round)
        assert page is not None and page.seen.held and page.seen.report.release == 1
        model = workshop_page(page, shared_renderer())
        assert model.pending_note is not None and "technisch nicht laden" in model.pending_note
        # The person comes back and goes on with the active version: the round moves on.
        person = bot.user(203, "P203")
        await person.send_command("/start")
        assert NOTICE in (person.last_text or "")
        await person.press(ADOPT)
        await coordinator.send_command("/gruppenbericht")
        report = coordinator.last_text or ""
        assert "Stand: Bericht 2 vom" in report and "6 abgeschlossene Selbstchecks" in report
    assert releases(database) == 2
    no_errors(caplog)


async def test_a_due_reminder_on_an_unreadable_version_brings_the_notice(
    database: Path, questionnaire: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    env = {"QUESTIONNAIRE_PATH": str(questionnaire), "REMINDER_DAYS": "3"}
    async with fast_bot(database, clock=clock, **env) as bot:
        await begin_and_answer(bot.user(201, "Kim"), answers=1)
    old = session_hash(database, 201)
    new_version(questionnaire, "test.2")
    break_stored_source(database, old)
    caplog.set_level(logging.INFO)
    clock.advance(days=4)
    async with fast_bot(database, clock=clock, **env) as bot:
        assert await bot.core.reminders.check() == 1
        person = bot.user(201, "Kim")
        assert NOTICE in (person.last_text or "") and person.buttons() == [ADOPT]
        await person.press(ADOPT)
        assert "Sie machen jetzt mit der aktuellen Fassung" in (person.last_text or "")
    no_errors(caplog)
