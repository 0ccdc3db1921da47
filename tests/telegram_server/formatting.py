"""Telegram text formatting: turn HTML / MarkdownV2 / Markdown into plain text + entities.

Why: Telegram rejects malformed markup with ``400 can't parse entities`` and counts length
limits on the *parsed* text, so the fake server has to parse exactly like the real one would.
The parsers follow tdlib's behaviour closely; where they are stricter, it is documented.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

Entity = dict[str, Any]

HTML_TAGS: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8})|([A-Za-z][A-Za-z0-9]*));")
_START_TAG_RE = re.compile(
    r"<([A-Za-z][A-Za-z0-9-]*)"
    r"((?:\s+[A-Za-z][A-Za-z0-9_-]*(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?)*)\s*>"
)
_ATTR_RE = re.compile(
    r"([A-Za-z][A-Za-z0-9_-]*)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+)))?"
)
_PLAIN_RE = re.compile(r"[^&<]+")
_END_TAG_RE = re.compile(r"</([A-Za-z][A-Za-z0-9-]*)\s*>")
_TAG_NAME_RE = re.compile(r"<([A-Za-z0-9-]*)")


class EntityParseError(ValueError):
    """Raised for markup Telegram would answer with "can't parse entities"."""


def utf16_len(text: str) -> int:
    """Entity offsets are in UTF-16 code units, like the real Bot API."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    """tdlib reports error positions as UTF-8 byte offsets."""
    return len(text[:index].encode())


@dataclass
class _Builder:
    """Accumulates visible text and finished entities while a parser walks the input."""

    parts: list[str] = field(default_factory=list)
    offset: int = 0
    entities: list[Entity] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.offset += utf16_len(text)

    def close(self, start: int, entity_type: str, **extra: Any) -> None:
        if self.offset > start:
            self.entities.append(
                {"type": entity_type, "offset": start, "length": self.offset - start, **extra}
            )

    def result(self) -> tuple[str, list[Entity]]:
        return "".join(self.parts), sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))


def _decode_entity(text: str, i: int, strict: bool) -> tuple[str, int]:
    """Decode ``&...;`` at ``i``; strict mode rejects bare ``&`` and unknown names."""
    m = _ENTITY_RE.match(text, i)
    char: str | None = None
    if m:
        if m.group(3):
            char = _NAMED_ENTITIES.get(m.group(3))
        else:
            code = int(m.group(1)) if m.group(1) else int(m.group(2), 16)
            char = chr(code) if 0 < code <= 0x10FFFF else None
    if char is not None and m:
        return char, m.end()
    if strict:
        raise EntityParseError(
            f"Unsupported HTML entity or unescaped '&' at byte offset {_byte_offset(text, i)}"
        )
    return "&", i + 1  # tdlib keeps an undecodable '&' literally


def _attrs(raw: str, strict: bool) -> dict[str, str]:
    result: dict[str, str] = {}
    for m in _ATTR_RE.finditer(raw):
        value = next((g for g in m.groups()[1:] if g is not None), "")
        result[m.group(1).lower()] = _unescape(value, strict)
    return result


def _unescape(value: str, strict: bool) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == "&":
            char, i = _decode_entity(value, i, strict)
            out.append(char)
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def parse_html(text: str, *, strict_ampersand: bool = True) -> tuple[str, list[Entity]]:
    """Parse Bot-API HTML. ``<br>`` and any other unknown tag is rejected, as by Telegram.

    ``strict_ampersand`` additionally rejects a bare ``&`` and unknown named entities such as
    ``&nbsp;``: Telegram would show them literally, which is nearly always a bot bug.
    """
    out = _Builder()
    stack: list[tuple[str, int, dict[str, str], int]] = []  # (tag, start, attrs, byte offset)
    i = 0
    while i < len(text):
        char = text[i]
        if char == "&":
            decoded, i = _decode_entity(text, i, strict_ampersand)
            out.add(decoded)
            continue
        if char != "<":
            # A run of plain text at once (not char by char: long texts parsed noticeably slowly).
            end = _PLAIN_RE.match(text, i).end()  # type: ignore[union-attr]
            out.add(text[i:end])
            i = end
            continue
        pos = _byte_offset(text, i)
        if text.startswith("</", i):
            m = _END_TAG_RE.match(text, i)
            if not m or not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {pos}")
            name = m.group(1).lower()
            tag, start, attrs, _ = stack.pop()
            if name != tag:
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {pos}, "
                    f'expected "</{tag}>", found "</{name}>"'
                )
            _close_html(out, stack, tag, start, attrs)
            i = m.end()
            continue
        m = _START_TAG_RE.match(text, i)
        name_match = _TAG_NAME_RE.match(text, i)
        assert name_match is not None  # always matches at "<"
        name = name_match.group(1).lower()
        if name not in HTML_TAGS:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {pos}')
        if not m:
            raise EntityParseError(f'Unclosed start tag "{name}" at byte offset {pos}')
        attrs = _attrs(m.group(2), strict_ampersand)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {pos}')
        if name == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            raise EntityParseError(
                f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {pos}'
            )
        stack.append((name, out.offset, attrs, pos))
        i = m.end()
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.result()


def _close_html(
    out: _Builder,
    stack: list[tuple[str, int, dict[str, str], int]],
    tag: str,
    start: int,
    attrs: dict[str, str],
) -> None:
    """Emit the entity for a closed HTML tag (with tdlib's special cases)."""
    kind = HTML_TAGS[tag]
    if kind == "text_link":
        if attrs.get("href"):
            out.close(start, kind, url=attrs["href"])
    elif kind == "custom_emoji":
        out.close(start, kind, custom_emoji_id=attrs["emoji-id"])
    elif kind == "blockquote" and "expandable" in attrs:
        out.close(start, "expandable_blockquote")
    elif kind == "code" and attrs.get("class", "").startswith("language-") and stack:
        if stack[-1][0] == "pre":
            stack[-1][2]["language"] = attrs["class"].removeprefix("language-")
        else:
            out.close(start, kind)
    elif kind == "pre" and attrs.get("language"):
        out.close(start, kind, language=attrs["language"])
    else:
        out.close(start, kind)


_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!\\")
_MDV2_MARKERS = {
    "*": "bold",
    "_": "italic",
    "__": "underline",
    "~": "strikethrough",
    "||": "spoiler",
}


def _md_escaped(text: str, i: int) -> bool:
    return text[i] == "\\" and i + 1 < len(text) and 0 < ord(text[i + 1]) < 127


def _md_code(text: str, i: int, fence: str, start_kind: str) -> tuple[str, int]:
    """Read code/pre content up to the closing fence (only ``\\`` escapes apply inside)."""
    out, j = [], i
    while j < len(text):
        if _md_escaped(text, j):
            out.append(text[j + 1])
            j += 2
        elif text.startswith(fence, j):
            return "".join(out), j + len(fence)
        else:
            out.append(text[j])
            j += 1
    raise EntityParseError(
        f"Can't find end of {start_kind} entity at byte offset {_byte_offset(text, i - 1)}"
    )


def parse_markdown_v2(text: str) -> tuple[str, list[Entity]]:
    """Parse MarkdownV2: every reserved character outside entities must be escaped."""
    out = _Builder()
    stack: list[tuple[str, int, int]] = []  # (marker, start offset, byte offset)
    i = 0
    while i < len(text):
        char = text[i]
        if _md_escaped(text, i):
            out.add(text[i + 1])
            i += 2
            continue
        if text.startswith("```", i):
            body, i = _md_code(text, i + 3, "```", "Pre")
            language, sep, code = body.partition("\n")
            start = out.offset
            out.add(code if sep else body)
            out.close(start, "pre", **({"language": language} if sep and language else {}))
            continue
        if char == "`":
            start = out.offset
            body, i = _md_code(text, i + 1, "`", "Code")
            out.add(body)
            out.close(start, "code")
            continue
        marker = text[i : i + 2] if text[i : i + 2] in ("__", "||") else char
        if marker in _MDV2_MARKERS:
            if stack and stack[-1][0] == marker:
                _, start, _ = stack.pop()
                out.close(start, _MDV2_MARKERS[marker])
            elif any(m == marker for m, _, _ in stack):
                raise EntityParseError(
                    f"Can't find end of {_MDV2_MARKERS[marker].title()} entity at byte offset "
                    f"{stack[-1][2]}"
                )
            else:
                stack.append((marker, out.offset, _byte_offset(text, i)))
            i += len(marker)
            continue
        if char == "[" or (char == "!" and text.startswith("![", i)):
            stack.append(("[", out.offset, _byte_offset(text, i)))
            i += 2 if char == "!" else 1
            continue
        if char == "]" and stack and stack[-1][0] == "[":
            _, start, pos = stack.pop()
            if not text.startswith("(", i + 1):
                raise EntityParseError(f"Can't find end of TextUrl entity at byte offset {pos}")
            url, i = _md_code(text, i + 2, ")", "TextUrl")
            out.close(start, "text_link", url=url)
            continue
        if char == ">" and (i == 0 or text[i - 1] == "\n"):
            i += 1  # blockquote line marker: allowed, not modelled as an entity
            continue
        if char in _MDV2_RESERVED:
            raise EntityParseError(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        out.add(char)
        i += 1
    if stack:
        marker, _, pos = stack[-1]
        name = "TextUrl" if marker == "[" else _MDV2_MARKERS[marker].title()
        raise EntityParseError(f"Can't find end of {name} entity at byte offset {pos}")
    return out.result()


def parse_markdown(text: str) -> tuple[str, list[Entity]]:
    """Parse legacy Markdown: ``*bold*``, ``_italic_``, code, pre and ``[text](url)``."""
    out = _Builder()
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in "_*`[":
            out.add(text[i + 1])
            i += 2
            continue
        if char not in "_*`[":
            out.add(char)
            i += 1
            continue
        fence = "```" if text.startswith("```", i) else char
        close = "]" if fence == "[" else fence
        end = text.find(close, i + len(fence))
        if end < 0 or (fence == "[" and not text.startswith("(", end + 1)):
            raise EntityParseError(
                f"Can't find end of the entity starting at byte offset {_byte_offset(text, i)}"
            )
        start = out.offset
        out.add(text[i + len(fence) : end])
        i = end + len(close)
        if fence == "[":
            url_end = text.find(")", i)
            if url_end < 0:
                raise EntityParseError(
                    f"Can't find end of a url at byte offset {_byte_offset(text, i)}"
                )
            out.close(start, "text_link", url=text[i + 1 : url_end])
            i = url_end + 1
        else:
            kinds = {"*": "bold", "_": "italic", "`": "code", "```": "pre"}
            out.close(start, kinds[fence])
    return out.result()


def parse_text(
    text: str, parse_mode: str | None, *, strict_ampersand: bool = True
) -> tuple[str, list[Entity]]:
    """Dispatch on ``parse_mode`` (case-insensitive like the Bot API)."""
    mode = (parse_mode or "").lower()
    if not mode:
        return text, []
    if mode == "html":
        return parse_html(text, strict_ampersand=strict_ampersand)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    raise EntityParseError(f"Unsupported parse_mode {parse_mode!r}")


def strip_text(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Telegram trims surrounding whitespace; shift/clip the entities accordingly."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    size = utf16_len(stripped)
    result = []
    for entity in entities:
        start = max(0, entity["offset"] - lead)
        end = min(size, entity["offset"] + entity["length"] - lead)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, result
