"""Keyed pseudonyms for people in logs: "P-3fa2…" instead of a Telegram chat id.

INFO logs are read by more people, for longer, than the database; a chat id in them would make
every log line personal data (and, joined with an export, re-identify pseudonyms). The key is
the database's secret salt, set once at start-up (`configure`, called where the database is
opened), so the same person has the same pseudonym in logs, the export and the audit log, and
`python -m bot admin whois P-…` resolves one for support (audited).
"""

from __future__ import annotations

from bot.ui.export import pseudonym

_key: str | None = None


def configure(key: str) -> None:
    """Set the key once the database is open (the export salt)."""
    global _key
    _key = key


def alias(person_id: int) -> str:
    """The person's pseudonym; before start-up configured a key, nothing that identifies them."""
    if _key is None:
        return "P-?"
    return pseudonym(_key, person_id)
