"""Entry point: `python -m bot` runs the bot (or a console chat without a token).

Sub-commands: `validate [FILE ...]`, `preview [FILE]` for questionnaire authors, and
`admin stats|reset|export|grant-coordinator` for the server operator.
"""

from bot.cli import collector, early

collector.pause()  # before the imports: see bot.cli.collector
early.start_validation_child()  # ready when start-up needs it: see bot.cli.early

from bot.cli.main import main  # noqa: E402

raise SystemExit(main())
