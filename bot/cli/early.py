"""What `python -m bot` starts before its own imports, when this run is going to serve Telegram.

The questionnaire's validation child (`bot.store.validation`) needs about 0.4 s, mostly its
imports; the bot's own imports take longer than that. Started first, the child is ready when
start-up reaches the questionnaire, and start-up does not wait for it (started after the
imports, start-up waited about 0.1 s). Only the process's entry point calls this, and only
without a sub-command and with a token set, so the console chat, the tools and tests that run
the bot in their own process never start one. A child that is never used (a configuration
error) reads the end of its input when this process exits, and exits too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence

from bot.store import validation_child

_child: subprocess.Popen[bytes] | None = None


def start_validation_child(
    argv: Sequence[str] = sys.argv, environ: Mapping[str, str] = os.environ
) -> None:
    """Start the child now if this run serves Telegram (no sub-command, a token set)."""
    global _child
    if _child is None and len(argv) <= 1 and environ.get("BOT_TOKEN", "").strip():
        _child = validation_child.start()


def take_validation_child() -> subprocess.Popen[bytes] | None:
    """The child started by `start_validation_child`, handed over once."""
    global _child
    child, _child = _child, None
    return child
