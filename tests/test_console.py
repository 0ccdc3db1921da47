"""The console chat runs the whole check on the real service and a real SQLite file."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

from bot.cli.config import load_settings
from bot.console import chat
from bot.store.content import DEFAULT_QUESTIONNAIRE
from flows.loading import parse_questionnaire
from tests.harness import ROOT
from tests.stored import query

TOTAL = len(parse_questionnaire(DEFAULT_QUESTIONNAIRE.read_text(encoding="utf-8")).questions)


async def test_console_completes_whole_check_and_stores_every_answer(tmp_path: Path) -> None:
    database = tmp_path / "console.sqlite3"
    settings = load_settings({"DATABASE_PATH": str(database)})
    # Choose the first (default) municipality type, begin, then press the first button:
    # "trifft voll zu" on questions, "Weiter: <next field>" on each field's result (six
    # times), then quit.
    script = io.StringIO("1\n1\n" + "1\n" * (TOTAL + 6) + "q\n")
    out = io.StringIO()
    assert await chat(settings, lines=script, out=out) == 0
    text = out.getvalue()
    assert "Es ist kein BOT_TOKEN gesetzt" in text
    assert "Ihr Ergebnis" in text
    assert text.count("gut aufgestellt") >= 7
    [(answers,)] = query(database, "SELECT count(*) FROM answers WHERE option_id = 'full'")
    [(completed,)] = query(database, "SELECT count(*) FROM sessions WHERE completed_at IS NOT NULL")
    assert answers == TOTAL
    assert completed == 1


async def test_console_offers_coordinator_commands(tmp_path: Path) -> None:
    """Without Telegram, a coordinator can still create a group and see its (empty) report."""
    settings = load_settings({"DATABASE_PATH": str(tmp_path / "db" / "console.sqlite3")})
    script = io.StringIO("/newgroup Gemeinde Beispielhausen\n/groups\n/groupreport\nq\n")
    out = io.StringIO()
    assert await chat(settings, lines=script, out=out) == 0
    text = out.getvalue()
    assert "Gruppe „Gemeinde Beispielhausen“ angelegt" in text
    assert "https://t.me/IhrSelbstcheckBot?start=" in text
    assert (tmp_path / "db" / "einladung-qr.png").read_bytes().startswith(b"\x89PNG")
    assert "beigetreten: 0 · begonnen: 0 · abgeschlossen: 0" in text
    assert "es fehlen noch 3" in text


async def test_ctrl_c_does_not_quit_the_console_chat(tmp_path: Path) -> None:
    """Issue 10: SIGINT while the chat waits for typing ends it with "Bis bald …", exit 0,
    the answers given so far stored."""
    database = tmp_path / "console.sqlite3"
    env = {key: value for key, value in os.environ.items() if key != "BOT_TOKEN"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=ROOT,
        env={**env, "DATABASE_PATH": str(database)},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    seen = b""

    async def read_until(marker: bytes) -> None:
        nonlocal seen
        while marker not in seen:
            chunk = await asyncio.wait_for(process.stdout.read(4096), 15)
            assert chunk, seen.decode()
            seen += chunk

    try:
        await read_until(b"Art von Kommune")
        process.stdin.write(b"1\n")  # the first municipality type
        await read_until(b"Los geht")
        process.stdin.write(b"1\n")  # begin
        await read_until(b"Frage 1 von")
        process.stdin.write(b"1\n")  # "trifft voll zu"
        await read_until(b"Frage 2 von")
        await read_until(b"> ")
        process.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(process.wait(), 10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    rest = await process.stdout.read()
    stderr = (await process.stderr.read()).decode()  # type: ignore[union-attr]
    output = (seen + rest).decode()
    assert code == 0, stderr
    assert output.rstrip().endswith("Bis bald – Ihre Antworten sind gespeichert."), output[-500:]
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert query(database, "SELECT option_id FROM answers") == [("full",)]


def test_a_reader_that_goes_away_ends_the_chat_quietly(tmp_path: Path) -> None:
    """`python -m bot | head`: once nobody reads the chat any more, it ends without a
    traceback, and the answer given before is stored."""
    database = tmp_path / "console.sqlite3"
    env = {key: value for key, value in os.environ.items() if key != "BOT_TOKEN"}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot"],
        cwd=ROOT,
        env={**env, "DATABASE_PATH": str(database)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        seen = b""
        for answer, marker in ((b"1\n", b"Art von Kommune"), (b"1\n", b"Los geht")):
            while marker not in seen:
                chunk = os.read(process.stdout.fileno(), 65536)
                assert chunk, seen.decode()
                seen += chunk
            process.stdin.write(answer)
            process.stdin.flush()
        while b"Frage 1 von" not in seen or not seen.endswith(b"> "):  # the question, asked
            seen += os.read(process.stdout.fileno(), 65536)
        process.stdout.close()  # the reader goes away
        process.stdin.write(b"1\n1\n")  # "trifft voll zu", then more the chat cannot show
        process.stdin.close()
        code = process.wait(timeout=20)
    finally:
        if process.returncode is None:
            process.kill()
            process.wait()
    stderr = process.stderr.read().decode() if process.stderr else ""
    assert code == 1, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
    assert query(database, "SELECT option_id FROM answers") == [("full",)]
