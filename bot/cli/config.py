"""Typed configuration, loaded once from the environment at start-up.

A missing or malformed setting raises `ConfigError` with a one-line explanation; the entry
point prints it and exits instead of showing a traceback.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.store.content import DEFAULT_QUESTIONNAIRE

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
TOKEN_PATTERN = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line for the operator."""


@dataclass(frozen=True)
class Settings:
    token: str | None
    base_url: str = DEFAULT_BASE_URL
    base_file_url: str = "https://api.telegram.org/file/bot"
    database_path: Path = Path("data/selbstcheck.sqlite3")
    questionnaire_path: Path = DEFAULT_QUESTIONNAIRE
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    log_level: str = "INFO"
    # also log every Bot API call and SQL statement with its parameters (people's answers)
    log_calls: bool = False
    # proxy for every request to Telegram (municipal networks often allow no direct access)
    https_proxy: str | None = None
    # how long start-up keeps trying to reach Telegram before it gives up with one line
    telegram_startup_timeout: float = 60.0
    group_creation: str = "anyone"
    group_min_size: int = 3
    groups_per_coordinator: int = 20
    bot_username: str = "IhrSelbstcheckBot"
    # reminders about unfinished checks
    reminder_days: int = 3
    reminder_max: int = 2
    reminder_check_seconds: float = 3600.0
    # webhook mode (instead of long polling) when webhook_url is set
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_path: str = "telegram"
    webhook_secret: str | None = None
    # chat-bound Bot API requests per second (AIORateLimiter's overall limit); 0 = no limiter
    telegram_rate_limit: float = 30.0
    # workshop pages (bot/web): served when web_base_url is set
    web_base_url: str | None = None
    web_listen: str = "127.0.0.1"
    web_port: int = 8080
    web_link_days: int = 14
    # who is responsible for the data and how to reach them (the privacy notice, /datenschutz)
    privacy_controller: str | None = None
    privacy_contact: str | None = None
    # checks and people inactive longer than this are deleted, with a notice some days before
    retention_months: int = 24
    retention_notice_days: int = 28

    @property
    def telegram_enabled(self) -> bool:
        return self.token is not None


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read every setting from the environment (or the given mapping)."""
    env = os.environ if environ is None else environ
    token = env.get("BOT_TOKEN", "").strip() or None
    if token is not None and not TOKEN_PATTERN.match(token):
        raise ConfigError(
            "BOT_TOKEN does not look like a bot token (expected '123456:ABC…' from @BotFather)"
        )
    base_url = env.get("TELEGRAM_BASE_URL", "").strip().rstrip("/") or DEFAULT_BASE_URL
    if not re.match(r"^https?://[^\s/]+", base_url):
        raise ConfigError(f"TELEGRAM_BASE_URL must be an http(s) URL, got {base_url!r}")
    if not base_url.endswith("/bot"):
        base_url += "/bot"
    base_file_url = base_url[: -len("/bot")] + "/file/bot"
    log_level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if log_level not in logging.getLevelNamesMapping():
        raise ConfigError(
            f"LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR; got {log_level!r}"
        )
    database = Path(env.get("DATABASE_PATH", "").strip() or "data/selbstcheck.sqlite3")
    if database.exists() and database.is_dir():
        raise ConfigError(f"DATABASE_PATH points at a folder, not a file: {database}")
    questionnaire = Path(env.get("QUESTIONNAIRE_PATH", "").strip() or DEFAULT_QUESTIONNAIRE)
    settings = Settings(
        token=token,
        base_url=base_url,
        base_file_url=base_file_url,
        database_path=database,
        questionnaire_path=questionnaire,
        admin_ids=_parse_ids(env.get("ADMIN_IDS", "")),
        log_level=log_level,
        log_calls=_flag(env, "LOG_CALLS"),
        https_proxy=_proxy(env),
        telegram_startup_timeout=_seconds(env, "TELEGRAM_STARTUP_TIMEOUT", 60.0),
        group_creation=_choice(env, "GROUP_CREATION", ("anyone", "coordinators"), "anyone"),
        group_min_size=_positive_int(env, "GROUP_MIN_SIZE", 3, minimum=3),
        groups_per_coordinator=_positive_int(env, "GROUPS_PER_COORDINATOR", 20),
        bot_username=env.get("BOT_USERNAME", "").strip().lstrip("@") or "IhrSelbstcheckBot",
        telegram_rate_limit=_rate_limit(env),
        **_reminder_settings(env),
        **_webhook_settings(env),
        **_web_settings(env),
        privacy_controller=_text(env, "PRIVACY_CONTROLLER"),
        privacy_contact=_text(env, "PRIVACY_CONTACT"),
        retention_months=_positive_int(env, "RETENTION_MONTHS", 24),
        retention_notice_days=_positive_int(env, "RETENTION_NOTICE_DAYS", 28),
    )
    if (
        settings.webhook_url
        and settings.web_base_url
        and settings.web_port == settings.webhook_port
    ):
        raise ConfigError(
            f"WEB_PORT and WEBHOOK_PORT are both {settings.web_port}; the workshop pages and the "
            "webhook need two different ports"
        )
    return settings


def require_privacy_contact(settings: Settings) -> None:
    """On Telegram (a token set) the privacy notice must name who is responsible."""
    if settings.token is not None and not (
        settings.privacy_controller and settings.privacy_contact
    ):
        raise ConfigError(
            "PRIVACY_CONTROLLER and PRIVACY_CONTACT are required with BOT_TOKEN: the privacy "
            "notice (/datenschutz) must name who is responsible and how to reach them"
        )


def _text(env: Mapping[str, str], name: str) -> str | None:
    """A free text setting; blank counts as unset."""
    return " ".join(env.get(name, "").split()) or None


def _rate_limit(env: Mapping[str, str]) -> float:
    raw = env.get("TELEGRAM_RATE_LIMIT", "").strip()
    if not raw:
        return 30.0
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1000:
        raise ConfigError(
            f"TELEGRAM_RATE_LIMIT must be requests per second from 0 (off) to 1000, got {raw!r}"
        )
    return value


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = env.get(name, "").strip().lower() or default
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _positive_int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < minimum:
        raise ConfigError(f"{name} must be a whole number of at least {minimum}, got {raw!r}")
    return int(raw)


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw not in {"", "0", "1", "true", "false", "yes", "no"}:
        raise ConfigError(f"{name} must be true or false, got {raw!r}")
    return raw in {"1", "true", "yes"}


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    try:
        seconds = float(raw) if raw else default
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise ConfigError(f"{name} must be a number of seconds above 0, got {raw!r}")
    return seconds


def _proxy(env: Mapping[str, str]) -> str | None:
    """HTTPS_PROXY (or https_proxy), as curl and pip read it; used for every Telegram request."""
    url = (env.get("HTTPS_PROXY") or env.get("https_proxy") or "").strip() or None
    if url is not None and not re.match(r"^https?://[^\s/]+", url):
        raise ConfigError(
            f"HTTPS_PROXY must be an http(s) proxy URL like http://proxy.example:3128, got {url!r}"
        )
    return url


def _parse_ids(raw: str) -> frozenset[int]:
    ids = set()
    for part in re.split(r"[,\s]+", raw.strip()):
        if not part:
            continue
        if not re.fullmatch(r"-?\d+", part):
            raise ConfigError(
                f"ADMIN_IDS must be Telegram user ids separated by commas, got {part!r}"
            )
        ids.add(int(part))
    return frozenset(ids)


# Telegram allows 1-256 characters; fewer than 32 could be guessed by trying.
WEBHOOK_SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32,256}$")


def _reminder_settings(env: Mapping[str, str]) -> dict[str, Any]:
    max_raw = env.get("REMINDER_MAX", "").strip()
    if max_raw and not max_raw.isdigit():
        raise ConfigError(
            f"REMINDER_MAX must be a whole number (0 = no reminders), got {max_raw!r}"
        )
    seconds_raw = env.get("REMINDER_CHECK_SECONDS", "").strip()
    try:
        seconds = float(seconds_raw) if seconds_raw else 3600.0
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise ConfigError(
            f"REMINDER_CHECK_SECONDS must be a number of seconds above 0, got {seconds_raw!r}"
        )
    return {
        "reminder_days": _positive_int(env, "REMINDER_DAYS", 3),
        "reminder_max": int(max_raw) if max_raw else 2,
        "reminder_check_seconds": seconds,
    }


def _webhook_settings(env: Mapping[str, str]) -> dict[str, Any]:
    url = env.get("WEBHOOK_URL", "").strip() or None
    if url is None:
        return {}
    if not re.match(r"^https?://[^\s/]+", url):
        raise ConfigError(f"WEBHOOK_URL must be an http(s) URL, got {url!r}")
    secret = env.get("WEBHOOK_SECRET", "").strip()
    if not WEBHOOK_SECRET_PATTERN.match(secret):
        raise ConfigError(
            "WEBHOOK_SECRET is required with WEBHOOK_URL: "
            "32-256 characters of A-Z, a-z, 0-9, _ and - (for example from "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )
    port_raw = env.get("WEBHOOK_PORT", "").strip() or "8443"
    if not port_raw.isdigit() or not 1 <= int(port_raw) <= 65535:
        raise ConfigError(f"WEBHOOK_PORT must be a port number from 1 to 65535, got {port_raw!r}")
    return {
        "webhook_url": url,
        # Behind a reverse proxy that terminates TLS on the same machine (see README).
        "webhook_listen": env.get("WEBHOOK_LISTEN", "").strip() or "127.0.0.1",
        "webhook_port": int(port_raw),
        "webhook_path": env.get("WEBHOOK_PATH", "").strip().strip("/") or "telegram",
        "webhook_secret": secret,
    }


def _web_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """Where the workshop pages are served; the public URL is what links point at."""
    url = env.get("WEB_BASE_URL", "").strip().rstrip("/") or None
    if url is not None and not re.match(r"^https?://[^\s/]+", url):
        raise ConfigError(f"WEB_BASE_URL must be an http(s) URL, got {url!r}")
    port_raw = env.get("WEB_PORT", "").strip() or "8080"
    if not port_raw.isdigit() or not 1 <= int(port_raw) <= 65535:
        raise ConfigError(f"WEB_PORT must be a port number from 1 to 65535, got {port_raw!r}")
    return {
        "web_base_url": url,
        "web_listen": env.get("WEB_LISTEN", "").strip() or "127.0.0.1",
        "web_port": int(port_raw),
        "web_link_days": _positive_int(env, "WEB_LINK_DAYS", 14),
    }
