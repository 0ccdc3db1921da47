"""The web transport as the rest of the bot sees it: page links, documents, and the page source.

- `WebPages` implements `bot.app.ports.WorkshopPages` for `/workshop` and the result PDF:
  signed links under `WEB_BASE_URL` (none without it), the Mini App address (HTTPS only: Telegram
  opens no other), and the PDFs, rendered in a worker thread.
- `DeskSource` implements `bot.web.source.WorkshopSource` for the web server over the store:
  the figures are the release `GroupDesk.published_report` returns, the same object the chat
  report renders, never a second computation.

Rendering (matplotlib, WeasyPrint) is imported on first use, so starting the bot or the console
does not wait for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from bot.app.groups import GroupDesk
from bot.app.ports import Groups, Questionnaires, ViewerReport
from bot.app.records import GroupRecord
from bot.cli.config import Settings
from bot.web.source import GroupLink, WorkshopData
from bot.web.tokens import LinkSigner, WorkshopLink, derive_secret, mini_app_path
from flows.questionnaire import Questionnaire
from flows.scoring import FieldResult


def link_signer(settings: Settings) -> LinkSigner | None:
    """The signer of workshop links: keyed by the bot token, so no extra secret is needed."""
    if settings.token is None:
        return None
    return LinkSigner(derive_secret(settings.token), days=settings.web_link_days)


class WebPages:
    """Links to the workshop pages and the documents, for the use cases."""

    def __init__(self, base_url: str | None, signer: LinkSigner | None) -> None:
        self.base_url = base_url.rstrip("/") if base_url else None
        self.signer = signer
        self.serves_pages = self.base_url is not None and signer is not None

    def page_url(self, group_id: int, round_number: int, generation: int) -> str | None:
        if self.base_url is None or self.signer is None:
            return None
        token = self.signer.make(WorkshopLink(group_id, round_number, generation))
        return f"{self.base_url}/w/{token}"

    def mini_app_url(self, group_id: int, round_number: int) -> str | None:
        if not self.serves_pages or self.base_url is None:
            return None
        if not self.base_url.startswith("https://"):
            return None  # Telegram refuses a Mini App on plain HTTP
        return self.base_url + mini_app_path(group_id, round_number)

    async def workshop_pdf(
        self,
        group_name: str,
        round_number: int,
        questionnaire: Questionnaire,
        seen: ViewerReport,
    ) -> bytes:
        from bot.web.documents import workshop_pdf

        return await workshop_pdf(WorkshopData(group_name, round_number, questionnaire, seen))

    async def own_result_pdf(
        self, results: Sequence[FieldResult], questionnaire: Questionnaire, released: date
    ) -> bytes:
        from bot.web.documents import own_result_pdf

        return await own_result_pdf(results, questionnaire, released=released)


class DeskSource:
    """The web server's `WorkshopSource`: the group's link state and its published release."""

    def __init__(self, storage: Groups, desk: GroupDesk, catalog: Questionnaires) -> None:
        self.storage = storage
        self.desk = desk
        self.catalog = catalog

    async def group_link(self, group_id: int) -> GroupLink | None:
        """The group's link generation and round; None for a group that does not exist.

        A group closed with /gruppeschliessen only takes no new participants: its picture is
        exactly what the workshop needs, so its page stays open (see `GroupLink`). `/workshop
        neu` ends access to every older link, a new round to the old round's links.
        """
        group = await self.storage.group(group_id)
        if group is None:
            return None
        return GroupLink(group.link_generation, group.current_round)

    async def page_data(self, group_id: int, round: int) -> WorkshopData | None:
        """The current round's release; an earlier round's link finds no page (404)."""
        group = await self.storage.group(group_id)
        if group is None or round != group.current_round:
            return None
        viewer = await self._participating_coordinator(group)
        seen = await self.desk.published_report(group, viewer)
        return WorkshopData(group.name, round, self.catalog.active, seen)

    async def is_coordinator(self, user_id: int, group_id: int) -> bool:
        return await self.storage.is_coordinator_of(user_id, group_id)

    async def _participating_coordinator(self, group: GroupRecord) -> int | None:
        """A coordinator who took part, or None: only for the page's wording ("außer Ihrem
        eigenen"). The figures are those every coordinator who took part may see, whoever
        opens the link (`GroupDesk.published_report`, `flows.disclosure.for_viewers`).
        """
        for check in await self.storage.completed_checks(group.id, group.current_round):
            if await self.storage.is_coordinator_of(check.user_id, group.id):
                return check.user_id
        return None
