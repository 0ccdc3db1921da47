"""Issue 10's conversation defects, each named after its defect, through the routing table.

In-process (`tests/fast.py`): the real use cases, rendering and a real SQLite file, no HTTP;
each test asserts what the person sees and what is stored.
"""

from __future__ import annotations

import io
import re
import string
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.cli.compose import build_core, open_storage
from bot.cli.config import load_settings
from bot.console import ConsoleChat, chat, handle_line
from bot.ui.texts import load_texts
from tests.fast import FastBot, FastUser, fast_bot
from tests.harness import ROOT
from tests.stored import query
from tests.test_e2e_groups import create_group

MINI = ROOT / "tests" / "fixtures" / "mini.yaml"


@pytest.fixture
async def bot(database: Path) -> AsyncIterator[FastBot]:
    async with fast_bot(database, QUESTIONNAIRE_PATH=str(MINI)) as running:
        yield running


def shown(bot: FastBot, user_id: int) -> str:
    """Everything the person's chat shows now, oldest first."""
    return "\n".join(m.visible_text or m.caption or "" for m in bot.world.messages(user_id))


async def test_unknown_person_first_contact_by_text_or_old_keyboard_works(
    bot: FastBot, database: Path
) -> None:
    """After a restore or on a new database file, text or an old press is first contact."""
    texter = bot.user(501, "Text")
    await texter.send_text("hallo")
    assert "Ich verstehe nur die Schaltflächen" in shown(bot, 501)
    assert "Willkommen beim Mini-Selbstcheck" in shown(bot, 501)
    assert "schiefgegangen" not in shown(bot, 501)

    presser = bot.user(502, "Presser")
    record = await presser.press_data(77, "a:3:0:0")  # a keyboard from the lost database
    # A new person is asked for the municipality type first: the old button changes nothing.
    toast = (record.answer or {})["text"]
    assert record.answered and ("nicht mehr aktuell" in toast or "Art Ihrer Kommune" in toast)
    assert "Willkommen beim Mini-Selbstcheck" in shown(bot, 502)

    assert query(database, "SELECT user_id FROM users ORDER BY user_id") == [(501,), (502,)]
    assert query(database, "SELECT user_id FROM sessions ORDER BY user_id") == [(501,), (502,)]
    # And the check goes on from there: the first answer is stored.
    await presser.press("Los geht’s")
    await presser.press("trifft voll zu")
    assert query(database, "SELECT count(*) FROM answers") == [(1,)]


async def test_my_id_command_tells_the_numeric_telegram_id(bot: FastBot) -> None:
    """README's go-live path: a person asks the bot for the id that goes into ADMIN_IDS."""
    person = bot.user(123456789, "Op")
    await person.send_command("/meineid")
    assert "Ihre Telegram-ID ist 123456789." in (person.last_text or "")
    await person.send_command("/myid")
    assert "Ihre Telegram-ID ist 123456789." in (person.last_text or "")
    await person.send_command("/hilfe")
    assert "/meineid – Ihre Telegram-ID" in (person.last_text or "")
    menu = [spec.name for spec in await bot.router.menu_for(person.person)]
    assert "meineid" in menu


async def test_join_consent_is_bound_to_its_invitation(bot: FastBot, database: Path) -> None:
    """Open invitation A, then B; "Einverstanden" on A's message must not join B (or A)."""
    coordinator = bot.user(100, "Kim")
    token_a, _, group_a = await create_group(coordinator, "Stadt Aberg")
    token_b, _, group_b = await create_group(coordinator, "Stadt Beheim")
    person = bot.user(300, "Pat")
    await person.send_command("/start", token_a)
    message_a = next(m for m in reversed(person.messages) if "Aberg" in (m.visible_text or ""))
    await person.send_command("/start", token_b)
    assert "Selbstcheck für „Stadt Beheim“" in (person.last_text or "")

    record = await person.press("✅ Einverstanden, teilnehmen", message_a)
    assert "nicht mehr aktuell" in (record.answer or {})["text"]
    assert "gehört zu einer früheren Einladung" in (person.last_text or "")
    assert "„Stadt Beheim“" in (person.last_text or "")
    assert "Aus welcher Perspektive" not in shown(bot, 300)
    assert query(database, "SELECT group_id, consented FROM pending_joins") == [(group_b, 0)]
    assert query(database, "SELECT group_id FROM sessions WHERE user_id = 300") == [(None,)]

    # B's own button still works, and a perspective button names its group as well.
    await person.press("✅ Einverstanden, teilnehmen")
    asking = next(m for m in person.messages if "Aus welcher Perspektive" in (m.visible_text or ""))
    data = {b["text"]: b["callback_data"] for b in asking.inline_buttons}
    assert data["Politik"] == f"p:{group_b}:1"
    forged = await person.press_data(asking.message_id, f"p:{group_a}:1")
    assert "nicht mehr aktuell" in (forged.answer or {})["text"]
    assert query(database, "SELECT group_id FROM sessions WHERE user_id = 300") == [(None,)]
    await person.press("Politik", asking)
    assert "Sie nehmen für „Stadt Beheim“ aus der Perspektive Politik teil" in shown(bot, 300)
    assert query(database, "SELECT group_id, perspective FROM sessions WHERE user_id = 300") == [
        (group_b, "politics")
    ]


