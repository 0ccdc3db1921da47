"""Admin commands over the local Bot API server, and the operator's `python -m bot admin` CLI."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.harness import ROOT, running_bot
from tests.stored import query
from tests.telegram_server import BotApiServer, SimulatedUser
from tests.test_e2e_groups import create_group, join

ADMIN = 900
MINI = ROOT / "tests" / "fixtures" / "mini.yaml"
ADMIN_COMMANDS = {"reset", "reload", "stats", "export", "coordinator"}


def env(questionnaire: Path, **extra: str) -> dict[str, str]:
    return {"ADMIN_IDS": str(ADMIN), "QUESTIONNAIRE_PATH": str(questionnaire), **extra}


def audit(database: Path) -> list[tuple[str, str, str | None]]:
    return [
        tuple(r) for r in query(database, "SELECT who, action, target FROM audit_log ORDER BY id")
    ]


async def say(user: SimulatedUser, command: str, payload: str = "") -> str:
    """Send a command and return the visible text of the bot's reply."""
    user.mark_seen()
    await user.send_command(command, payload)
    await user.wait_until_idle()
    message = await user.wait_for_message(timeout=5)
    return message.visible_text or ""


async def press(user: SimulatedUser, button: str | re.Pattern[str]) -> None:
    await user.press(button)
    await user.wait_until_idle()


async def begin(user: SimulatedUser) -> None:
    await say(user, "/start")
    await press(user, "Los geht’s")


async def answer(user: SimulatedUser, count: int, option: str = "trifft voll zu") -> None:
    """Answer `count` questions, moving on to the next field where a field ends."""
    done = 0
    while done < count:
        buttons = user.buttons()
        if option in buttons or any(option in b for b in buttons):
            await press(user, option)
            done += 1
        else:
            await press(user, re.compile(r"^▶️ Weiter: "))


# reset -------------------------------------------------------------------------------------


async def test_admin_resets_a_person_who_is_told_and_starts_over(
    server: BotApiServer, database: Path, questionnaire: Path
) -> None:
    async with running_bot(server, database, **env(questionnaire)) as bot:
        admin = bot.user(ADMIN, "Ada")
        person = bot.user(501, "Kim", username="Kim_Muster")
        token, _, _ = await create_group(admin, "Stadt Musterstadt")
        await join(person, token, "Politik")
        await press(person, "Los geht’s")
        await answer(person, 2)
        await press(person, "überspringen")
        question = person.last_message
        assert question is not None and question.inline_buttons

        assert "kenne ich keine Person" in await say(admin, "/reset", "@niemand_hier")
        assert "Telegram-ID oder den @Benutzernamen" in await say(admin, "/reset")
        confirm = await say(admin, "/reset", "@kim_muster")  # usernames ignore case
        assert "Selbstcheck neu starten?" in confirm
        assert "3 Aussagen bearbeitet" in confirm
        assert "Stadt Musterstadt" in confirm
        assert query(database, "SELECT count(*) FROM sessions WHERE user_id = 501") == [(1,)]

        person.mark_seen()
        await press(admin, "Ja, neu starten")
        assert "wurde neu gestartet und die Person benachrichtigt" in (admin.last_text or "")
        assert not admin.buttons(admin.last_message)

        notice = await person.wait_for_message(lambda m: "neu gestartet" in (m.text or ""))
        assert "frühere Runde gespeichert" in (notice.visible_text or "")
        welcome = await person.wait_for_message(lambda m: "Willkommen" in (m.text or ""))
        assert "▶️ Los geht’s" in welcome.button_texts
        # The old question's keyboard is gone, so no answer can land in the archived attempt.
        assert not person.server.chat(501).messages[question.message_id].inline_buttons

        await press(person, "Los geht’s")
        assert "Frage 1 von 3" in (person.last_text or "")
        assert "Ihre bisherige Antwort" not in (person.last_text or "")
        await answer(person, 1, "trifft nicht zu")

    sessions = query(
        database,
        "SELECT id, archived_reason, group_id, group_round, perspective FROM sessions "
        "WHERE user_id = 501 ORDER BY id",
    )
    assert len(sessions) == 2
    (old, reason, group, round_, perspective), (new, current, group2, round2, perspective2) = (
        sessions
    )
    assert reason == "admin_reset" and current is None
    assert (group2, round2, perspective2) == (group, round_, perspective) == (1, 1, "politics")
    kept = query(
        database, "SELECT question_id, option_id FROM answers WHERE session_id = ? ORDER BY 1", old
    )
    assert kept == [("alpha.one", "full"), ("alpha.three", None), ("alpha.two", "full")]
    assert query(
        database, "SELECT question_id, option_id FROM answers WHERE session_id = ?", new
    ) == [("alpha.one", "none")]
    assert ("900", "reset", "501") in audit(database)
    assert [a for a in audit(database) if a[1] == "reset"] == [("900", "reset", "501")]


# refusals and the command menu --------------------------------------------------------------


