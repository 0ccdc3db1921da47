"""The workshop picture in the chat: `/workshop` links, the workshop PDF, a person's own PDF.

`/workshop` gives a coordinator a signed link to the round's workshop page (and, behind an
HTTPS address, a Mini App button); `/workshop neu` revokes every older link first;
`/workshop pdf` sends the page as a PDF document. The figures are always the release
`GroupDesk.published_report` returns for this coordinator, the same the chat report shows:
nothing here computes a figure. "📄 Ergebnis als PDF" sends the presser their own result; the
turn goes to the presser's chat and nowhere else.
"""

from __future__ import annotations

from bot.app import codec
from bot.app.groups import GroupDesk
from bot.app.ports import Clock, Groups, Questionnaires, Turn, WorkshopPages
from bot.app.records import GroupRecord, UserRef
from bot.app.service import SelfCheck
from bot.ui.texts import Html, Texts
from bot.ui.views import Attachment, Button, Reply, View, rows
from flows.scoring import assess_all

LINK = "l"
RENEW = "n"
PDF = "p"


class Workshop:
    """The coordinators' workshop actions and everyone's own result PDF."""

    def __init__(
        self,
        storage: Groups,
        catalog: Questionnaires,
        groups: GroupDesk,
        selfcheck: SelfCheck,
        pages: WorkshopPages,
        texts: Texts,
        link_days: int,
        clock: Clock,
    ) -> None:
        self.storage = storage
        self.catalog = catalog
        self.groups = groups
        self.selfcheck = selfcheck
        self.pages = pages
        self.t = texts
        self.link_days = link_days
        self.clock = clock

    async def command(self, user: UserRef, argument: str) -> Turn:
        """/workshop [neu|pdf]: for the one group directly, else a choice of groups."""
        words = argument.lower().split()
        word = words[0] if words else ""
        if not word:
            action = LINK
        elif word in self.t.words("workshop_words_new"):
            action = RENEW
        elif word in self.t.words("workshop_words_pdf"):
            action = PDF
        else:
            return _say(View(self.t("workshop_usage")))
        coordinated = await self.storage.groups_coordinated_by(user.user_id)
        if not coordinated:
            return _say(View(self.t("groups_none")))
        if len(coordinated) == 1:
            return await self.act(user, action, coordinated[0].id)
        buttons = [Button(g.name, codec.workshop(action, g.id)) for g in coordinated]
        return _say(View(self.t("group_choose"), rows(*buttons)))

    async def act(self, user: UserRef, action: str, group_id: int | None) -> Turn:
        """One workshop action on one group; only its coordinators get anything."""
        group = await self.storage.group(group_id) if group_id is not None else None
        if (
            group is None
            or action not in (LINK, RENEW, PDF)
            or not await self.storage.is_coordinator_of(user.user_id, group.id)
        ):
            return _say(View(self.t("group_refused")))
        if action == PDF:
            return _say(await self._pdf(user, group))
        generation = group.link_generation
        note = Html("")
        if action == RENEW and self.pages.serves_pages:
            generation = await self.storage.renew_link_generation(group.id)
            note = Html(self.t("workshop_renewed", name=group.name) + "\n\n")
        return _say(self._link(group, generation, note))

    async def own_result(self, user: UserRef) -> Turn:
        """The presser's own seven fields as PDF, from their own session only."""
        record, q = await self.selfcheck.session_for(user)
        results = assess_all(q, record.state.answers)
        pdf = await self.pages.own_result_pdf(results, q, self.clock().date())
        attachment = Attachment("document", self.t.plain("result_pdf_filename"), pdf)
        return _say(View(self.t("result_pdf_caption"), attachment=attachment))

    def _link(self, group: GroupRecord, generation: int, note: Html) -> View:
        url = self.pages.page_url(group.id, group.current_round, generation)
        if url is None:
            # No public address: nothing to link to, but the same picture as a document.
            pdf = Button(self.t.plain("workshop_button_pdf"), codec.workshop(PDF, group.id))
            return View(self.t("workshop_no_web", name=group.name), rows(pdf))
        text = self.t(
            "workshop_link",
            name=group.name,
            round=group.current_round,
            link=url,
            days=self.link_days,
        )
        browser = Button(self.t.plain("workshop_button_browser"), url=url)
        app_url = self.pages.mini_app_url(group.id, group.current_round)
        app = (
            Button(self.t.plain("workshop_button_app"), url=app_url, web_app=True)
            if app_url is not None
            else None
        )
        pdf = Button(self.t.plain("workshop_button_pdf"), codec.workshop(PDF, group.id))
        return View(Html(note + text), rows(browser, app, pdf))

    async def _pdf(self, user: UserRef, group: GroupRecord) -> View:
        seen = await self.groups.published_report(group, user.user_id)
        pdf = await self.pages.workshop_pdf(
            group.name, group.current_round, self.catalog.active, seen
        )
        name = self.t.plain("workshop_pdf_filename", round=group.current_round)
        caption = self.t("workshop_pdf_caption", name=group.name, round=group.current_round)
        return View(caption, attachment=Attachment("document", name, pdf))


def _say(*views: View) -> Turn:
    return Turn(Reply(send=list(views)))
