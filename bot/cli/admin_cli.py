"""`python -m bot admin …`: support tools for the server operator, working on the database.

They read DATABASE_PATH (and, for `reset`, QUESTIONNAIRE_PATH) from the environment like the
bot does and write an audit row with who="cli". They can run while the bot is running. The
CLI cannot message anyone: after `reset` the person sees the fresh start next time.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TextIO

if TYPE_CHECKING:
    from bot.app.admin import Admin, Person, Stats
    from bot.cli.config import Settings
    from bot.store.storage import Storage

CLI = "cli"
CLI_GRANTOR = 0  # coordinator_grants.granted_by for grants made on the command line


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    admin = commands.add_parser(
        "admin", help="support tools working directly on the database (DATABASE_PATH)"
    )
    tools = admin.add_subparsers(dest="admin_command", required=True, metavar="TOOL")
    tools.add_parser("stats", help="people, checks, completion per field, groups, activity")
    tools.add_parser("health", help="exit 0 if the database opens read-only (HEALTHCHECK)")
    reset = tools.add_parser("reset", help="archive a person's current check and start a fresh one")
    reset.add_argument("user", help="Telegram user id or @username")
    export = tools.add_parser("export", help="all answers as pseudonymous CSV (or XLSX)")
    export.add_argument(
        "--output",
        "-o",
        default="export.csv",
        help="file to write (default: ./export.csv; .xlsx for Excel; - for CSV on stdout)",
    )
    whois = tools.add_parser("whois", help="the person behind a pseudonym P-… (audited)")
    whois.add_argument("pseudonym", help="a pseudonym from a log line or the export")
    backup = tools.add_parser("backup", help="a consistent copy of the database (online backup)")
    backup.add_argument("file", help="the copy to write (must not exist yet)")
    grant = tools.add_parser("grant-coordinator", help="allow a person to create groups")
    grant.add_argument("user", help="Telegram user id or @username")


def run(
    args: argparse.Namespace,
    out: TextIO | None = None,
    binary: BinaryIO | None = None,
) -> int:
    from bot.cli.run import startup_settings

    out = out or sys.stdout
    settings = startup_settings()
    if settings is None:
        return 2
    if not settings.database_path.exists():
        print(f"No database at {settings.database_path} (set DATABASE_PATH)", file=sys.stderr)
        return 2
    if args.admin_command == "health":
        from bot.store.health import check

        healthy, line = check(settings.database_path)
        print(line, file=out if healthy else sys.stderr)
        return 0 if healthy else 1
    from bot.store.startup_checks import EXIT_STARTUP, StartupError

    try:
        return asyncio.run(_run(args, settings, out, binary or sys.stdout.buffer))
    except StartupError as error:
        print(f"Start-up error: {error}", file=sys.stderr)
        return EXIT_STARTUP


async def _run(args: argparse.Namespace, settings: Settings, out: TextIO, binary: BinaryIO) -> int:
    from bot.app.admin import Admin, Person, user_id_of
    from bot.store.catalog import StoredVersions
    from bot.store.storage import Storage
    from bot.ui.texts import load_texts

    storage = await Storage.open(settings.database_path)
    try:
        admin = Admin(storage, StoredVersions(storage), load_texts())
        command = args.admin_command
        if command == "stats":
            print_stats(await admin.stats(CLI), out)
            return 0
        if command == "export":
            return await _export(admin, args.output, out, binary)
        if command == "whois":
            found = await admin.whois(CLI, args.pseudonym)
            if found is None:
                print(f"no person has the pseudonym {args.pseudonym}", file=sys.stderr)
                return 1
            print(found.label, file=out)
            return 0
        if command == "backup":
            return await _backup(storage, Path(args.file), out)
        person = await admin.find(args.user)
        if command == "grant-coordinator":
            user_id = user_id_of(args.user)
            if person is None and user_id is not None:
                person = Person(user_id)
            if person is None:
                print(f"unknown person: {args.user}", file=sys.stderr)
                return 1
            await admin.grant_coordinator(CLI, CLI_GRANTOR, person)
            print(f"{person.label} may now create groups", file=out)
            return 0
        if person is None:
            print(f"unknown person: {args.user}", file=sys.stderr)
            return 1
        return await _reset(admin, storage, settings.questionnaire_path, person, out)
    finally:
        await storage.close()


async def _backup(storage: Storage, target: Path, out: TextIO) -> int:
    if target.exists():
        print(f"{target} exists already; choose a new file", file=sys.stderr)
        return 1
    pages = await storage.backup(target)
    print(f"backup of {pages} pages written to {target}", file=out)
    return 0


async def _reset(
    admin: Admin, storage: Storage, questionnaire: Path, person: Person, out: TextIO
) -> int:
    from bot.store.catalog import Catalog
    from flows.loading import QuestionnaireInvalid

    try:
        catalog = await Catalog.load(storage, questionnaire)
    except QuestionnaireInvalid as error:
        print("The questionnaire could not be loaded:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    fresh = await admin.reset(CLI, person, catalog.active.content_hash)
    if fresh is None:
        print(f"{person.label} has no current check; nothing to reset", file=out)
        return 1
    print(
        f"{person.label}: check restarted (new session {fresh.id}); the earlier answers are "
        "kept as an earlier round. The person sees the fresh start next time.",
        file=out,
    )
    return 0


async def _export(admin: Admin, output: str, out: TextIO, binary: BinaryIO) -> int:
    export = await admin.export(CLI)
    if output == "-":
        binary.write(export.content)
        binary.flush()
    else:
        # The file's ending chooses the format: .xlsx for Excel, anything else CSV.
        xlsx = output.lower().endswith(".xlsx")
        Path(output).write_bytes(export.xlsx if xlsx else export.content)
        print(f"{export.rows} rows from {export.sessions} sessions written to {output}", file=out)
    return 0


def print_stats(stats: Stats, out: TextIO) -> None:
    lines = [
        f"people: {stats.people} (active last 7 days: {stats.active_7}, "
        f"last 30 days: {stats.active_30})",
        f"checks: {stats.sessions} created, {stats.started} begun, {stats.completed} completed, "
        f"{stats.current} current",
        f"groups: {stats.groups} ({stats.open_groups} open)",
        f"fields complete in the {stats.current} current checks:",
        *(
            f"  {n}. {f.title} ({f.field_id}): {f.complete}"
            for n, f in enumerate(stats.fields, start=1)
        ),
    ]
    if stats.unreadable:
        lines.append(
            f"  not counted: {stats.unreadable} current check(s) on a questionnaire version "
            "that cannot be read (see the WARNING in the bot's log)"
        )
    print("\n".join(lines), file=out)
