"""A local, Bot-API-compatible HTTP server for end-to-end tests of the bot.

Why: the real python-telegram-bot ``Application`` should talk real HTTP (polling or webhook)
to something that answers and *fails* like Telegram, without touching the internet. The
server binds 127.0.0.1 on a free port, keeps every chat's messages, logs every API call and
can inject faults (5xx, dropped connections, slow replies, 429 flood control).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import PurePosixPath
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from . import validation
from .faults import FaultRule, Faults
from .models import (
    JSON,
    ApiCall,
    ApiError,
    CallbackRecord,
    ChatState,
    Params,
    QueuedUpdate,
    RetryAfterViolation,
    StoredFile,
    StoredMessage,
    Upload,
    WebhookDelivery,
    bad_request,
)

BOT_USER: JSON = {
    "id": 1000,
    "is_bot": True,
    "first_name": "Selbstcheck",
    "username": "selbstcheck_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
    "can_connect_to_business": False,
    "has_main_web_app": False,
}
_SENDER_KEYS = ("id", "is_bot", "first_name", "username")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
_QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
Handler = Callable[[Params], Awaitable[Any]]


class BotApiServer:
    """Fake Telegram Bot API; use as ``async with BotApiServer() as server: ...``.

    ``token=None`` accepts any token (the path segment after ``/bot``); a string makes every
    other token fail with 401 like an invalid token would.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        seed: int = 0,
        strict_ampersand: bool = True,
        webhook_retry_delay: float = 0.2,
    ) -> None:
        self.token = token
        self.strict_ampersand = strict_ampersand
        self.webhook_retry_delay = webhook_retry_delay
        self.faults = Faults(seed)
        self.bot_user: JSON = dict(BOT_USER)
        self.files: dict[str, StoredFile] = {}
        self.callback_queries: dict[str, CallbackRecord] = {}
        self.descriptions: dict[tuple[str, str], str] = {}
        self.retry_after_violations: list[RetryAfterViolation] = []
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.internal_errors: list[Exception] = []
        self.webhook: JSON = {}
        self.port = 0
        self._chats: dict[int, ChatState] = {}
        self._calls: list[ApiCall] = []
        self._commands: dict[str, list[JSON]] = {}
        self._updates: list[QueuedUpdate] = []
        self._allowed_updates: set[str] | None = None
        self._update_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._retry_until: dict[int | None, float] = {}
        self._changed = asyncio.Event()
        self._poll_generation = 0
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "sendChatAction": self._send_chat_action,
            "getChat": self._get_chat,
            "getFile": self._get_file,
            "close": self._true,
            "logOut": self._true,
            "setMyDescription": self._set_description("description", 512),
            "setMyShortDescription": self._set_description("short_description", 120),
            "getMyDescription": self._get_description("description"),
            "getMyShortDescription": self._get_description("short_description"),
        }
        self._handlers = {name.lower(): (name, handler) for name, handler in handlers.items()}

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def start(self) -> None:
        """Bind 127.0.0.1 on a free port and start serving."""
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]
        self._session = ClientSession(timeout=ClientTimeout(total=10))

    async def stop(self) -> None:
        """Wake long polls, stop webhook delivery and close the listener."""
        self._closing = True
        self._notify()
        await self._stop_webhook()
        if self._session:
            await self._session.close()
        if self._runner:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- inspection ------------------------------------------------------------------------

    def calls(self, method: str | None = None, chat_id: int | None = None) -> list[ApiCall]:
        """Logged API calls, optionally filtered by method (case-insensitive) and chat."""
        return [
            call
            for call in self._calls
            if (method is None or call.method.lower() == method.lower())
            and (chat_id is None or call.chat_id == chat_id)
        ]

    def commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """The command list stored by setMyCommands for a scope (default scope if ``None``)."""
        return list(self._commands.get(validation.scope_key(scope, language_code), []))

    def chat(self, chat_id: int) -> ChatState:
        return self._chats[chat_id]

    def messages(self, chat_id: int) -> list[StoredMessage]:
        """Bot messages in a chat, current state after edits, without deleted ones."""
        return self._chats[chat_id].bot_messages()

    @property
    def pending_updates(self) -> list[JSON]:
        return [update.to_api() for update in self._updates]

    def block_chat(self, chat_id: int) -> None:
        """Simulate a user who blocked the bot: sends/edits to the chat answer 403."""
        self._chats[chat_id].blocked = True

    def unblock_chat(self, chat_id: int) -> None:
        self._chats[chat_id].blocked = False

    # -- simulation hooks (used by SimulatedUser) ------------------------------------------

    def register_user(self, user: JSON) -> ChatState:
        """Create (or return) the private chat of a user; chat id = user id."""
        chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        if user.get("username"):
            chat["username"] = user["username"]
        return self._chats.setdefault(user["id"], ChatState(chat=chat, user=dict(user)))

    def register_file(
        self,
        content: bytes,
        *,
        kind: str,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        """Store a file so it can be re-sent by file_id and downloaded via getFile."""
        number = next(self._file_ids)
        suffix = PurePosixPath(file_name or "").suffix or (".jpg" if kind == "photo" else "")
        stored = StoredFile(
            file_id=f"{kind}-file-{number}",
            file_unique_id=f"unique-{number}",
            file_path=f"{kind}s/file_{number}{suffix}",
            content=content,
            file_name=file_name,
            mime_type=mime_type,
            kind=kind,
        )
        self.files[stored.file_id] = stored
        return stored

    def add_user_message(self, chat_id: int, content: JSON) -> StoredMessage:
        """Store a message from the chat's user and enqueue it as a ``message`` update."""
        chat = self._chats[chat_id]
        content = dict(content)
        text = content.pop("text", None)
        entities = content.pop("entities", [])
        message = self._store(chat, dict(chat.user), text=text, entities=entities, extra=content)
        self.enqueue("message", message.to_api(), chat_id)
        return message

    def add_callback_query(self, chat_id: int, message_id: int, data: str | None) -> CallbackRecord:
        """Enqueue a ``callback_query`` update as if the user pressed a button."""
        chat = self._chats[chat_id]
        message = chat.messages.get(message_id)
        if message is None:
            raise LookupError(f"no message {message_id} in chat {chat_id}")
        record = CallbackRecord(f"cq-{len(self.callback_queries) + 1}", chat_id, message_id, data)
        self.callback_queries[record.id] = record
        payload: JSON = {
            "id": record.id,
            "from": dict(chat.user),
            "message": message.to_api(),
            "chat_instance": f"instance-{chat_id}",
        }
        if data is not None:
            payload["data"] = data
        self.enqueue("callback_query", payload, chat_id)
        return record

    def enqueue(self, kind: str, payload: JSON, chat_id: int | None = None) -> QueuedUpdate:
        """Queue any update (globally increasing update_id) for getUpdates or the webhook."""
        update = QueuedUpdate(next(self._update_ids), kind, payload, chat_id)
        self._updates.append(update)
        self._notify()
        return update

    def is_busy(self, chat_id: int) -> bool:
        """Unfetched updates, unanswered callback queries or running calls for the chat."""
        return (
            any(u.chat_id == chat_id and not u.fetched for u in self._updates)
            or any(c.chat_id == chat_id and not c.answered for c in self.callback_queries.values())
            or self._chats[chat_id].in_flight > 0
        )

    @property
    def change_event(self) -> asyncio.Event:
        """Set on the next state change; grab it *before* checking state, then wait on it."""
        return self._changed

    async def wait_change(self, event: asyncio.Event, timeout: float) -> None:
        """Wait until ``event`` fires or ``timeout`` passes (no exception on timeout)."""
        if timeout > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)

    # -- HTTP plumbing ---------------------------------------------------------------------

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        """Route one Bot API request through logging, 429 checks, faults and the handler."""
        if self.token is not None and request.match_info["token"] != self.token:
            return _reply(ApiError(401, "Unauthorized"))
        try:
            params = await _read_params(request)
        except ApiError as exc:
            return _reply(exc)
        key = request.match_info["method"].lower()
        name, handler = self._handlers.get(key, (request.match_info["method"], None))
        chat_id = self._call_chat_id(key, params)
        call = ApiCall(name, params.loggable(), time.monotonic(), chat_id)
        self._calls.append(call)
        chat = self._chats.get(chat_id) if chat_id is not None else None
        self._activity(chat, +1)
        try:
            response = await self._answer(request, call, params, handler)
        finally:
            self._activity(chat, -1)
        call.status = None if call.fault == "drop" else response.status
        return response

    async def _answer(
        self, request: web.Request, call: ApiCall, params: Params, handler: Handler | None
    ) -> web.StreamResponse:
        try:
            self._check_retry_after(call)
            fault = self.faults.pick(call.method, call.chat_id)
            call.fault = fault.kind if fault else None
            if fault and fault.kind == "drop" and not fault.after_effect:
                return _drop(request)
            if fault and (early := await self._apply_fault(fault, call)):
                return early
            if handler is None:
                raise ApiError(404, "Not Found")
            result = await handler(params)
            if fault and fault.kind == "drop":
                return _drop(request)  # the call took effect, but its answer is lost
            return web.json_response({"ok": True, "result": result})
        except ApiError as exc:
            return _reply(exc)
        except Exception as exc:  # a bug in this fake (or input it can't handle): make it loud
            self.internal_errors.append(exc)
            return _reply(ApiError(500, f"Internal Server Error: {exc!r}"))

    async def _apply_fault(self, fault: FaultRule, call: ApiCall) -> web.Response | None:
        """Delay, or answer early with 429/5xx; ``None`` continues with the handler."""
        if fault.kind == "slow":
            await asyncio.sleep(fault.seconds)
        elif fault.kind == "rate_limit":
            self._retry_until[call.chat_id] = time.monotonic() + fault.retry_after
            raise validation.too_many_requests(fault.retry_after)
        elif fault.kind == "error":
            status = self.faults.error_status(fault)
            if status == 502:  # Telegram's nginx answers 502 with an HTML page
                return web.Response(status=502, text="<html>502 Bad Gateway</html>")
            raise ApiError(status, "Internal Server Error")
        return None

    def _check_retry_after(self, call: ApiCall) -> None:
        """Record (and answer 429 again) a call made before the chat's retry_after passed."""
        allowed_at = self._retry_until.get(call.chat_id, 0.0)
        if call.time < allowed_at and call.method != "getUpdates":
            self.retry_after_violations.append(
                RetryAfterViolation(call.method, call.chat_id, call.time, allowed_at)
            )
            raise validation.too_many_requests(max(1, round(allowed_at - call.time + 0.5)))

    def _activity(self, chat: ChatState | None, delta: int) -> None:
        if chat is not None:
            chat.in_flight += delta
            chat.last_activity = time.monotonic()
        self._notify()

    def _call_chat_id(self, method: str, params: Params) -> int | None:
        """The chat a call concerns (for logs, idle tracking and per-chat 429s)."""
        if method == "answercallbackquery":
            record = self.callback_queries.get(params.text("callback_query_id") or "")
            return record.chat_id if record else None
        chat = self._find_chat(params.values.get("chat_id"))
        if chat:
            return chat.id
        try:
            return params.integer("chat_id")
        except ApiError:
            return None

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        """Serve ``base_file_url`` downloads of files obtained through getFile."""
        if self.token is not None and request.match_info["token"] != self.token:
            return web.Response(status=401, text="Unauthorized")
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.file_path == path:
                return web.Response(body=stored.content, content_type="application/octet-stream")
        return web.Response(status=404, text="Not Found")

    # -- chats and messages ----------------------------------------------------------------

    def _find_chat(self, raw: Any) -> ChatState | None:
        if isinstance(raw, str) and raw.startswith("@"):
            name = raw[1:].lower()
            return next(
                (c for c in self._chats.values() if (c.chat.get("username") or "").lower() == name),
                None,
            )
        try:
            return self._chats.get(int(raw))
        except (TypeError, ValueError):
            return None

    def _chat_for(self, params: Params, *, writing: bool = True) -> ChatState:
        raw = params.values.get("chat_id")
        if raw in (None, ""):
            raise bad_request("chat_id is empty")
        chat = self._find_chat(raw)
        if chat is None:
            raise bad_request("chat not found")
        if writing and chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _store(self, chat: ChatState, sender: JSON, **fields: Any) -> StoredMessage:
        message = StoredMessage(chat.next_message_id, dict(chat.chat), sender, int(time.time()))
        for key, value in fields.items():
            setattr(message, key, value)
        chat.next_message_id += 1
        chat.messages[message.message_id] = message
        if message.from_bot:
            chat.events.append(message.snapshot())
        self._notify()
        return message

    def _store_bot_message(self, chat: ChatState, **fields: Any) -> JSON:
        sender = {key: self.bot_user[key] for key in _SENDER_KEYS}
        return self._store(chat, sender, **fields).to_api()

    def _message_to_edit(self, params: Params) -> tuple[ChatState, StoredMessage]:
        if params.has("inline_message_id"):
            raise bad_request("inline messages are not supported by the test server")
        chat = self._chat_for(params)
        message = chat.messages.get(params.integer("message_id") or 0)
        if message is None or message.deleted:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return chat, message

    def _apply_edit(self, chat: ChatState, message: StoredMessage, **fields: Any) -> JSON:
        """Update a message, keep its previous version and publish an edit event."""
        message.edits.append(message.version())
        for key, value in fields.items():
            setattr(message, key, value)
        message.edit_date = int(time.time())
        chat.events.append(message.snapshot())
        self._notify()
        return message.to_api()

    def _formatted(self, params: Params, name: str) -> tuple[str | None, list[JSON]]:
        return validation.formatted_text(
            params, name, strict_ampersand=self.strict_ampersand, caption=name == "caption"
        )

    def _input_file(self, params: Params, name: str, kind: str) -> StoredFile:
        """A new upload (direct part or ``attach://``) or a known file_id; never a URL fetch."""
        value = params.text(name)
        upload = params.upload(name)
        if upload is None and value and value.startswith("attach://"):
            upload = params.upload(value.removeprefix("attach://"))
        if upload is not None:
            if not upload.content:
                raise bad_request("file must be non-empty")
            return self.register_file(
                upload.content, kind=kind, file_name=upload.filename, mime_type=upload.content_type
            )
        if not value:
            raise bad_request(f"there is no {name} in the request")
        if value in self.files:
            return self.files[value]
        raise bad_request("wrong file identifier/HTTP URL specified")

    # -- Bot API methods -------------------------------------------------------------------

    async def _true(self, params: Params) -> bool:
        return True

    async def _get_me(self, params: Params) -> JSON:
        return dict(self.bot_user)

    async def _get_updates(self, params: Params) -> list[JSON]:
        """Long polling: confirm by offset, then wait up to ``timeout`` for updates."""
        if self.webhook.get("url"):
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.integer("offset") or 0
        limit = min(max(params.integer("limit") or 100, 1), 100)
        deadline = time.monotonic() + max(params.number("timeout") or 0.0, 0.0)
        self._set_allowed_updates(params.obj("allowed_updates"))
        if offset > 0:
            self._updates = [u for u in self._updates if u.update_id >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()
        while True:
            event = self._changed
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            batch = self._deliverable()[:limit]
            remaining = deadline - time.monotonic()
            if not params.is_connected():
                return []
            if batch or remaining <= 0 or self._closing:
                self._mark_fetched(batch)
                return [update.to_api() for update in batch]
            await self.wait_change(event, remaining)

    def _set_allowed_updates(self, allowed: Any) -> None:
        if allowed is not None:
            self._allowed_updates = set(allowed) or None

    def _deliverable(self) -> list[QueuedUpdate]:
        """Queued updates, dropping kinds the bot did not subscribe to (Telegram never sends
        them)."""
        if self._allowed_updates is not None:
            self._updates = [u for u in self._updates if u.kind in self._allowed_updates]
        return self._updates

    def _mark_fetched(self, updates: list[QueuedUpdate]) -> None:
        for update in updates:
            update.fetched = True
            if update.chat_id in self._chats:
                self._chats[update.chat_id].last_activity = time.monotonic()
        if updates:
            self._notify()

    async def _set_webhook(self, params: Params) -> bool:
        """Store the webhook and deliver updates to it; only loopback URLs are allowed."""
        url = params.text("url") or ""
        if not url:
            return await self._delete_webhook(params)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.hostname not in _LOOPBACK:
            raise bad_request("bad webhook: the test server only delivers to loopback URLs")
        secret = params.text("secret_token")
        if secret is not None and not (
            1 <= len(secret) <= 256 and all(c.isalnum() or c in "_-" for c in secret)
        ):
            raise bad_request("secret token contains unallowed characters")
        if params.flag("drop_pending_updates"):
            self._updates.clear()
        self._set_allowed_updates(params.obj("allowed_updates"))
        await self._stop_webhook()
        self.webhook = {"url": url, "secret_token": secret}
        self._webhook_task = asyncio.create_task(self._deliver_webhooks(url, secret))
        self._notify()
        return True

    async def _delete_webhook(self, params: Params) -> bool:
        await self._stop_webhook()
        self.webhook = {}
        if params.flag("drop_pending_updates"):
            self._updates.clear()
        self._notify()
        return True

    async def _stop_webhook(self) -> None:
        if self._webhook_task:
            self._webhook_task.cancel()
            await asyncio.gather(self._webhook_task, return_exceptions=True)
            self._webhook_task = None

    async def _get_webhook_info(self, params: Params) -> JSON:
        info: JSON = {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if info["url"]:
            info["max_connections"] = 40
        if self._allowed_updates:
            info["allowed_updates"] = sorted(self._allowed_updates)
        for key in ("last_error_date", "last_error_message"):
            if key in self.webhook:
                info[key] = self.webhook[key]
        return info

    async def _deliver_webhooks(self, url: str, secret: str | None) -> None:
        """POST queued updates one by one, in order, retrying failed deliveries."""
        assert self._session is not None
        headers = {"Content-Type": "application/json"}
        if secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        while not self._closing:
            event = self._changed
            batch = self._deliverable()[:1]
            if not batch:
                await event.wait()
                continue
            update = batch[0]
            status, error = None, None
            try:
                async with self._session.post(url, json=update.to_api(), headers=headers) as resp:
                    status = resp.status
            except (ClientError, TimeoutError) as exc:
                error = repr(exc)
            self.webhook_deliveries.append(
                WebhookDelivery(update.update_id, url, dict(headers), status, error)
            )
            if status is not None and 200 <= status < 300:
                self._mark_fetched([update])
                self._updates = [u for u in self._updates if u is not update]
                continue
            self.webhook["last_error_date"] = int(time.time())
            self.webhook["last_error_message"] = (
                error or f"Wrong response from the webhook: {status}"
            )
            await asyncio.sleep(self.webhook_retry_delay)

    async def _set_my_commands(self, params: Params) -> bool:
        key = validation.scope_key(params.obj("scope"), params.text("language_code"))
        scope = params.obj("scope") or {}
        if (
            str(scope.get("type", "")).startswith("chat")
            and self._find_chat(scope.get("chat_id")) is None
        ):
            # As real Telegram: a chat that has never written to the bot is unknown to it.
            raise bad_request("chat not found")
        self._commands[key] = validation.commands(params.obj("commands"))
        return True

    async def _get_my_commands(self, params: Params) -> list[JSON]:
        key = validation.scope_key(params.obj("scope"), params.text("language_code"))
        return list(self._commands.get(key, []))

    async def _delete_my_commands(self, params: Params) -> bool:
        key = validation.scope_key(params.obj("scope"), params.text("language_code"))
        self._commands.pop(key, None)
        return True

    def _set_description(self, field: str, limit: int) -> Handler:
        async def handler(params: Params) -> bool:
            value = params.text(field) or ""
            if len(value) > limit:
                raise bad_request(f"{field} is too long")
            self.descriptions[field, params.text("language_code") or ""] = value
            return True

        return handler

    def _get_description(self, field: str) -> Handler:
        async def handler(params: Params) -> JSON:
            return {field: self.descriptions.get((field, params.text("language_code") or ""), "")}

        return handler

    async def _send_message(self, params: Params) -> JSON:
        chat = self._chat_for(params)
        text, entities = self._formatted(params, "text")
        markup = validation.reply_markup(params.obj("reply_markup"))
        return self._store_bot_message(
            chat,
            text=text,
            raw_text=params.text("text"),
            parse_mode=params.text("parse_mode"),
            entities=entities,
            reply_markup=markup,
        )

    async def _edit_message_text(self, params: Params) -> JSON:
        chat, message = self._message_to_edit(params)
        if message.text is None:
            raise bad_request("there is no text in the message to edit")
        text, entities = self._formatted(params, "text")
        markup = validation.reply_markup(params.obj("reply_markup"), inline_only=True)
        if (text, entities, markup) == (message.text, message.entities, message.reply_markup):
            raise bad_request(_NOT_MODIFIED)
        return self._apply_edit(
            chat,
            message,
            text=text,
            raw_text=params.text("text"),
            parse_mode=params.text("parse_mode"),
            entities=entities,
            reply_markup=markup,
        )

    async def _edit_message_caption(self, params: Params) -> JSON:
        chat, message = self._message_to_edit(params)
        if message.text is not None:
            raise bad_request("there is no caption in the message to edit")
        caption, entities = self._formatted(params, "caption")
        markup = validation.reply_markup(params.obj("reply_markup"), inline_only=True)
        current = (message.caption, message.caption_entities, message.reply_markup)
        if (caption, entities, markup) == current:
            raise bad_request(_NOT_MODIFIED)
        return self._apply_edit(
            chat, message, caption=caption, caption_entities=entities, reply_markup=markup
        )

    async def _edit_message_reply_markup(self, params: Params) -> JSON:
        chat, message = self._message_to_edit(params)
        markup = validation.reply_markup(params.obj("reply_markup"), inline_only=True)
        if markup == message.reply_markup:
            raise bad_request(_NOT_MODIFIED)
        return self._apply_edit(chat, message, reply_markup=markup)

    async def _delete_message(self, params: Params) -> bool:
        chat = self._chat_for(params, writing=False)
        message = chat.messages.get(params.integer("message_id") or 0)
        if message is None or message.deleted:
            raise bad_request("message to delete not found")
        message.deleted = True
        self._notify()
        return True

    async def _answer_callback_query(self, params: Params) -> bool:
        record = self.callback_queries.get(params.text("callback_query_id") or "")
        if record is None or record.answered:
            raise bad_request(_QUERY_TOO_OLD)
        record.answer = validation.callback_answer(params)
        self._notify()
        return True

    async def _send_document(self, params: Params) -> JSON:
        chat = self._chat_for(params)
        document = self._input_file(params, "document", "document")
        caption, entities = self._formatted(params, "caption")
        markup = validation.reply_markup(params.obj("reply_markup"))
        return self._store_bot_message(
            chat, document=document, caption=caption, caption_entities=entities, reply_markup=markup
        )

    async def _send_photo(self, params: Params) -> JSON:
        chat = self._chat_for(params)
        photo = self._input_file(params, "photo", "photo")
        if not validation.looks_like_image(photo.content):
            raise bad_request("IMAGE_PROCESS_FAILED")
        caption, entities = self._formatted(params, "caption")
        markup = validation.reply_markup(params.obj("reply_markup"))
        return self._store_bot_message(
            chat, photo=photo, caption=caption, caption_entities=entities, reply_markup=markup
        )

    async def _send_chat_action(self, params: Params) -> bool:
        self._chat_for(params)
        if params.text("action") not in validation.CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    async def _get_chat(self, params: Params) -> JSON:
        chat = self._chat_for(params, writing=False)
        gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription")
        return {
            **chat.chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys((*gifts, "gifts_from_channels"), False),
        }

    async def _get_file(self, params: Params) -> JSON:
        stored = self.files.get(params.text("file_id") or "")
        if stored is None:
            raise bad_request("invalid file_id")
        return {**stored.to_api(), "file_path": stored.file_path}


async def _read_params(request: web.Request) -> Params:
    """Merge query string and JSON / urlencoded / multipart body into :class:`Params`."""
    values: JSON = dict(request.query)
    uploads: dict[str, Upload] = {}
    params = Params(values, uploads, lambda: not _closing(request))
    if not request.can_read_body:
        return params
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except json.JSONDecodeError:
            raise bad_request("can't parse JSON request body") from None
        if not isinstance(body, dict):
            raise bad_request("JSON request body must be an object")
        values.update(body)
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                uploads[key] = Upload(value.filename, value.content_type, value.file.read())
            else:
                values[key] = value
    return params


def _reply(error: ApiError) -> web.Response:
    return web.json_response(error.to_api(), status=error.code)


def _closing(request: web.Request) -> bool:
    return request.transport is None or request.transport.is_closing()


def _drop(request: web.Request) -> web.Response:
    """Lose the response: close the connection without writing anything."""
    if request.transport:
        request.transport.close()
    return web.Response()