async def test_admin_commands_appear_only_in_the_admins_menu(
    server: BotApiServer, database: Path, questionnaire: Path
) -> None:
    async with running_bot(server, database, **env(questionnaire, ADMIN_IDS="900, 901")) as bot:
        default = {c["command"] for c in server.commands()}
        assert "start" in default and "hilfe" in default
        assert not default & ADMIN_COMMANDS
        for admin_id in (900, 901):
            # An admin's menu is set once the admin has written (Telegram knows the chat then).
            await say(bot.user(admin_id), "/start")
            menu = {c["command"] for c in server.commands({"type": "chat", "chat_id": admin_id})}
            assert menu >= ADMIN_COMMANDS
            assert default <= menu
        assert server.commands({"type": "chat", "chat_id": 503}) == []


# reload ------------------------------------------------------------------------------------


# stats and export --------------------------------------------------------------------------


# the operator's CLI ------------------------------------------------------------------------


def cli(database: Path, questionnaire: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    env.update(
        DATABASE_PATH=str(database), QUESTIONNAIRE_PATH=str(questionnaire), LOG_LEVEL="WARNING"
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", "admin", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.long(seconds=6)
async def test_cli_works_on_the_database_file(
    server: BotApiServer, database: Path, questionnaire: Path, tmp_path: Path
) -> None:
    async with running_bot(server, database, **env(questionnaire)) as bot:
        person = bot.user(541, "Lu", username="lu_x")
        await begin(person)
        await answer(person, 4)

    stats = cli(database, questionnaire, "stats")
    assert stats.returncode == 0, stats.stderr
    assert "people: 1" in stats.stdout
    assert "1 begun, 0 completed, 1 current" in stats.stdout
    assert "1. Feld Alpha (alpha): 1" in stats.stdout

    output = tmp_path / "antworten.csv"
    export = cli(database, questionnaire, "export", "--output", str(output))
    assert export.returncode == 0, export.stderr
    assert "4 rows from 1 sessions" in export.stdout
    table = list(csv.DictReader(io.StringIO(output.read_text("utf-8-sig")), delimiter=";"))
    assert [r["Antwort-ID"] for r in table] == ["full"] * 4
    assert [r["Antwort"] for r in table] == ["trifft voll zu"] * 4
    assert all("541" not in r.values() for r in table)
    workbook = tmp_path / "antworten.xlsx"
    assert cli(database, questionnaire, "export", "--output", str(workbook)).returncode == 0
    sheet = load_workbook(workbook).active
    assert (
        sheet is not None and sheet.max_row == 5 and sheet.cell(1, 1).value == "Person (Pseudonym)"
    )

    assert cli(database, questionnaire, "reset", "999").returncode == 1
    reset = cli(database, questionnaire, "reset", "@LU_X")
    assert reset.returncode == 0, reset.stderr
    assert "restarted" in reset.stdout
    sessions = query(
        database, "SELECT archived_reason FROM sessions WHERE user_id = 541 ORDER BY id"
    )
    assert sessions == [("admin_reset",), (None,)]

    grant = cli(database, questionnaire, "grant-coordinator", "541")
    assert grant.returncode == 0, grant.stderr
    assert query(database, "SELECT user_id, granted_by FROM coordinator_grants") == [(541, 0)]
    assert audit(database) == [
        ("cli", "stats", None),
        ("cli", "export", None),
        ("cli", "export", None),
        ("cli", "reset", "541"),
        ("cli", "grant_coordinator", "541"),
    ]

    # Next time the person opens the bot, the fresh start is there; the answers are kept.
    async with running_bot(server, database, **env(questionnaire)) as bot:
        person = bot.user(541, "Lu", username="lu_x")
        assert "Willkommen beim" in await say(person, "/start")
    assert query(database, "SELECT count(*) FROM answers") == [(4,)]


async def test_cli_refuses_a_missing_database(tmp_path: Path, questionnaire: Path) -> None:
    result = cli(tmp_path / "fehlt.sqlite3", questionnaire, "stats")
    assert result.returncode == 2
    assert "No database" in result.stderr
    assert not (tmp_path / "fehlt.sqlite3").exists()


async def test_health_check_opens_the_database_read_only(
    server: BotApiServer, database: Path, questionnaire: Path, tmp_path: Path
) -> None:
    """The Dockerfile's HEALTHCHECK: `python -m bot admin health`, exit 0 only when readable."""
    async with running_bot(server, database, **env(questionnaire)) as bot:
        await say(bot.user(560), "/start")
        running = cli(database, questionnaire, "health")  # beside the running bot
    assert running.returncode == 0, running.stderr
    before = database.stat().st_mtime_ns
    healthy = cli(database, questionnaire, "health")
    assert database.stat().st_mtime_ns == before  # nothing written
    assert healthy.returncode == 0, healthy.stderr
    assert "OK, schema version" in healthy.stdout
    broken = tmp_path / "kaputt.sqlite3"
    broken.write_bytes(b"this is no database" * 100)
    result = cli(broken, questionnaire, "health")
    assert result.returncode == 1
    assert "cannot be read" in result.stderr
    assert "Traceback" not in result.stderr
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert 'CMD ["python", "-m", "bot", "admin", "health"]' in dockerfile
