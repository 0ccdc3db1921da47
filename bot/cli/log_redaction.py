"""The bot token and the webhook secret never appear in logs, at any level.

Why: the token is the bot (whoever has it can read every person's messages and answer as the
bot), and it sits in every Bot API URL; the webhook secret guards the webhook. Libraries put
them into log lines (PTB's debug lines, httpx's request lines) and into exception texts
(`InvalidToken`, a failed request's URL). So the filter works on the finished text of every
record (message with its arguments, exception and stack text) on every root handler, and the
last-resort hooks for uncaught exceptions print redacted tracebacks too.

The per-call loggers of the libraries (every Bot API call with its parameters, every SQL
statement with its values) would also write people's answers and names into the log; they
stay quiet even at DEBUG unless LOG_CALLS asks for them.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Iterable
from types import TracebackType
from urllib.parse import quote

REDACTED = "[redacted]"
# Loggers that write one record per Bot API call, HTTP request, SQL statement or update, with its
# parameters (texts people typed, their answers, names).
CALL_LOGGERS = (
    "httpx",
    "httpcore",
    "bot.store.database",  # every SQL statement with its parameters
    "telegram.Bot",
    "telegram.ext.ExtBot",
    "telegram.ext.Application",  # "Processing update …" with the whole update
)


def secret_forms(secrets: Iterable[str | None]) -> tuple[str, ...]:
    """Every spelling in which a secret may show up: as is, URL-encoded, and a token's
    secret half (after the colon) on its own; longest first so no part is left over."""
    forms: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        forms.update({secret, quote(secret, safe=""), quote(secret)})
        _, colon, tail = secret.partition(":")
        if colon and len(tail) >= 16:
            forms.add(tail)
    return tuple(sorted(forms, key=len, reverse=True))


class Redactor(logging.Filter):
    """A handler filter that replaces every form of the secrets in a record's final text."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        self.forms = secret_forms(secrets)

    def redact(self, text: str) -> str:
        for form in self.forms:
            text = text.replace(form, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: let the handler report it, redacted below
            message = f"{record.msg} {record.args}"
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def install(secrets: Iterable[str | None], log_calls: bool = False) -> Redactor:
    """Redact on every root handler and in the uncaught-exception hooks; quiet the call
    loggers unless `log_calls`."""
    redactor = Redactor(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
    if not log_calls:
        for name in CALL_LOGGERS:
            logger = logging.getLogger(name)
            # httpx logs every request line at INFO; the others only per-call lines at DEBUG.
            logger.setLevel(logging.WARNING if name.startswith("http") else logging.INFO)

    def excepthook(
        kind: type[BaseException], error: BaseException, trace: TracebackType | None
    ) -> None:
        text = "".join(traceback.format_exception(kind, error, trace))
        sys.stderr.write(redactor.redact(text))

    def thread_excepthook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        excepthook(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback)

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook
    return redactor