async def test_restart_with_nothing_answered_archives_no_empty_round(
    bot: FastBot, database: Path
) -> None:
    person = bot.user(400, "Neu")
    await person.send_command("/start")
    await person.press("Stadt")  # the municipality type comes first
    await person.send_command("/neustart")
    assert "es gibt nichts neu zu beginnen" in (person.last_text or "")
    assert "Wirklich neu beginnen?" not in shown(bot, 400)
    # A confirmation pressed anyway (an old one, or forged) archives nothing either.
    await person.press_data(person.last_message.message_id, "x:y")
    assert "es gibt nichts neu zu beginnen" in (person.last_text or "")
    assert query(database, "SELECT archived_reason FROM sessions WHERE user_id = 400") == [(None,)]
    # With an answer, the restart still asks and keeps the earlier round.
    await person.press("Los geht’s")
    await person.press("trifft voll zu")
    await person.send_command("/neustart")
    await person.press("Ja, neu beginnen")
    assert query(database, "SELECT archived_reason FROM sessions WHERE user_id = 400") == [
        ("restart",),
        (None,),
    ]


PLURAL_ERROR = re.compile(
    r"\b1 (Aussagen|Selbstchecks|abgeschlossene |Personen|Tage|Minuten|Antworten|Zeilen"
    r"|Handlungsfeldern|Handlungsfelder|aktuellen)|fehlen noch 1\b|sind 1\b"
)


def test_plural_errors_no_text_says_one_with_a_plural() -> None:
    """Every text with a count, filled with 1 everywhere, reads as German singular."""
    texts = load_texts()
    for key, template in texts._entries.items():
        if not isinstance(template, str):
            continue
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        text = texts.plain(key, **dict.fromkeys(names, 1))
        assert not PLURAL_ERROR.search(text), (key, text)
    assert texts.plain("report_pending", n=1, min_group=3).startswith(
        "Seitdem ist 1 Selbstcheck hinzugekommen oder geändert worden. Er erscheint"
    )
    assert texts.plain("report_pending", n=2, min_group=3).startswith(
        "Seitdem sind 2 Selbstchecks hinzugekommen oder geändert worden. Sie erscheinen"
    )


async def test_plural_errors_group_report_with_one_completed_check(bot: FastBot) -> None:
    coordinator = bot.user(100, "Kim")
    token, _, _ = await create_group(coordinator)
    person = bot.user(301, "Eins")
    await person.send_command("/start", token)
    await person.press("✅ Einverstanden, teilnehmen")
    await person.press("Verwaltung")
    await person.press("Los geht’s")
    while "trifft voll zu" in person.buttons():
        await person.press("trifft voll zu")
        if "Weiter:" in " ".join(person.buttons()):
            await person.press(re.compile("^▶️ Weiter:"))
    await coordinator.send_command("/gruppenbericht")
    report = coordinator.last_text or ""
    assert "1 abgeschlossener Selbstcheck\n" in report
    assert "es fehlen noch 2" in report


async def test_group_names_keep_no_rtl_override_zero_width_or_control_characters(
    bot: FastBot, database: Path
) -> None:
    coordinator = bot.user(100, "Kim")
    await coordinator.send_command("/neuegruppe", "Stadt \u202eMuster\u202c\u200bstadt\x07")
    assert "Gruppe „Stadt Musterstadt“ angelegt." in shown(bot, 100)
    for invisible in ("\u200b\u200b", "\u202e\u2066", "\x00"):
        await coordinator.send_command("/neuegruppe", invisible)
        assert "kein sichtbares Zeichen" in (coordinator.last_text or "")
    assert query(database, "SELECT name FROM groups") == [("Stadt Musterstadt",)]


