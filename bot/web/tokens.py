"""Signed workshop links: unguessable, bound to one group and round, expiring, revocable.

A link token is `itsdangerous`' timed, URL-safe serialisation of (group, round, generation),
signed with HMAC-SHA256 over a key derived from the secret and a purpose-specific salt. Nothing is
stored per link: the signature makes a token unforgeable without the secret (so it is as
unguessable as the key), the embedded timestamp gives the expiry, and the generation is compared
with the group's current one, which the caller stores and increments to revoke every older link
("/workshop neu"). itsdangerous is used instead of hand-rolled HMAC code because it is the
well-kept signer behind Flask's sessions and gets timestamp handling and constant-time
comparison right.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadData, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

DEFAULT_LINK_DAYS = 14
_SALT = "workshop-link"


class LinkProblem(enum.Enum):
    """Why a token does not open a page; each maps to one German error page."""

    INVALID = "invalid"  # malformed, tampered or signed with another key
    EXPIRED = "expired"
    REVOKED = "revoked"


class LinkRefused(Exception):
    def __init__(self, problem: LinkProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True)
class WorkshopLink:
    """What a valid token grants: the page of `group_id` in `round`."""

    group_id: int
    round: int
    generation: int


def mini_app_path(group_id: int, round: int) -> str:
    """The path (after WEB_BASE_URL) of a round's Mini App entry, which signs in by initData."""
    return f"/app/{group_id}/{round}"


def derive_secret(bot_token: str) -> bytes:
    """A link-signing key from the bot token, so no extra secret must be configured.

    Derived with its own label, so the token itself never signs anything and the Mini App key
    (HMAC with "WebAppData") is a different key.
    """
    return hmac.new(b"workshop-links", bot_token.encode(), hashlib.sha256).digest()


class LinkSigner:
    """Makes and checks workshop link tokens."""

    def __init__(
        self,
        secret: bytes,
        *,
        days: int = DEFAULT_LINK_DAYS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if days < 1:
            raise ValueError(f"days must be at least 1, got {days}")
        self.days = days

        class _Signer(TimestampSigner):
            # The injected clock dates new tokens and measures the age of presented ones.
            def get_timestamp(self) -> int:
                return int(clock())

        self._serializer = URLSafeTimedSerializer(
            secret,
            salt=_SALT,
            signer=_Signer,
            signer_kwargs={"digest_method": hashlib.sha256},
        )

    def make(self, link: WorkshopLink) -> str:
        return self._serializer.dumps([link.group_id, link.round, link.generation])

    def read(self, token: str, *, current_generation: int | None = None) -> WorkshopLink:
        """The link inside `token`, or `LinkRefused` with the reason.

        `current_generation` is the group's stored generation; a token from an older one was
        revoked. Pass None to check signature and expiry only (the generation is then checked
        by the caller once the group is known).
        """
        try:
            payload = self._serializer.loads(
                token, max_age=int(timedelta(days=self.days).total_seconds())
            )
        except SignatureExpired as error:
            raise LinkRefused(LinkProblem.EXPIRED) from error
        except BadData as error:
            raise LinkRefused(LinkProblem.INVALID) from error
        if (
            not isinstance(payload, list)
            or len(payload) != 3
            or not all(type(v) is int for v in payload)
        ):
            raise LinkRefused(LinkProblem.INVALID)
        link = WorkshopLink(*payload)
        if current_generation is not None and link.generation != current_generation:
            raise LinkRefused(LinkProblem.REVOKED)
        return link
