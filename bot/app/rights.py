"""A participant's data rights: the privacy notice, their own data, erasure, leaving a group.

`/datenschutz` names who is responsible (from configuration); `/meinedaten` sends everything
stored about the person as two documents, to that person only; `/loeschen` deletes it after a
confirmation; `/gruppeverlassen` withdraws the consent to count for a group while the check
stays. Published group releases keep their figures but lose every link to the person (see
`bot.store.personal`); the audit log records a deletion under the person's pseudonym only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from bot.app import codec
from bot.app.ports import (
    Clock,
    Groups,
    PersonalData,
    Questionnaires,
    Reports,
    Sessions,
    Turn,
    readable,
)
from bot.app.pseudonyms import alias
from bot.app.records import UserRef
from bot.ui.export import pseudonym
from bot.ui.personal import as_json, as_text, explained
from bot.ui.texts import Texts
from bot.ui.views import Attachment, Button, Reply, View, rows
from flows.questionnaire import Questionnaire

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrivacyPolicy:
    """What the notice names: the controller and their contact (None: not configured)."""

    controller: str | None
    contact: str | None
    retention_months: int
    min_group: int


class RightsStore(PersonalData, Sessions, Groups, Reports, Protocol):
    """The repositories the data rights read and write."""


class RightsDesk:
    """The use cases behind /datenschutz, /meinedaten, /loeschen and /gruppeverlassen."""

    def __init__(
        self,
        storage: RightsStore,
        catalog: Questionnaires,
        texts: Texts,
        policy: PrivacyPolicy,
        clock: Clock,
    ) -> None:
        self.storage = storage
        self.catalog = catalog
        self.t = texts
        self.policy = policy
        self.clock = clock

    async def notice(self, user: UserRef) -> Turn:
        """The privacy notice; reading it stores nothing about the reader."""
        missing = self.t.plain("privacy_operator_missing")
        text = self.t(
            "privacy_notice",
            controller=self.policy.controller or missing,
            contact=self.policy.contact or missing,
            months=self.policy.retention_months,
            min_group=self.policy.min_group,
        )
        return _plain(View(text))

    async def my_data(self, user: UserRef) -> Turn:
        """Everything stored about the person, readable and as JSON, in their own chat only."""
        now = self.clock()
        data = await self.storage.personal_data(user.user_id)
        versions: dict[int, Questionnaire | None] = {}
        for session in data["sessions"]:
            # Unreadable: everything stored is still given, the ids without the words beside.
            versions[session["id"]] = await readable(self.catalog.get, session["content_hash"])
        sections = explained(self.t, data, versions)
        log.info("person %s: own data sent", alias(user.user_id))
        return _plain(
            View(self.t("my_data_sent")),
            View(
                self.t("my_data_caption_text"),
                attachment=Attachment(
                    "document",
                    self.t.plain("my_data_filename_text"),
                    as_text(self.t, sections, now),
                ),
            ),
            View(
                self.t("my_data_caption_json"),
                attachment=Attachment(
                    "document", self.t.plain("my_data_filename_json"), as_json(sections, now)
                ),
            ),
        )

    def ask_delete(self) -> Turn:
        buttons = rows(
            Button(self.t.plain("delete_button_yes"), codec.DELETE_YES),
            Button(self.t.plain("delete_button_no"), codec.DELETE_NO),
        )
        return _plain(View(self.t("delete_confirm"), buttons))

    async def delete(self, user_id: int, who: str) -> str:
        """Delete the person's data; returns their pseudonym. `who`: "person" or "retention"."""
        alias = await self.pseudonym(user_id)
        sessions = await self.storage.delete_person(user_id, alias)
        await self.storage.add_audit(
            who, "delete_person", alias, f"{sessions} sessions", self.clock()
        )
        log.info("person %s: data deleted (%s)", alias, who)
        return alias

    async def press(self, user: UserRef, press: codec.RightsPress) -> Turn:
        """The confirmation buttons of /loeschen and /gruppeverlassen."""
        if press.action == "delete":
            if not press.confirmed:
                return Turn(Reply(edit=View(self.t("delete_kept"))))
            await self.delete(user.user_id, "person")
            return Turn(Reply(edit=View(self.t("delete_done"))))
        if not press.confirmed or press.group_id is None:
            return Turn(Reply(edit=View(self.t("leave_kept"))))
        group = await self.storage.group(press.group_id)
        if group is None or not await self.storage.leave_group(user.user_id, group.id):
            return Turn(Reply(edit=View(self.t("leave_none"))))
        log.info("person %s: left a group", alias(user.user_id))
        return Turn(Reply(edit=View(self.t("leave_done", name=group.name))))

    async def ask_leave(self, user: UserRef) -> Turn:
        record = await self.storage.current_session(user.user_id)
        group = await self.storage.group(record.group_id) if record and record.group_id else None
        if group is None:
            return _plain(View(self.t("leave_none")))
        buttons = rows(
            Button(self.t.plain("leave_button_yes"), codec.leave(group.id)),
            Button(self.t.plain("leave_button_no"), codec.LEAVE_NO),
        )
        return _plain(View(self.t("leave_confirm", name=group.name), buttons))

    async def pseudonym(self, user_id: int) -> str:
        """The keyed pseudonym logs, the export and the audit log know the person by."""
        return pseudonym(await self.storage.export_salt(), user_id)


def _plain(*views: View) -> Turn:
    return Turn(Reply(send=list(views)))