async def test_groups_per_coordinator_are_limited_and_listed_in_one_message(
    database: Path,
) -> None:
    env = {"QUESTIONNAIRE_PATH": str(MINI), "GROUPS_PER_COORDINATOR": "3"}
    async with fast_bot(database, **env) as bot:
        coordinator = bot.user(100, "Kim")
        for number in range(1, 5):
            await coordinator.send_command("/neuegruppe", f"Gemeinde {number}")
        assert "Sie koordinieren bereits 3 Gruppen" in (coordinator.last_text or "")
        assert query(database, "SELECT name FROM groups ORDER BY id") == [
            ("Gemeinde 1",),
            ("Gemeinde 2",),
            ("Gemeinde 3",),
        ]
        before = len(coordinator.messages)
        await coordinator.send_command("/gruppen")
        listing = coordinator.messages[before:]
        assert len(listing) == 1
        assert all(f"Gemeinde {n} – Runde 1" in (listing[0].visible_text or "") for n in (1, 2, 3))
        assert listing[0].button_texts == [
            label for n in (1, 2, 3) for label in (f"📊 Bericht: Gemeinde {n}", "⚙️ Weiteres")
        ]
        await coordinator.press("📊 Bericht: Gemeinde 2")
        assert "Gruppenbericht: Gemeinde 2" in (coordinator.last_text or "")


async def test_finished_field_every_question_can_be_changed_walking_through_it(
    bot: FastBot, database: Path
) -> None:
    """In a finished field, "Antworten ansehen/ändern" reaches every question, not only 1."""
    person = bot.user(600, "Walk")
    await person.send_command("/start")
    await person.press("Los geht’s")
    for _ in range(3):
        await person.press("trifft voll zu")
    assert "Handlungsfeld 1: Feld Alpha" in (person.last_text or "")
    await person.press("✏️ Antworten ansehen/ändern")
    assert "Frage 1 von 3" in (person.last_text or "")
    assert "Ihre bisherige Antwort: trifft voll zu" in (person.last_text or "")
    await person.press("weiter ▶️")
    assert "Frage 2 von 3" in (person.last_text or "")
    await person.press("trifft nicht zu")
    text = person.last_text or ""
    assert "Gespeichert – Frage 2: trifft nicht zu" in text
    assert "Frage 3 von 3" in text, "after a change the walk goes on, not back to the result"
    await person.press("◀️ zurück")
    assert "Frage 2 von 3" in (person.last_text or "")
    assert "✅ trifft nicht zu" in person.buttons()
    await person.press("weiter ▶️")
    await person.press("weiter ▶️")
    assert "Handlungsfeld 1: Feld Alpha" in (person.last_text or "")
    stored = query(
        database,
        "SELECT question_id, option_id FROM answers WHERE question_id LIKE 'alpha.%' ORDER BY 1",
    )
    assert stored == [("alpha.one", "full"), ("alpha.three", "full"), ("alpha.two", "none")]
    # The walk is stored with the position: after a restart of the bot it goes on the same way.
    assert query(database, "SELECT screen, walk FROM sessions") == [("field_result", 0)]


async def test_finished_field_walk_in_the_console(tmp_path: Path) -> None:
    """The same walk in the terminal: button numbers instead of presses."""
    database = tmp_path / "console.sqlite3"
    settings = load_settings({"DATABASE_PATH": str(database), "QUESTIONNAIRE_PATH": str(MINI)})
    # Choose the type, begin, answer alpha's three questions, "Antworten ansehen/ändern" (2),
    # "weiter" (7), "trifft nicht zu" (4) on question 2.
    script = io.StringIO("1\n1\n1\n1\n1\n2\n7\n4\nq\n")  # first: the municipality type
    out = io.StringIO()
    assert await chat(settings, lines=script, out=out) == 0
    after_change = out.getvalue().rsplit("Gespeichert – Frage 2: trifft nicht zu", 1)[1]
    assert "Frage 3 von 3" in after_change
    assert query(database, "SELECT option_id FROM answers WHERE question_id = 'alpha.two'") == [
        ("none",)
    ]


async def test_field_introductions_are_shown_when_a_person_enters_a_field_first(
    bot: FastBot, database: Path
) -> None:
    person = bot.user(700, "Intro")
    await person.send_command("/start")
    await person.press("Los geht’s")
    assert "Handlungsfeld 1: Feld Alpha\nEinleitung Alpha." in (person.last_text or "")
    await person.press("trifft voll zu")
    assert "Einleitung Alpha." not in (person.last_text or ""), "only on entering the field"
    await person.press("📋 Menü")
    await person.press("2. Feld Beta")
    assert "Handlungsfeld 2: Feld Beta\nEinleitung Beta." in (person.last_text or "")
    await person.press("trifft eher zu")
    await person.press("📋 Menü")
    await person.press(re.compile(r"^2\. Feld Beta"))
    assert "Einleitung Beta." not in (person.last_text or ""), "entered before: no repetition"
    assert query(database, "SELECT count(*) FROM answers") == [(2,)]


