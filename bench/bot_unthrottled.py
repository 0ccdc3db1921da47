"""`python -m bot`, but with AIORateLimiter's overall limit (30 requests/s) switched off.

Why: with the shipped limiter every bot, however fast, tops out at 30 sent/edited messages per
second, so a throughput or latency comparison would only measure the limiter. This wrapper keeps
everything else (retry-after handling, max_retries, the whole code path) and is compared with
the echo bot started with `ECHO_RATE_LIMIT=off`.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import AIORateLimiter

_original_init = AIORateLimiter.__init__


def _unthrottled_init(self: AIORateLimiter, *args: Any, **kwargs: Any) -> None:
    kwargs.pop("overall_max_rate", None)
    _original_init(self, 0, *args[1:], **kwargs)


def main() -> int:
    AIORateLimiter.__init__ = _unthrottled_init  # type: ignore[method-assign]
    from bot.cli.main import main as bot_main

    return bot_main([])


if __name__ == "__main__":
    raise SystemExit(main())
