"""The self-check's use cases: one call per input, for every transport alike.

Each loads the person's session, lets the pure flow decide, persists the result in one
transaction and returns the turn to show. None of them sends anything or takes a lock: the
routing table (`bot.app.routing`) holds the person's lock around the use case and delivery.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Protocol

from bot.app import codec
from bot.app.ports import Clock, Groups, People, Questionnaires, Sessions, Turn
from bot.app.pseudonyms import alias
from bot.app.records import SessionRecord, UserRef, utc_now
from bot.ui.render import Renderer
from bot.ui.texts import Html, Texts
from bot.ui.views import Reply, View
from flows.membership import behind_current_round
from flows.questionnaire import Questionnaire
from flows.session import OpenMenu, Outcome, Refusal, Screen, apply

log = logging.getLogger(__name__)


class SelfCheckStore(Sessions, People, Groups, Protocol):
    """The repositories the self-check reads and writes."""


class SelfCheck:
    """Welcome, questions, menu, progress, results and restart of one person's check."""

    def __init__(
        self,
        storage: SelfCheckStore,
        catalog: Questionnaires,
        texts: Texts,
        render: Renderer,
        clock: Clock = utc_now,
    ) -> None:
        self.storage = storage
        self.catalog = catalog
        self.t = texts
        self.render = render
        self.clock = clock

    async def session_for(self, user: UserRef) -> tuple[SessionRecord, Questionnaire]:
        """The person's current session, started on the active questionnaire if there is none."""
        record = await self.storage.current_session(user.user_id)
        if record is None:
            record = await self.storage.create_session(
                user.user_id, self.catalog.active.content_hash, self.clock()
            )
        return record, await self.catalog.get(record.content_hash)

    # updates ------------------------------------------------------------------------------

    async def start(self, user: UserRef) -> Turn:
        log.info("person %s: start", alias(user.user_id))
        await self.storage.touch_user(user, self.clock())
        record, q = await self.session_for(user)
        group = await self.storage.group(record.group_id) if record.group_id else None
        views: list[View] = []
        if group and behind_current_round(record.group_round, group.current_round):
            # The coordinator started a new round: the earlier attempt stays for comparison.
            record, q = await self._fresh_session(user, record, "new_round")
            views.append(View(self.t("new_round_note", name=group.name)))
        views.append(await self._welcome(record, q))
        return self._turn(record, Reply(send=views))

    async def command(self, user: UserRef, action: str, help_extra: Html | None = None) -> Turn:
        """menu, progress, results, restart, help; anything else is an unknown command."""
        log.info("person %s: command %s", alias(user.user_id), action)
        await self.storage.touch_user(user, self.clock())
        record, q = await self.session_for(user)
        state = record.state
        if action == "menu":
            record, _ = await self._move(record, q, apply(q, state, OpenMenu()))
            return self._turn(record, Reply(send=[self.render.menu(q, record.state)]))
        if action == "progress":
            return self._turn(record, Reply(send=[self.render.progress(q, state)]))
        if action == "results":
            return self._turn(record, Reply(send=self.render.results(q, state)))
        if action == "restart":
            return self._turn(record, Reply(send=[self.render.restart_confirm(state)]))
        prefix = Html("") if action == "help" else self.t("unknown_command") + "\n\n"
        view = self.render.help(q, state, prefix=prefix, extra=help_extra or Html(""))
        return self._turn(record, Reply(send=[view]))

    async def other_input(self, user: UserRef) -> Turn:
        """Text, stickers, photos and the like: a friendly hint and the open question again."""
        log.info("person %s: input that is not a button or command", alias(user.user_id))
        record, q = await self.session_for(user)
        question = record.state.position.screen is Screen.QUESTION
        key = "not_a_button" if question else "not_a_button_idle"
        view = self.render.current(q, record.state, prefix=self.t(key) + "\n\n")
        return self._turn(record, Reply(send=[view]))

    async def press(self, user: UserRef, data: str | None, message_id: int | None) -> Turn:
        """A button press: decode, check it against the stored revision, apply, persist."""
        record, q = await self.session_for(user)
        decoded = codec.decode(data, q)
        if decoded is None:
            log.info("person %s: unknown button data refused", alias(user.user_id))
            return self._resync(record, q, message_id, self.t.plain("toast_unknown"))
        if decoded.restart is not None:
            return await self._restart(user, record, q, decoded.restart)
        assert decoded.event is not None
        outcome = apply(q, record.state, decoded.event)
        log.info(
            "person %s: %s%s",
            alias(user.user_id),
            type(decoded.event).__name__,
            f" refused ({outcome.refused})" if outcome.refused else "",
        )
        if outcome.refused is Refusal.STALE:
            return self._resync(record, q, message_id, self.t.plain("toast_stale"))
        if outcome.refused is not None:
            return self._resync(record, q, message_id, self.t.plain("toast_unknown"))
        moved, saved = await self._move(record, q, outcome)
        if not saved:
            fresh, q = await self.session_for(user)
            return self._resync(fresh, q, message_id, self.t.plain("toast_stale"))
        return self._turn(moved, self._after_move(q, moved, outcome))

    # helpers ------------------------------------------------------------------------------

    async def _move(
        self, record: SessionRecord, q: Questionnaire, outcome: Outcome
    ) -> tuple[SessionRecord, bool]:
        if outcome.refused is not None or outcome.state == record.state:
            return record, True
        saved = await self.storage.save_state(
            record,
            outcome.state,
            self.clock(),
            stored_answer=outcome.stored_answer,
            completed=outcome.session_completed,
        )
        if not saved:
            return record, False
        return _with_state(record, outcome), True

    def _after_move(self, q: Questionnaire, record: SessionRecord, outcome: Outcome) -> Reply:
        state = record.state
        reply = Reply()
        if outcome.stored_answer is not None:
            question_id, value = outcome.stored_answer
            option = q.scale.option(value)
            reply.toast = (
                self.t.plain("toast_saved", answer=option.label)
                if option is not None
                else self.t.plain("toast_skipped")
            )
            note = self.render.previous_answer_note(q, question_id, value)
            reply.edit = self.render.current(q, state, prefix=note)
        elif state.position.screen is Screen.RESULTS:
            views = self.render.results(q, state)
            reply.edit, reply.send = views[0], views[1:]
            return reply
        else:
            reply.edit = self.render.current(q, state)
        if outcome.session_completed:
            reply.send = self.render.results(q, state)
        return reply

    def _resync(
        self, record: SessionRecord, q: Questionnaire, message_id: int | None, toast: str
    ) -> Turn:
        """Show where the person really is.

        The live message already shows the current state (every change edits it or replaces
        it), so a press there gets only the toast: editing it to the same content is a call
        Telegram refuses ("message is not modified"). A press elsewhere gets the current
        screen below.
        """
        if message_id is not None and message_id == record.message_id:
            return self._turn(record, Reply(toast=toast))
        view = self.render.current(q, record.state)
        return self._turn(record, Reply(toast=toast, send=[view]))

    async def _restart(
        self, user: UserRef, record: SessionRecord, q: Questionnaire, confirmed: bool
    ) -> Turn:
        if not confirmed:
            view = self.render.current(q, record.state, prefix=self.t("restart_cancelled") + "\n\n")
            return self._turn(record, Reply(edit=view))
        fresh, fresh_q = await self._fresh_session(user, record, "restart")
        reply = Reply(
            edit=View(self.t("restart_done")),
            send=[await self._welcome(fresh, fresh_q)],
        )
        return self._turn(fresh, reply)

    async def _welcome(self, record: SessionRecord, q: Questionnaire) -> View:
        """The welcome, reminding group members whose check they are doing and who sees what."""
        welcome = self.render.welcome(q, record.state)
        group = await self.storage.group(record.group_id) if record.group_id else None
        if group is None:
            return welcome
        perspective = q.perspective(record.perspective)
        note = self.t(
            "welcome_group",
            name=group.name,
            perspective=perspective.label if perspective else "–",
        )
        return View(f"{welcome.text}\n\n{note}", welcome.buttons)

    async def _fresh_session(
        self, user: UserRef, record: SessionRecord, reason: str
    ) -> tuple[SessionRecord, Questionnaire]:
        """Archive the current attempt and begin a new one in the same group and perspective."""
        restarted = await self.storage.restart_session(
            user.user_id, record.id, self.catalog.active.content_hash, reason, self.clock()
        )
        fresh = restarted[1] if restarted else await self.storage.current_session(user.user_id)
        assert fresh is not None
        return fresh, await self.catalog.get(fresh.content_hash)

    @staticmethod
    def _turn(record: SessionRecord, reply: Reply) -> Turn:
        return Turn(reply, record.id, record.message_id)


def _with_state(record: SessionRecord, outcome: Outcome) -> SessionRecord:
    return replace(record, state=outcome.state)
