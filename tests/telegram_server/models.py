"""State records of the fake Bot API server (messages, files, updates, calls, errors).

Why: tests assert on what the *user* would see and on what the bot *asked* Telegram to do,
so both are kept as plain, inspectable dataclasses rather than hidden inside handlers.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


class ApiError(Exception):
    """A Bot API error answer: ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description
        self.parameters = parameters

    def to_api(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


@dataclass
class Upload:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str | None
    content: bytes


class Params:
    """Request parameters from a query string, JSON, form or multipart body.

    Why: PTB posts forms whose values are all strings (nested objects as JSON strings), other
    clients post JSON; handlers coerce on access and never care about the transport.
    """

    def __init__(
        self,
        values: JSON,
        uploads: dict[str, Upload] | None = None,
        is_connected: Callable[[], bool] = lambda: True,
    ) -> None:
        self.values = values
        self.uploads = {} if uploads is None else uploads
        # A long poll whose client died (e.g. a SIGKILLed bot) must not swallow updates.
        self.is_connected = is_connected

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "") or name in self.uploads

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value) if isinstance(value, dict | list) else str(value)

    def integer(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            raise bad_request(f"invalid {name} specified") from None

    def number(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def obj(self, name: str) -> Any:
        """A JSON-typed parameter, decoding JSON strings as the Bot API does for forms."""
        value = self.values.get(name)
        if not isinstance(value, str):
            return value
        if value == "":
            return None
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise bad_request(f"can't parse {name} JSON object") from None

    def upload(self, name: str) -> Upload | None:
        return self.uploads.get(name)

    def loggable(self) -> JSON:
        """Parameters for the call log; file parts are summarised, not copied."""
        files = {
            k: f"<upload {u.filename!r}, {len(u.content)} bytes>" for k, u in self.uploads.items()
        }
        return {**self.values, **files}


@dataclass
class StoredFile:
    """A file known to the server: uploaded by the bot or sent by a simulated user."""

    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    file_name: str | None = None
    mime_type: str | None = None
    kind: str = "document"

    @property
    def file_size(self) -> int:
        return len(self.content)

    def to_api(self) -> JSON:
        data: JSON = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
        }
        if self.file_name:
            data["file_name"] = self.file_name
        if self.mime_type:
            data["mime_type"] = self.mime_type
        return data

    def photo_sizes(self) -> list[JSON]:
        """Real Telegram returns several sizes; one (with placeholder dimensions) is enough."""
        return [
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "file_size": self.file_size,
                "width": 800,
                "height": 600,
            }
        ]


@dataclass
class StoredMessage:
    """A message in a chat; ``text``/``caption`` are the *visible* text after entity parsing."""

    message_id: int
    chat: JSON
    sender: JSON
    date: int
    text: str | None = None
    raw_text: str | None = None
    parse_mode: str | None = None
    entities: list[JSON] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[JSON] = field(default_factory=list)
    reply_markup: JSON | None = None
    document: StoredFile | None = None
    photo: StoredFile | None = None
    extra: JSON = field(default_factory=dict)
    edit_date: int | None = None
    edits: list[JSON] = field(default_factory=list)
    deleted: bool = False

    @property
    def chat_id(self) -> int:
        return int(self.chat["id"])

    @property
    def from_bot(self) -> bool:
        return bool(self.sender.get("is_bot"))

    @property
    def inline_buttons(self) -> list[JSON]:
        """All inline keyboard buttons, rows flattened."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button for row in rows for button in row]

    @property
    def button_texts(self) -> list[str]:
        return [button["text"] for button in self.inline_buttons]

    @property
    def visible_text(self) -> str | None:
        return self.text if self.text is not None else self.caption

    def version(self) -> JSON:
        """The editable part of the message, for the edit history."""
        keys = ("text", "raw_text", "parse_mode", "entities", "caption", "reply_markup")
        return copy.deepcopy(
            {key: getattr(self, key) for key in keys} | {"edit_date": self.edit_date}
        )

    def snapshot(self) -> StoredMessage:
        """A frozen copy, so a waiting test sees the message as it was at that moment.

        The edit history's entries are frozen copies already (`version`) and never change, so
        the copy shares them in a list of its own: copying them again made every edit of a
        long-lived message cost as much as all its earlier edits together.
        """
        return copy.deepcopy(self, {id(self.edits): list(self.edits)})

    def to_api(self) -> JSON:
        data: JSON = {
            "message_id": self.message_id,
            "date": self.date,
            "chat": dict(self.chat),
            "from": dict(self.sender),
            **copy.deepcopy(self.extra),
        }
        if self.text is not None:
            data["text"] = self.text
            if self.entities:
                data["entities"] = copy.deepcopy(self.entities)
        if self.caption:
            data["caption"] = self.caption
            if self.caption_entities:
                data["caption_entities"] = copy.deepcopy(self.caption_entities)
        if self.document:
            data["document"] = self.document.to_api()
        if self.photo:
            data["photo"] = self.photo.photo_sizes()
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            data["reply_markup"] = copy.deepcopy(self.reply_markup)
        if self.edit_date:
            data["edit_date"] = self.edit_date
        return data


@dataclass
class ChatState:
    """One private chat: its messages and the per-chat bookkeeping for waiting helpers."""

    chat: JSON
    user: JSON
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    events: list[StoredMessage] = field(default_factory=list)
    next_message_id: int = 1
    blocked: bool = False
    in_flight: int = 0
    last_activity: float = 0.0

    @property
    def id(self) -> int:
        return int(self.chat["id"])

    def bot_messages(self) -> list[StoredMessage]:
        return [m for m in self.messages.values() if m.from_bot and not m.deleted]


@dataclass
class QueuedUpdate:
    """An update waiting for getUpdates/webhook; ``fetched`` once handed to the bot."""

    update_id: int
    kind: str
    payload: JSON
    chat_id: int | None
    fetched: bool = False

    def to_api(self) -> JSON:
        return {"update_id": self.update_id, self.kind: copy.deepcopy(self.payload)}


@dataclass
class CallbackRecord:
    """A callback query sent by a simulated user and whether the bot answered it."""

    id: str
    chat_id: int
    message_id: int | None
    data: str | None
    answer: JSON | None = None

    @property
    def answered(self) -> bool:
        return self.answer is not None


@dataclass
class ApiCall:
    """One request the bot made; ``status`` is the HTTP status (``None`` = dropped/running)."""

    method: str
    params: JSON
    time: float
    chat_id: int | None
    status: int | None = None
    fault: str | None = None


@dataclass
class RetryAfterViolation:
    """A call for a chat that arrived before its 429 ``retry_after`` had passed."""

    method: str
    chat_id: int | None
    time: float
    allowed_at: float

    @property
    def early_by(self) -> float:
        return self.allowed_at - self.time


@dataclass
class WebhookDelivery:
    """One POST of an update to the bot's webhook."""

    update_id: int
    url: str
    headers: dict[str, str]
    status: int | None
    error: str | None = None
