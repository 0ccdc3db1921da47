"""What the bot shows, independent of how it is sent: text, buttons, and message splitting."""

from __future__ import annotations

from dataclasses import dataclass, field

MESSAGE_LIMIT = 4096


@dataclass(frozen=True)
class Button:
    """A button: pressed, it sends `data` (see bot.app.codec); or it opens `url`.

    `web_app` opens the url inside Telegram as a Mini App; other transports show the url.
    """

    label: str
    data: str = ""
    url: str | None = None
    web_app: bool = False


@dataclass(frozen=True)
class Attachment:
    """A file sent with a view: a photo (QR code) or a document (export)."""

    kind: str  # "photo" or "document"
    filename: str
    content: bytes


@dataclass(frozen=True)
class View:
    """One message: Telegram-HTML text (a caption when there is an attachment) and buttons."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    attachment: Attachment | None = None


@dataclass
class Reply:
    """What one update leads to. `edit` replaces the pressed message; `send` adds new ones.

    The last message that carries buttons becomes the session's live message.
    """

    toast: str | None = None
    edit: View | None = None
    send: list[View] = field(default_factory=list)


def rows(*buttons: Button | None, per_row: int = 1) -> tuple[tuple[Button, ...], ...]:
    present = [b for b in buttons if b is not None]
    return tuple(tuple(present[i : i + per_row]) for i in range(0, len(present), per_row))


def pieces(view: View, limit: int = MESSAGE_LIMIT) -> list[View]:
    """A view as messages of at most `limit` characters; buttons and file go with the last.

    Rendering never splits: only a transport with a message limit (Telegram) calls this.
    """
    chunks = split_text(view.text, limit)
    if len(chunks) <= 1:
        return [view]
    return [View(chunk) for chunk in chunks[:-1]] + [
        View(chunks[-1], view.buttons, view.attachment)
    ]


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split at paragraph, then line boundaries so no message exceeds Telegram's limit.

    Pieces never cut through an HTML tag because templates keep tags within one line.
    """
    chunks: list[str] = []
    current = ""
    for paragraph in text.split("\n\n"):
        candidate = f"{current}\n\n{paragraph}" if current else paragraph
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            chunks.append(current)
        current = ""
        for line in paragraph.split("\n"):
            candidate = f"{current}\n{line}" if current else line
            if len(candidate) <= limit:
                current = candidate
                continue
            if current:
                chunks.append(current)
            while len(line) > limit:
                chunks.append(line[:limit])
                line = line[limit:]
            current = line
    if current:
        chunks.append(current)
    return chunks
