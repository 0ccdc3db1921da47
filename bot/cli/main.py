"""Command-line dispatch for `python -m bot`."""

from __future__ import annotations

import argparse
import gc

from bot.cli import admin_cli, authoring


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Selbstcheck „Weltoffene Kommune“ – Telegram-Bot. Without a sub-command it "
        "runs the bot (or a console chat when BOT_TOKEN is not set).",
    )
    commands = parser.add_subparsers(dest="command")
    validate = commands.add_parser("validate", help="validate questionnaire files")
    validate.add_argument("files", nargs="*", help="default: every file in questionnaires/")
    preview = commands.add_parser("preview", help="print a questionnaire readably")
    preview.add_argument("file", nargs="?", help="default: the shipped questionnaire")
    preview.add_argument(
        "--type",
        dest="municipality_type",
        help="municipality type id or label (default: the file's default type)",
    )
    admin_cli.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command is not None:
        gc.enable()  # only the bot's own start-up runs without collections (bot.cli.collector)
    if args.command == "validate":
        return authoring.validate(args.files)
    if args.command == "preview":
        return authoring.preview(args.file, municipality_type=args.municipality_type)
    if args.command == "admin":
        return admin_cli.run(args)
    from bot.cli.run import run

    return run()
