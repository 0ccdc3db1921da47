"""Admin commands through the routing table, in-process: reload, stats, export, grants.

The same behaviour tests as over HTTP before, driven through `Router.handle` with a recording
delivery and a real SQLite file (`tests/fast.py`). Resets (which tell another person over
Telegram), the admins' menus and the operator CLI stay in `test_e2e_admin`.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from openpyxl import load_workbook

from bot.ui.texts import load_texts
from tests.fast import fast_bot
from tests.stored import backdate, query
from tests.test_e2e_admin import (
    ADMIN,
    answer,
    audit,
    begin,
    env,
    press,
    say,
)
from tests.test_e2e_groups import create_group, join


async def test_reload_of_a_broken_file_keeps_the_running_questionnaire(
    database: Path, questionnaire: Path
) -> None:
    async with fast_bot(database, **env(questionnaire)) as bot:
        admin = bot.user(ADMIN)
        person = bot.user(505)
        # Every municipality type's variant is stored; new sessions run on the default type's.
        stored = query(database, "SELECT content_hash FROM questionnaire_versions")
        running = (bot.core.catalog.active.content_hash,)
        assert running in stored and len(stored) == len(bot.core.catalog.active.variants())
        source = questionnaire.read_text(encoding="utf-8")
        questionnaire.write_text(
            source.replace("min_answered: 2", "min_answered: 0", 1), encoding="utf-8"
        )
        admin.mark_seen()
        await admin.send_command("/reload")
        await admin.wait_until_idle()
        report = (await admin.wait_for_message()).visible_text or ""
        assert "konnte nicht geladen werden" in report
        assert running[0] in report
        assert "fields[0].min_answered" in report or "min_answered" in report
        assert str(questionnaire) in report

        questionnaire.write_text("id: [kaputt", encoding="utf-8")
        report = await say(admin, "/reload")
        assert "konnte nicht geladen werden" in report and "YAML" in report

        await begin(person)
        assert "Die Kommune hat ein Leitbild." in (person.last_text or "")
    assert query(database, "SELECT DISTINCT content_hash FROM sessions") == [running]
    reloads = query(database, "SELECT who, action, details FROM audit_log ORDER BY id")
    assert [r[:2] for r in reloads] == [("900", "reload"), ("900", "reload")]
    assert all("rejected" in r[2] for r in reloads)


async def test_reload_of_a_changed_file_serves_new_checks_while_running_ones_keep_theirs(
    database: Path, questionnaire: Path
) -> None:
    old_text = "Es gibt eine zuständige Stelle."
    new_text = "Es gibt eine zuständige Stelle mit eigenem Budget."
    async with fast_bot(database, **env(questionnaire)) as bot:
        admin = bot.user(ADMIN)
        early = bot.user(506)
        late = bot.user(507)
        await begin(early)
        await answer(early, 1)
        assert old_text in (early.last_text or "")
        (old_hash,) = query(database, "SELECT content_hash FROM sessions WHERE user_id = 506")[0]

        source = questionnaire.read_text(encoding="utf-8")
        questionnaire.write_text(
            source.replace(old_text, new_text).replace('"test.1"', '"test.2"'), encoding="utf-8"
        )
        report = await say(admin, "/reload")
        assert "Fragebogen neu geladen" in report
        assert "Version test.2" in report
        assert "3 Handlungsfelder, 10 Aussagen" in report
        (new_hash,) = query(
            database, "SELECT content_hash FROM questionnaire_versions WHERE version = 'test.2'"
        )[0]
        assert new_hash in report and new_hash != old_hash

        await begin(late)
        await answer(late, 1)
        assert new_text in (late.last_text or "")
        await answer(early, 1)  # the running check goes on with its own version
        await press(early, "zurück")
        assert old_text in (early.last_text or "")
        assert new_text not in (early.last_text or "")
        assert "unverändert" in await say(admin, "/reload")

    hashes = dict(query(database, "SELECT user_id, content_hash FROM sessions"))
    assert hashes == {506: old_hash, 507: new_hash}
    assert audit(database) == [("900", "reload", None)] * 2


async def test_stats_show_the_right_numbers(database: Path, questionnaire: Path) -> None:
    async with fast_bot(database, **env(questionnaire)) as bot:
        admin = bot.user(ADMIN)
        finished, halfway, idle, restarted = (bot.user(i) for i in (511, 512, 513, 514))
        await begin(finished)
        await answer(finished, 10)
        await begin(halfway)
        await answer(halfway, 4)  # alpha complete, one of beta
        await say(idle, "/start")
        await begin(restarted)
        await answer(restarted, 1)
        await say(restarted, "/neustart")
        await press(restarted, "Ja, neu beginnen")
        await create_group(admin, "Gemeinde A")
        await create_group(admin, "Gemeinde B")
        await say(admin, "/closegroup")  # two groups: asks which one
        await press(admin, "Gemeinde B")
        # `idle` was last here 10 days ago, `restarted` 40 days ago.
        for user_id, days in ((513, 10), (514, 40)):
            backdate(database, user_id, days)
        text = await say(admin, "/stats")
    # The admin created groups, so the bot knows them as a person too.
    assert "Personen: 5" in text
    assert "letzten 7 Tagen: 3, in den letzten 30 Tagen: 4" in text
    assert "Selbstchecks: 5 angelegt, 3 begonnen, 1 abgeschlossen, 4 aktuell" in text
    assert "Gruppen: 2, davon offen: 1" in text
    assert "1. Feld Alpha: 2 von 4" in text
    assert "2. Feld Beta: 1 von 4" in text
    assert "3. Feld Gamma: 1 von 4" in text
    assert ("900", "stats", None) in audit(database)


async def test_export_matches_the_stored_answers_and_neutralises_formulas(
    database: Path, questionnaire: Path
) -> None:
    evil = '=HYPERLINK("http://evil.example","klick")'
    async with fast_bot(database, **env(questionnaire)) as bot:
        admin = bot.user(ADMIN)
        first, second, alone = bot.user(521), bot.user(522), bot.user(523)
        assert "keine Antworten" in await say(admin, "/export")
        await join(first, (await create_group(admin, evil))[0], "Politik")
        await join(second, (await create_group(admin, "+cmd|' /C calc'!A0"))[0], "Verwaltung")
        await press(first, "Los geht’s")
        await press(second, "Los geht’s")
        await begin(alone)
        await answer(first, 2)
        await press(first, "überspringen")
        await answer(second, 4, "trifft eher zu")
        await answer(alone, 1, "trifft nicht zu")
        await say(alone, "/neustart")
        await press(alone, "Ja, neu beginnen")
        await begin(alone)
        await answer(alone, 1)

        admin.mark_seen()
        await admin.send_command("/export")
        await admin.wait_until_idle()
        message = await admin.wait_for_message(lambda m: m.document is not None)
        assert "Zeilen aus 4 Selbstchecks" in (message.caption or "")
        assert message.document is not None
        assert (message.document.file_name or "").endswith(".csv")
        content = message.document.content
        workbook = await admin.wait_for_message(lambda m: m.document is not None)
        assert workbook.document is not None
        assert (workbook.document.file_name or "").endswith(".xlsx")
        sheet = load_workbook(io.BytesIO(workbook.document.content)).active
        assert sheet is not None and sheet.max_row == 1 + 3 + 4 + 2
    assert content.startswith(b"\xef\xbb\xbf")
    german = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    names = {header: name for name, header in load_texts().section("export_columns").items()}
    table = [{names[header]: value for header, value in r.items()} for r in german]
    stored = query(
        database,
        "SELECT a.session_id, a.question_id, a.option_id, s.user_id FROM answers a "
        "JOIN sessions s ON s.id = a.session_id",
    )
    assert len(table) == len(stored) == 3 + 4 + 2
    assert {(int(r["session_id"]), r["question_id"], r["option_id"]) for r in table} == {
        (s, q, o or "") for s, q, o, _ in stored
    }
    assert all(r["answer"] == "übersprungen" for r in table if not r["option_id"])
    for user_id in (521, 522, 523):  # never the raw Telegram id, in no cell
        assert all(str(user_id) not in r.values() for r in table)
        assert all(str(user_id) not in v for r in table for k, v in r.items() if k != "person")
    # The person column is a keyed pseudonym (its hex digits may hold "521" by chance: checking
    # it for the id's digits failed one run in thirty).
    assert all(re.fullmatch(r"P-[0-9a-f]{16}", r["person"]) for r in table)
    people = {r["person"] for r in table}
    assert len(people) == 3
    groups = {r["group"] for r in table}
    assert groups == {"'" + evil, "'+cmd|' /C calc'!A0", ""}
    skipped = [r for r in table if r["answer"] == "übersprungen"]
    assert len(skipped) == 1 and skipped[0]["points"] == "" and skipped[0]["field_id"] == "alpha"
    assert skipped[0]["answer"] == "übersprungen" and skipped[0]["field_title"]
    assert all(r["question_text"] and r["answer"] for r in table)
    # Days only: a time of day joined with a log would re-identify people.
    assert all(len(r["answered_on"]) == 10 and len(r["session_started_on"]) == 10 for r in table)
    assert all(r["person"].startswith("P-") for r in table)
    assert {r["points"] for r in table if r["option_id"] == "mostly"} == {"2"}
    assert {r["perspective"] for r in table if r["group"] == "'" + evil} == {"politics"}
    archived = [r for r in table if r["session_archived_reason"]]
    assert [(r["session_archived_reason"], r["attempt"], r["option_id"]) for r in archived] == [
        ("restart", "1", "none")
    ]
    assert all(r["questionnaire_id"] == "mini" and r["questionnaire_version"] for r in table)
    assert len({(r["session_id"], r["question_id"]) for r in table}) == len(table)
    assert ("900", "export", None) in audit(database)
    assert [a for a in audit(database) if a[1] == "export"] == [("900", "export", None)] * 2


async def test_admin_grants_coordinator_rights(database: Path, questionnaire: Path) -> None:
    async with fast_bot(database, **env(questionnaire, GROUP_CREATION="coordinators")) as bot:
        admin = bot.user(ADMIN)
        person = bot.user(531, "Mo", username="Mo_Koord")
        await say(person, "/start")
        assert "nur Koordinator*innen" in await say(person, "/newgroup", "Stadt X")
        assert "kann jetzt Gruppen anlegen" in await say(admin, "/coordinator", "@mo_koord")
        assert "angelegt" in await say(person, "/newgroup", "Stadt X")
        reply = await say(admin, "/coordinator", "777")  # not known yet: the grant waits
        assert "ID 777" in reply
    assert query(database, "SELECT user_id, granted_by FROM coordinator_grants ORDER BY 1") == [
        (531, ADMIN),
        (777, ADMIN),
    ]
    assert audit(database) == [
        ("900", "grant_coordinator", "531"),
        ("900", "grant_coordinator", "777"),
    ]


async def test_reset_can_be_cancelled_and_confirmations_go_stale(
    database: Path, questionnaire: Path
) -> None:
    async with fast_bot(database, **env(questionnaire)) as bot:
        admin = bot.user(ADMIN)
        person = bot.user(502, "Jo")
        await begin(person)
        await answer(person, 1)
        await say(admin, "/reset", "502")
        await press(admin, "Abbrechen")
        assert "es wurde nichts geändert" in (admin.last_text or "")
        await say(admin, "/reset", "502")
        first = admin.last_message
        await say(admin, "/reset", "502")
        await press(admin, "Ja, neu starten")
        assert "neu gestartet" in (admin.last_text or "")
        assert first is not None
        await admin.press("Ja, neu starten", first)
        await admin.wait_until_idle()
        assert "nicht mehr aktuell" in (admin.server.chat(ADMIN).messages[first.message_id].text)
    assert query(database, "SELECT count(*) FROM sessions WHERE user_id = 502") == [(2,)]
    assert [a for a in audit(database) if a[1] == "reset"] == [("900", "reset", "502")]


async def test_admin_commands_are_refused_for_everyone_else_revealing_nothing(
    database: Path, questionnaire: Path
) -> None:
    async with fast_bot(database, **env(questionnaire)) as bot:
        person = bot.user(503, "Pat")
        other = bot.user(504, "Sam", username="sam_s")
        await begin(other)
        await answer(other, 1)
        unknown = await say(person, "/gibtsnicht")
        assert "Diesen Befehl kenne ich nicht." in unknown
        for command, payload in [
            ("/reset", "504"),
            ("/reset", "@sam_s"),
            ("/stats", ""),
            ("/export", ""),
            ("/reload", ""),
            ("/coordinator", "503"),
        ]:
            reply = await say(person, command, payload)
            assert reply == unknown, command
        assert not person.documents
        # A forged admin button from someone else is just an unknown button.
        await say(person, "/start")
        message = person.last_message
        assert message is not None
        await person.press_data(message.message_id, "adm:r:504:1")
        await person.wait_until_idle()
        assert "kenne ich nicht" in person.answered_callbacks[-1].get("text", "")
    assert query(database, "SELECT count(*) FROM sessions WHERE user_id = 504") == [(1,)]
    assert query(database, "SELECT count(*) FROM coordinator_grants") == [(0,)]
    assert audit(database) == []
