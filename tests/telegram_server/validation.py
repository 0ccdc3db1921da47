"""Bot API input checks that real Telegram enforces (and which a bot must therefore respect).

Why: the point of an end-to-end fake is to fail where Telegram would fail, e.g. on a 65-byte
``callback_data`` or an unescaped ``<`` in HTML, instead of at the first real deployment.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .formatting import Entity, EntityParseError, parse_text, strip_text
from .models import JSON, ApiError, Params, bad_request

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_BUTTONS = 100
MAX_CALLBACK_ANSWER = 200
_BUTTON_ACTIONS = {
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
}
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_SCOPES = {
    "default",
    "all_private_chats",
    "all_group_chats",
    "all_chat_administrators",
    "chat",
    "chat_administrators",
    "chat_member",
}
CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"RIFF")


def formatted_text(
    params: Params, name: str, *, strict_ampersand: bool, caption: bool = False
) -> tuple[str | None, list[Entity]]:
    """Parse ``text``/``caption`` with its parse_mode and enforce Telegram's length limits."""
    raw = params.text(name)
    if raw is None:
        if caption:
            return None, []
        raise bad_request("message text is empty")
    given = params.obj("caption_entities" if caption else "entities")
    parse_mode = params.text("parse_mode")
    if given is not None and not isinstance(given, list):
        raise bad_request("can't parse entities JSON object")
    if given is not None and not parse_mode:
        plain, entities = raw, list(given)
    else:
        try:
            plain, entities = parse_text(raw, parse_mode, strict_ampersand=strict_ampersand)
        except EntityParseError as exc:
            if str(exc).startswith("Unsupported parse_mode"):
                raise bad_request("unsupported parse_mode") from None
            raise bad_request(f"can't parse entities: {exc}") from None
    plain, entities = strip_text(plain, entities)
    if caption:
        if len(plain) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        return plain or None, entities
    if not plain:
        raise bad_request("message text is empty")
    if len(plain) > MAX_TEXT:
        raise bad_request("message is too long")
    return plain, entities


def reply_markup(value: Any, *, inline_only: bool = False) -> JSON | None:
    """Validate any reply markup; an empty inline keyboard counts as "no markup"."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in value:
        _inline_keyboard(value["inline_keyboard"])
        return value if value["inline_keyboard"] else None
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in value:
        rows = value["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request('field "keyboard" must be an Array of Arrays')
        for button in (b for row in rows for b in row):
            text = button if isinstance(button, str) else (button or {}).get("text")
            if not isinstance(text, str) or not text:
                raise bad_request("keyboard button text must be non-empty")
        return value
    if value.get("remove_keyboard") or value.get("force_reply"):
        return value
    raise bad_request("can't parse reply keyboard markup JSON object")


def _inline_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" must be an Array of Arrays')
    buttons = [button for row in rows for button in row]
    if len(buttons) > MAX_BUTTONS:
        raise bad_request("reply markup is too long")
    for button in buttons:
        if not isinstance(button, dict):
            raise bad_request("can't parse inline keyboard button: Object expected")
        text = button.get("text")
        if not isinstance(text, str) or not text.strip():
            raise bad_request("BUTTON_TEXT_INVALID")
        actions = _BUTTON_ACTIONS & button.keys()
        if len(actions) != 1:
            raise bad_request(
                "can't parse inline keyboard button: "
                "Text buttons are unallowed in the inline keyboard"
            )
        if "callback_data" in button:
            data = button["callback_data"]
            if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                raise bad_request("BUTTON_DATA_INVALID")
        if "url" in button and not re.match(r"(https?|tg)://\S+$", str(button["url"])):
            raise bad_request(
                f"inline keyboard button URL '{button['url']}' is invalid: Wrong HTTP URL"
            )


def callback_answer(params: Params) -> JSON:
    text = params.text("text")
    if text and len(text) > MAX_CALLBACK_ANSWER:
        raise bad_request("MESSAGE_TOO_LONG")
    return {
        "callback_query_id": params.text("callback_query_id"),
        "text": text,
        "show_alert": params.flag("show_alert"),
        "url": params.text("url"),
        "cache_time": params.integer("cache_time") or 0,
    }


def commands(value: Any) -> list[JSON]:
    if not isinstance(value, list) or len(value) > 100:
        raise bad_request("commands must be an Array of at most 100 BotCommand")
    result = []
    for item in value:
        command = item.get("command") if isinstance(item, dict) else None
        description = item.get("description") if isinstance(item, dict) else None
        if not isinstance(command, str) or not _COMMAND_RE.fullmatch(command):
            raise bad_request("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not 1 <= len(description) <= 256:
            raise bad_request("command description must be 1-256 characters")
        result.append({"command": command, "description": description})
    return result


def scope_key(scope: Any, language_code: str | None) -> str:
    """Canonical storage key for a (scope, language_code) pair."""
    scope = scope or {"type": "default"}
    if not isinstance(scope, dict) or scope.get("type") not in _SCOPES:
        raise bad_request("can't parse BotCommandScope JSON object")
    if scope["type"].startswith("chat"):
        if scope.get("chat_id") in (None, ""):
            raise bad_request("chat_id is empty")
        chat_id = scope["chat_id"]
        scope = {
            **scope,
            "chat_id": int(chat_id) if str(chat_id).lstrip("-").isdigit() else chat_id,
        }
    language_code = language_code or ""
    if language_code and not re.fullmatch(r"[a-z]{2}", language_code):
        raise bad_request("invalid language code specified")
    return json.dumps([scope, language_code], sort_keys=True)


def looks_like_image(content: bytes) -> bool:
    """sendPhoto content must be a decodable image (Telegram: IMAGE_PROCESS_FAILED)."""
    return content.startswith(_IMAGE_MAGIC)


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )
