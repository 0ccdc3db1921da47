"""A participant's data rights and the stored release history, in-process (`tests/fast.py`).

Releases survive a restart (a fresh history after a restart would let a coordinator difference
the first new release against what they saw before).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.store.release_json import load_release
from bot.ui.export import pseudonym
from tests.fast import fast_bot
from tests.harness import ROOT, TOKEN, running_bot, wait_for
from tests.process import run_to_exit
from tests.stored import assert_intact, everything, query
from tests.telegram_server import BotApiServer
from tests.test_e2e_admin import cli
from tests.test_e2e_groups import (
    FIELDS,
    QUESTIONS,
    TOTAL,
    answer_questions,
    attack,
    create_group,
    join,
    pattern,
    press_text,
    reply_text,
    shown_figures,
    text_of,
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
        assert "Seitdem ist 1 Selbstcheck" in four

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


# -- /loeschen -------------------------------------------------------------------------------


async def test_deleting_ones_data_leaves_nothing_of_the_person(database: Path) -> None:
    async with fast_bot(database, ADMIN_IDS="900") as bot:
        coordinator = bot.user(100, "Kim")
        token, _, group_id = await create_group(coordinator)
        people = {seed: bot.user(301 + seed, f"P{seed}", f"user{seed}") for seed in range(6)}
        for seed in range(3):
            await join(people[seed], token, "Verwaltung")
        await asyncio.gather(*(answer_questions(people[s], pattern(s)) for s in range(3)))
        first = await reply_text(coordinator, "/groupreport")
        (leaving,) = query(database, "SELECT id FROM sessions WHERE user_id = 301")[0]

        ask = await reply_text(people[0], "/loeschen")
        assert "Alle Ihre Daten löschen?" in ask and "nicht rückgängig" in ask
        assert "Nein, behalten" in people[0].buttons()
        assert "nichts wurde gelöscht" in await press_text(people[0], "Nein, behalten")
        assert query(database, "SELECT count(*) FROM users WHERE user_id = 301") == [(1,)]
        await reply_text(people[0], "/loeschen")
        assert "Ihre Daten sind gelöscht" in await press_text(people[0], "Ja, alles löschen")

        # The published release stays as it was; the deletion counts as one change.
        after = await reply_text(coordinator, "/groupreport")
        assert shown_figures(after) == shown_figures(first) and "Stand: Bericht 1" in after
        assert "Seitdem ist 1 Selbstcheck hinzugekommen oder geändert" in after
        # Three more: the next release is over the others only.
        for seed in (3, 4, 5):
            await join(people[seed], token, "Verwaltung")
        await asyncio.gather(*(answer_questions(people[s], pattern(s)) for s in (3, 4, 5)))
        second = await reply_text(coordinator, "/groupreport")
        assert "Stand: Bericht 2" in second and "5 abgeschlossene Selbstchecks" in second
        # Release 1 minus release 2 would be the deleted person's own score (a cell of one), so
        # disclosure control withholds every field: the deletion exposes nobody.
        differencing = "keine Zahlen – damit sich keine Rückschlüsse auf einzelne Personen"
        assert second.count(differencing) == len(FIELDS) and not shown_figures(second)
        # Said once, without naming the reason: such figures may stay withheld for the round,
        # and a new round helps (docs/privacy.md, "Deletions and changes within a round").
        assert second.count("beginnt der Vergleich neu") == 1
        assert "bis zum Ende dieser Runde zurückgehalten" in second
        admin = bot.user(900, "Admin")
        await admin.send_command("/export")
        csv_file, xlsx_file = admin.documents[-2:]
        export = csv_file.content.decode("utf-8-sig")
        workbook = load_workbook(io.BytesIO(xlsx_file.content)).active
        assert workbook is not None
        cells = {str(c.value) for line in workbook.iter_rows() for c in line}

    salt = query(database, "SELECT value FROM meta WHERE key = 'export_salt'")[0][0]
    alias = pseudonym(salt, 301)
    assert alias not in export and pseudonym(salt, 302) in export
    assert alias not in cells and pseudonym(salt, 302) in cells
    rows = everything(database)
    for table, content in rows.items():
        for row in content:
            assert 301 not in row and "301" not in row and "user0" not in row, (table, row)
            assert "P0" not in row, (table, row)
    assert not [r for r in rows["answers"] if r[0] == leaving]
    assert not [r for r in rows["sessions"] if r[0] == leaving]
    for (body,) in query(database, "SELECT body FROM group_releases WHERE group_id = ?", group_id):
        release = load_release(body)
        assert leaving not in release.check_ids
        tokens = [
            t for ts in (*release.members.values(), *release.band_members.values()) for t in ts
        ]
        assert not [t for t in tokens if t.startswith(f"{leaving}:")]
    audit = query(
        database, "SELECT who, action, target FROM audit_log WHERE action = ?", "delete_person"
    )
    assert audit == [("person", "delete_person", alias)]
    # After deletion the person is a stranger: /start begins anew.
    async with fast_bot(database) as bot:
        assert "Willkommen" in await reply_text(bot.user(301, "P0"), "/start")


# -- leaving a group -------------------------------------------------------------------------


async def test_leaving_a_group_keeps_the_check_and_leaves_future_releases(
    database: Path,
) -> None:
    async with fast_bot(database) as bot:
        coordinator = bot.user(100, "Kim")
        token, _, group_id = await create_group(coordinator)
        people = {seed: bot.user(601 + seed, f"P{seed}") for seed in range(3)}
        alone = bot.user(650, "Allein")
        assert "keiner Gruppe an" in await reply_text(alone, "/gruppeverlassen")
        for seed in range(3):
            await join(people[seed], token, "Politik")
        await asyncio.gather(*(answer_questions(people[s], pattern(s)) for s in range(3)))
        first = await reply_text(coordinator, "/groupreport")
        assert "3 abgeschlossene Selbstchecks" in first
        (leaving,) = query(database, "SELECT id FROM sessions WHERE user_id = 601")[0]

        ask = await reply_text(people[0], "/gruppeverlassen")
        assert "„Stadt Musterstadt“ verlassen?" in ask and "bleibt für Sie erhalten" in ask
        assert "Sie bleiben in der Gruppe" in await press_text(people[0], "Nein, in der Gruppe")
        await reply_text(people[0], "/leavegroup")
        done = await press_text(people[0], "Ja, Gruppe verlassen")
        assert "Sie haben die Gruppe „Stadt Musterstadt“ verlassen" in done
        # Pressed again (an old message): nothing more to leave.
        assert "keiner Gruppe an" in await reply_text(people[0], "/gruppeverlassen")

        # The check with all answers stays, for the person's own result.
        assert query(
            database,
            "SELECT s.group_id, s.group_round, s.perspective, count(a.question_id) FROM sessions s "
            "JOIN answers a ON a.session_id = s.id WHERE s.user_id = 601 GROUP BY s.id",
        ) == [(None, None, None, TOTAL)]
        assert "Handlungsfeld" in await reply_text(people[0], "/ergebnis")
        assert "Stadt Musterstadt" not in await reply_text(people[0], "/start")
        after = await reply_text(coordinator, "/groupreport")
        assert shown_figures(after) == shown_figures(first)
        assert "Seitdem ist 1 Selbstcheck hinzugekommen oder geändert" in after
        overview = await reply_text(coordinator, "/groups")
        assert "beigetreten: 2 · begonnen: 2 · abgeschlossen: 2" in overview
    for (body,) in query(database, "SELECT body FROM group_releases WHERE group_id = ?", group_id):
        release = load_release(body)
        assert leaving not in release.check_ids and len(release.check_ids) == 3


# -- retention -------------------------------------------------------------------------------


async def test_retention_notice_then_deletion_with_a_controlled_clock(database: Path) -> None:
    moment = [datetime(2026, 1, 15, 9, 0, tzinfo=UTC)]
    async with fast_bot(database, clock=lambda: moment[0]) as bot:
        quiet, back, keeps, blocked = (bot.user(700 + i, f"P{i}") for i in range(4))
        for person in (quiet, back, keeps, blocked):
            await reply_text(person, "/start")
            assert await answer_questions(person, pattern(1), limit=2) == 2
        await reply_text(keeps, "/neustart")
        await press_text(keeps, "Ja, neu beginnen")  # an earlier attempt, archived now
        (old_attempt,) = query(database, "SELECT id FROM sessions WHERE user_id = 702")[0]
        moment[0] = datetime(2027, 9, 1, tzinfo=UTC)  # 19½ months later
        await reply_text(back, "/start")
        await bot.core.storage.mark_blocked(703, moment[0])  # blocked the bot meanwhile

        # Four weeks before the 24 months: one notice, to those who can be reached.
        moment[0] = datetime(2027, 12, 10, tzinfo=UTC)  # 36 days before: nothing yet
        assert await bot.core.retention.sweep() == (0, 0)
        moment[0] = datetime(2027, 12, 29, tzinfo=UTC)  # 17 days before
        shutting_down = asyncio.Event()
        shutting_down.set()  # the bot stops: no notice goes out, and none is used up
        assert await bot.core.retention.sweep(shutting_down) == (0, 0)
        for person in (quiet, keeps):
            person.mark_seen()
        assert await bot.core.retention.sweep() == (2, 0)
        for person in (quiet, keeps):
            notice = text_of(await person.wait_for_message())
            assert "Nach 24 Monaten ohne Aktivität löscht der Bot alle Ihre Daten" in notice
            # Told 17 days before: the full notice period of 28 days still applies.
            assert "am 26.01.2028" in notice and "/start" in notice
        assert await bot.core.retention.sweep() == (0, 0)  # never twice
        assert not [m for m in back.messages if "ohne Aktivität" in (m.text or "")]
        assert not [m for m in blocked.messages if "ohne Aktivität" in (m.text or "")]
        await reply_text(keeps, "/start")  # wants to keep the data

        moment[0] = datetime(2028, 1, 16, tzinfo=UTC)  # 24 months: the unreachable one goes
        assert await bot.core.retention.sweep() == (0, 1)
        assert query(database, "SELECT count(*) FROM users WHERE user_id = 703") == [(0,)]
        moment[0] = datetime(2028, 1, 26, tzinfo=UTC)  # the notice period is over
        assert await bot.core.retention.sweep() == (0, 1)
    people = [row[0] for row in query(database, "SELECT user_id FROM users ORDER BY user_id")]
    assert people == [701, 702]
    assert query(database, "SELECT count(*) FROM sessions WHERE user_id IN (700, 703)") == [(0,)]
    # The kept person's earlier attempt, unchanged for 24 months, went too; the current stays.
    assert query(database, "SELECT count(*) FROM sessions WHERE id = ?", old_attempt) == [(0,)]
    assert query(database, "SELECT count(*) FROM sessions WHERE user_id = 702") == [(1,)]
    audit = query(database, "SELECT who, action FROM audit_log ORDER BY id")
    assert audit == [("retention", "delete_person")] * 2


# -- operators: log pseudonyms, whois, backup ------------------------------------------------

DEFAULT_QUESTIONNAIRE = ROOT / "questionnaires" / "weltoffene-kommune.de.yaml"


async def test_info_logs_name_people_by_pseudonym_and_whois_resolves_it(
    database: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with fast_bot(database) as bot:
        person = bot.user(4711, "Ada", "ada_k")
        await reply_text(person, "/start")
        assert await answer_questions(person, pattern(1), limit=2) == 2
        await reply_text(person, "/fortschritt")
    lines = [record.getMessage() for record in caplog.records if record.name.startswith("bot")]
    assert lines and not [line for line in lines if "4711" in line or "ada_k" in line]
    salt = query(database, "SELECT value FROM meta WHERE key = 'export_salt'")[0][0]
    alias = pseudonym(salt, 4711)
    assert f"person {alias}: start" in lines

    found = cli(database, DEFAULT_QUESTIONNAIRE, "whois", alias)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == "Ada · ID 4711 · @ada_k"
    unknown = cli(database, DEFAULT_QUESTIONNAIRE, "whois", "P-0000000000000000")
    assert unknown.returncode == 1 and "no person has the pseudonym" in unknown.stderr
    audit = query(database, "SELECT who, action, target FROM audit_log ORDER BY id")
    assert audit == [("cli", "whois", alias), ("cli", "whois", "P-0000000000000000")]


async def test_backup_with_the_online_api_restores_to_the_same_report(
    database: Path, tmp_path: Path
) -> None:
    async with fast_bot(database) as bot:
        coordinator = bot.user(100, "Kim")
        token, _, _ = await create_group(coordinator)
        people = {seed: bot.user(801 + seed, f"P{seed}") for seed in range(3)}
        for seed in range(3):
            await join(people[seed], token, "Verwaltung")
        await asyncio.gather(*(answer_questions(people[s], pattern(s)) for s in range(3)))
        report = await reply_text(coordinator, "/groupreport")
        # The backup is taken while the bot has the database open (WAL, uncheckpointed).
        copy = tmp_path / "sicherung" / "kopie.sqlite3"
        made = cli(database, DEFAULT_QUESTIONNAIRE, "backup", str(copy))
        assert made.returncode == 0, made.stderr
        assert "written to" in made.stdout
        again = cli(database, DEFAULT_QUESTIONNAIRE, "backup", str(copy))
        assert again.returncode == 1 and "exists already" in again.stderr
    assert_intact(copy)
    # Restore: the copy in place of the database.
    restored = tmp_path / "restored.sqlite3"
    restored.write_bytes(copy.read_bytes())
    async with fast_bot(restored) as bot:
        assert await reply_text(bot.user(100, "Kim"), "/groupreport") == report
    tables = ("users", "sessions", "answers", "group_releases")
    for table in tables:
        assert query(restored, f"SELECT * FROM {table}") == query(
            database, f"SELECT * FROM {table}"
        )