async def test_console_says_how_to_try_an_invitation_and_acts_as_another_person(
    tmp_path: Path,
) -> None:
    """A whole group without Telegram: create as 1, join as 2-4 with /start <token>, report."""
    database = tmp_path / "console.sqlite3"
    settings = load_settings({"DATABASE_PATH": str(database), "QUESTIONNAIRE_PATH": str(MINI)})
    out = io.StringIO()
    storage, catalog = await open_storage(settings)
    console = ConsoleChat(out, tmp_path)
    core = build_core(settings, storage, catalog, notify=console)
    try:
        out.write(core.texts.plain("console_intro", database=database))
        assert "/als 2" in out.getvalue() and "/start <token>" in out.getvalue()
        await handle_line(core.router, console, "/neuegruppe Gemeinde Konsole")
        token = re.findall(r"start=([A-Za-z0-9_-]+)", out.getvalue())[0]
        for number in (2, 3, 4):
            await handle_line(core.router, console, f"/als {number}")
            assert f"Sie schreiben jetzt als Person {number}." in out.getvalue()
            # Consent, perspective "Verwaltung", begin, then the first button throughout:
            # every answer "trifft voll zu", each field's result "Weiter: <next field>".
            for line in (f"/start {token}", "1", "1", "1", *["1"] * 12):
                await handle_line(core.router, console, line)
        await handle_line(core.router, console, "/als x")
        assert "Bitte geben Sie die Nummer einer Person an" in out.getvalue()
        await handle_line(core.router, console, "/als 1")
        before = len(out.getvalue())
        await handle_line(core.router, console, "/gruppenbericht")
        report = out.getvalue()[before:]
    finally:
        await core.close()
    assert "Gruppenbericht: Gemeinde Konsole – Runde 1" in report
    assert "3 abgeschlossene Selbstchecks" in report and "Stand: Bericht 1 vom" in report
    assert query(
        database, "SELECT user_id, perspective FROM sessions WHERE group_id IS NOT NULL"
    ) == [(2, "administration"), (3, "administration"), (4, "administration")]


async def finish_check(person: FastUser, label: str) -> None:
    """Begin (or continue) and answer every question with `label`, field after field."""
    await person.press("Los geht’s")
    while True:
        buttons = person.buttons()
        if any(label in b for b in buttons):
            await person.press(re.compile(f"^(✅ )?{label}$"))
        elif any(b.startswith("▶️ Weiter:") for b in buttons):
            await person.press(re.compile("^▶️ Weiter:"))
        else:
            return


async def test_group_report_scores_each_check_on_its_own_questionnaire_version(
    database: Path, questionnaire: Path
) -> None:
    """After a reload that renames the scale's options, earlier checks still count (not n = 0)."""
    env = {"QUESTIONNAIRE_PATH": str(questionnaire), "ADMIN_IDS": "900"}
    async with fast_bot(database, **env) as bot:
        coordinator = bot.user(100, "Kim")
        token, _, _ = await create_group(coordinator)
        for user_id, label in (
            (201, "trifft voll zu"),
            (202, "trifft eher zu"),
            (203, "trifft eher nicht zu"),
        ):
            person = bot.user(user_id, f"P{user_id}")
            await person.send_command("/start", token)
            await person.press("✅ Einverstanden, teilnehmen")
            await person.press("Verwaltung")
            await finish_check(person, label)
        text = questionnaire.read_text(encoding="utf-8")
        for old, new in {
            "full": "voll",
            "mostly": "eher",
            "partly": "kaum",
            "none": "nicht",
        }.items():
            text = text.replace(f"{{id: {old},", f"{{id: {new},")
        questionnaire.write_text(text, encoding="utf-8")
        admin = bot.user(900, "Admin")
        await admin.send_command("/reload")
        assert "Fragebogen neu geladen." in (admin.last_text or "")
        await coordinator.send_command("/gruppenbericht")
        report = coordinator.last_text or ""
    assert "3 abgeschlossene Selbstchecks" in report
    # Every field scored on the check's own version: 100, 67 and 33 points, Ø 66,7.
    assert report.count("Ø 66,7 – auf dem Weg · 3 Selbstchecks") == 3, report
    assert "keine Zahlen" not in report
    assert len(query(database, "SELECT DISTINCT content_hash FROM sessions")) == 1
    # Two file versions, each stored once per municipality type (Stadt, Kreis).
    assert len(query(database, "SELECT content_hash FROM questionnaire_versions")) == 4
