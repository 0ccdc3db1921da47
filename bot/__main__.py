"""Entry point: `python -m bot` runs the bot (or a console chat without a token).

Sub-commands: `validate [FILE ...]`, `preview [FILE]` for questionnaire authors.
"""

from bot.cli import main

raise SystemExit(main())
