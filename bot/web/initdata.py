"""Checking a Telegram Mini App's `initData`, exactly as the Bot API documents it.

Telegram passes the Mini App a query string (`tgWebAppData`) signed with the bot's token:
    secret_key = HMAC_SHA256(key="WebAppData", msg=bot_token)
    hash       = hex(HMAC_SHA256(key=secret_key, msg=data_check_string))
where data_check_string joins every received field except `hash`, sorted by key, as
"key=value" lines separated by "\\n" (values URL-decoded). `auth_date` (Unix seconds) must not be
older than a maximum age, so a captured string cannot be replayed later. Stdlib `hmac` is enough:
the check is five lines, and the libraries that offer it (aiogram) bring a whole bot framework.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

DEFAULT_MAX_AGE_SECONDS = 3600
"""Telegram issues fresh initData each time the Mini App opens; an hour covers a slow start."""


class InitDataRefused(Exception):
    """initData is missing, forged, malformed or too old."""


@dataclass(frozen=True)
class MiniAppUser:
    user_id: int
    auth_date: int


def _secret_key(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def _data_check_string(fields: dict[str, str]) -> str:
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def verify_init_data(
    init_data: str,
    bot_token: str,
    *,
    max_age: int = DEFAULT_MAX_AGE_SECONDS,
    clock: Callable[[], float] = time.time,
) -> MiniAppUser:
    """The signed-in user of a valid initData string, or `InitDataRefused`."""
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError as error:
        raise InitDataRefused("not a query string") from error
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise InitDataRefused("repeated field")
    received = fields.get("hash", "")
    expected = hmac.new(
        _secret_key(bot_token), _data_check_string(fields).encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, received):
        raise InitDataRefused("hash does not match")
    try:
        auth_date = int(fields["auth_date"])
        user_id = json.loads(fields["user"])["id"]
    except (KeyError, ValueError, TypeError) as error:
        raise InitDataRefused("auth_date or user missing") from error
    if type(user_id) is not int:
        raise InitDataRefused("user id is not a number")
    age = clock() - auth_date
    if age > max_age or age < -60:  # a minute of clock skew is tolerated, no more
        raise InitDataRefused("too old")
    return MiniAppUser(user_id=user_id, auth_date=auth_date)


def sign_init_data(fields: dict[str, str], bot_token: str) -> str:
    """initData as Telegram would send it for `fields` (for tests and the local dev server)."""
    digest = hmac.new(
        _secret_key(bot_token), _data_check_string(fields).encode(), hashlib.sha256
    ).hexdigest()
    return urlencode({**fields, "hash": digest})
