"""A participant's data rights and the stored release history, in-process (`tests/fast.py`).

Releases survive a restart (a fresh history after a restart would let a coordinator difference
the first new release against what they saw before).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.fast import fast_bot
from tests.harness import TOKEN, running_bot, wait_for
from tests.process import run_to_exit
from tests.telegram_server import BotApiServer
from tests.test_e2e_groups import (
    FIELDS,
    QUESTIONS,
    answer_questions,
    attack,
    create_group,
    join,
    pattern,
    query,
    reply_text,
    shown_figures,
)


async def test_a_report_seen_once_is_shown_unchanged_after_a_restart(database: Path) -> None:
    async with fast_bot(database) as bot:
        coordinator = bot.user(100, "Kim")
        token, _, group_id = await create_group(coordinator)
        people = {seed: bot.user(301 + seed, f"P{seed}") for seed in range(4)}
        for seed in range(3):
            await join(people[seed], token, "Verwaltung")
        await asyncio.gather(*(answer_questions(people[s], pattern(s)) for s in range(3)))
        three = await reply_text(coordinator, "/groupreport")
        assert len(shown_figures(three)) == len(FIELDS) and "Stand: Bericht 1 vom " in three
        await join(people[3], token, "Verwaltung")
        await answer_questions(people[3], pattern(3))
        four = await reply_text(coordinator, "/groupreport")
        assert "Seitdem sind 1 Selbstchecks" in four

    async with fast_bot(database) as bot:
        after = await reply_text(bot.user(100, "Kim"), "/groupreport")
    # The same text, word for word: the same release, with the fourth still waiting.
    assert after == four
    assert shown_figures(after) == shown_figures(three)
    stored = query(
        database, "SELECT round, number FROM group_releases WHERE group_id = ?", group_id
    )
    assert stored == [(1, 1)]
    # The restart attack: a fresh first release over four checks, differenced against the
    # three-check release seen before, would give the fourth person's exact score. The
    # coordinator learns nothing from the two reports beyond the first one.
    learned = attack([three, after], [[0, 1, 2], [0, 1, 2]])
    assert {name for name, _, _ in learned} == {"inversion"}
    assert all(len(found) > 1 for _, _, found in learned)


# Nothing listens here: the refusal must come before the bot talks to Telegram.
NOWHERE = "http://127.0.0.1:9"

# -- /datenschutz ----------------------------------------------------------------------------

CONTROLLER = "Stadt Musterstadt, Rathausplatz 1, 12345 Musterstadt"
CONTACT = "datenschutz@musterstadt.example"


async def test_privacy_notice_names_the_operator_and_is_linked(database: Path) -> None:
    env = {"PRIVACY_CONTROLLER": CONTROLLER, "PRIVACY_CONTACT": CONTACT}
    async with fast_bot(database, RETENTION_MONTHS="18", **env) as bot:
        person = bot.user(401, "Ada")
        notice = await reply_text(person, "/datenschutz")
        assert f"Verantwortlich: {CONTROLLER}" in notice
        assert f"Kontakt bei Fragen zum Datenschutz: {CONTACT}" in notice
        assert "längstens 18 Monate nach Ihrer letzten Aktivität" in notice
        assert "/meinedaten" in notice and "/loeschen" in notice
        # Reading the notice stores nothing about the reader.
        assert query(database, "SELECT count(*) FROM users") == [(0,)]
        assert "/datenschutz" in await reply_text(person, "/start")
        coordinator = bot.user(100, "Kim")
        token, _, _ = await create_group(coordinator)
        consent = await reply_text(person, "/start", token)
        assert "/datenschutz" in consent and "/gruppeverlassen" in consent
        # Every command of everyone is listed in /hilfe, by its German name.
        help_text = await reply_text(person, "/hilfe")
        for spec in bot.core.table.menu("everyone"):
            assert f"/{spec.name}" in help_text, spec.name


async def test_privacy_notice_without_operator_details_says_so(database: Path) -> None:
    async with fast_bot(database) as bot:
        notice = await reply_text(bot.user(402, "Bo"), "/privacy")
    assert notice.count("noch nicht hinterlegt") == 2
    assert "längstens 24 Monate" in notice


async def test_on_telegram_the_bot_refuses_to_start_without_operator_details(
    database: Path,
) -> None:
    env = {"BOT_TOKEN": TOKEN, "DATABASE_PATH": str(database), "TELEGRAM_BASE_URL": NOWHERE}
    for missing in ({}, {"PRIVACY_CONTROLLER": CONTROLLER}, {"PRIVACY_CONTACT": CONTACT}):
        result = await run_to_exit({**env, **missing}, timeout=30)
        assert result.code == 2, result
        assert result.lines == [
            "Configuration error: PRIVACY_CONTROLLER and PRIVACY_CONTACT are required with "
            "BOT_TOKEN: the privacy notice (/datenschutz) must name who is responsible and how "
            "to reach them"
        ], result
    assert not database.exists()


# -- /meinedaten -----------------------------------------------------------------------------


async def test_own_data_as_readable_document_and_json_to_that_person_only(
    database: Path,
) -> None:
    async with fast_bot(database) as bot:
        coordinator = bot.user(100, "Kim")
        token, _, _ = await create_group(coordinator)
        person, other = bot.user(411, "Ada", "ada_k"), bot.user(412, "Bo")
        await join(person, token, "Politik")
        assert await answer_questions(person, pattern(2), limit=3) == 3
        await reply_text(person, "/erinnerungen", "aus")
        await reply_text(other, "/start")
        sent = await reply_text(person, "/meinedaten")
        assert "Nur Sie erhalten diese Dokumente" in sent
        text, data = (d.content for d in person.documents)
        names = [d.file_name for d in person.documents]
        # The first question as the person was shown it (terms of their municipality type).
        shown = bot.core.catalog.active.question(QUESTIONS[0]["id"])
        assert not other.documents and not coordinator.documents
    assert names == ["meine-daten.txt", "meine-daten.json"]
    mine = json.loads(data)
    assert mine["profile"][0]["user_id"] == 411 and mine["profile"][0]["username"] == "ada_k"
    stored = query(
        database,
        "SELECT a.question_id, a.option_id, a.answered_at FROM answers a "
        "JOIN sessions s ON s.id = a.session_id WHERE s.user_id = 411 ORDER BY a.question_id",
    )
    given = sorted((a["question_id"], a["option_id"], a["answered_at"]) for a in mine["answers"])
    assert given == [tuple(row) for row in stored]
    assert [s["group_name"] for s in mine["sessions"]] == ["Stadt Musterstadt"]
    assert mine["sessions"][0]["perspective"] == "politics"
    assert mine["reminders_off"] and mine["coordinates"] == []
    question_id, question_text = shown.id, shown.text
    field_title = next(f["title"] for f in FIELDS if f["id"] == shown.field)
    assert "{" not in question_text
    first = next(a for a in mine["answers"] if a["question_id"] == question_id)
    assert first["question"] == question_text and first["field"] == field_title
    readable = text.decode()
    assert "Ihre Antworten" in readable and question_text in readable
    assert f"{field_title} · {question_text} → {first['answer']}" in readable
    assert "Telegram-Nutzer-ID: 411" in readable and "Gruppe: Stadt Musterstadt" in readable


async def test_own_data_documents_over_telegram(server: BotApiServer, database: Path) -> None:
    """Real HTTP: the two documents arrive as files (sendDocument) in the person's chat only."""
    async with running_bot(server, database) as bot:
        person, other = bot.user(421, "Ada"), bot.user(422, "Bo")
        await reply_text(other, "/start")
        await reply_text(person, "/start")
        assert await answer_questions(person, pattern(1), limit=2) == 2
        await person.send_command("/meinedaten")
        await wait_for(lambda: len(person.documents) == 2, what="two documents")
        await person.wait_until_idle()
        text, data = person.documents
    assert (text.file_name, data.file_name) == ("meine-daten.txt", "meine-daten.json")
    assert len(json.loads(data.content)["answers"]) == 2
    assert "Telegram-Nutzer-ID: 421" in text.content.decode()
    assert [call.chat_id for call in server.calls("sendDocument")] == [421, 421]
    assert not other.documents
