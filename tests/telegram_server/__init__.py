"""Local fake Telegram Bot API server and simulated users for end-to-end bot tests.

Why: lets the real python-telegram-bot ``Application`` run against real HTTP, offline and
deterministically, while tests assert on what a user would see.
"""

from .faults import FaultRule, Faults
from .formatting import EntityParseError, parse_html, parse_text
from .models import (
    ApiCall,
    ApiError,
    CallbackRecord,
    ChatState,
    RetryAfterViolation,
    StoredFile,
    StoredMessage,
    WebhookDelivery,
)
from .server import BOT_USER, BotApiServer
from .user import TINY_PNG, SimulatedUser

__all__ = [
    "BOT_USER",
    "TINY_PNG",
    "ApiCall",
    "ApiError",
    "BotApiServer",
    "CallbackRecord",
    "ChatState",
    "EntityParseError",
    "FaultRule",
    "Faults",
    "RetryAfterViolation",
    "SimulatedUser",
    "StoredFile",
    "StoredMessage",
    "WebhookDelivery",
    "parse_html",
    "parse_text",
]
