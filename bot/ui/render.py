"""Pure rendering: from questionnaire and session state to the views a person sees."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.app import codec
from bot.ui.texts import Html, Texts
from bot.ui.views import Button, View, rows
from flows.navigation import next_open_field
from flows.questionnaire import Questionnaire
from flows.scoring import NOT_APPLICABLE, SKIPPED, FieldResult, assess_all, assess_field
from flows.session import (
    Screen,
    SessionState,
    answered_count,
    field_is_new,
    is_complete,
    skipped_questions,
)

Answers = Mapping[str, str | None]


def progress_bar(done: int, total: int, width: int = 10) -> str:
    filled = round(width * done / total) if total else 0
    return "▰" * filled + "▱" * (width - filled)


def _span(values: list[int]) -> str:
    """One number, or the range "101–110" when the municipality types differ."""
    return str(values[0]) if len(values) == 1 else f"{values[0]}–{values[-1]}"


def percent(done: int, total: int) -> int:
    return round(100 * done / total) if total else 0


@dataclass(frozen=True)
class QuestionFrame:
    """What a question's screen shows whatever the answers are, made once per questionnaire
    version and question: a question's screen is rendered after every answer."""

    field_id: str
    field_number: int  # 1-based, as shown
    field_title: str
    subtheme: Html
    position: int  # 1-based within the field
    total: int
    text: str
    hint: Html
    introduction: Html
    number: int  # in the whole questionnaire, 0-based: the buttons' handle
    allow_not_applicable: bool


class Renderer:
    """Builds every view from state; holds no state of its own but a cache of what never
    changes within one questionnaire version (keyed by its content hash)."""

    def __init__(self, texts: Texts) -> None:
        self.t = texts
        self._frames: dict[tuple[str, str], QuestionFrame] = {}

    def _frame(self, q: Questionnaire, question_id: str) -> QuestionFrame:
        key = (q.content_hash, question_id)
        frame = self._frames.get(key)
        if frame is None:
            question = q.question(question_id)
            field = q.field(question.field)
            in_field = q.field_questions(field.id)
            subtheme = field.subtheme(question.subtheme)
            number = q.field_number(field.id) + 1
            frame = QuestionFrame(
                field_id=field.id,
                field_number=number,
                field_title=field.title,
                subtheme=(
                    self.t("question_subtheme", subtheme=subtheme.title) if subtheme else Html("")
                ),
                position=next(i for i, x in enumerate(in_field) if x.id == question.id) + 1,
                total=len(in_field),
                text=question.text,
                hint=self.t("question_hint", hint=question.hint) if question.hint else Html(""),
                introduction=self.t(
                    "field_introduction",
                    number=number,
                    title=field.title,
                    introduction=field.introduction,
                ),
                number=q.question_number(question.id),
                allow_not_applicable=question.allow_not_applicable,
            )
            self._frames[key] = frame
        return frame

    # entry points ---------------------------------------------------------------------------

    def choose_type(self, q: Questionnaire, first: bool) -> View:
        """The municipality type choice: with the introduction at first contact, else alone.

        At first contact the duration is a range, because it depends on the type chosen.
        """
        types = q.document.municipality_types
        buttons = [Button(t.label, codec.municipality_type(i)) for i, t in enumerate(types)]
        if not first:
            current = q.municipality_type.label if q.municipality_type else "–"
            text = self.t("type_choose", type=current)
            return View(text, rows(*buttons, self._menu()))
        variants = q.variants()
        minutes = sorted({v.estimated_minutes for v in variants})
        counts = sorted({len(v.questions) for v in variants})
        text = self.t(
            "welcome_choose_type",
            title=q.title,
            introduction=q.introduction,
            minutes=_span(minutes),
            questions=_span(counts),
            fields=len(q.fields),
        )
        return View(text, rows(*buttons))

    def welcome(self, q: Questionnaire, state: SessionState) -> View:
        done = answered_count(q, state.answers)
        total = len(q.questions)
        kind = (
            self.t("welcome_type", type=q.municipality_type.label)
            if q.municipality_type
            else Html("")
        )
        if done == 0:
            text = self.t(
                "welcome",
                title=q.title,
                introduction=q.introduction,
                minutes=q.estimated_minutes,
                questions=total,
                fields=len(q.fields),
                skip=q.scale.skip_label,
                kind=kind,
            )
            return View(text, rows(self._button("button_begin", codec.RESUME), self._menu()))
        key = "welcome_done" if done >= total else "welcome_back"
        text = self.t(key, answered=done, questions=total, percent=percent(done, total), kind=kind)
        first = (
            self._button("button_results", codec.RESULTS)
            if done >= total
            else self._button("button_continue", codec.RESUME)
        )
        return View(text, rows(first, self._menu()))

    def current(self, q: Questionnaire, state: SessionState, prefix: str = "") -> View:
        """Whatever the session's position says the person is looking at."""
        screen = state.position.screen
        if screen is Screen.QUESTION:
            return self.question(q, state, prefix=prefix)
        if screen is Screen.FIELD_RESULT and state.position.field_id:
            return self.field_result(q, state, state.position.field_id, prefix=prefix)
        if screen is Screen.MENU:
            return self.menu(q, state, prefix=prefix)
        if screen is Screen.RESULTS:
            return self.results(q, state)[0]
        welcome = self.welcome(q, state)
        return View(prefix + welcome.text, welcome.buttons)

    def menu(self, q: Questionnaire, state: SessionState, prefix: str = "") -> View:
        done = answered_count(q, state.answers)
        text = prefix + self.t(
            "menu_title",
            bar=progress_bar(done, len(q.questions)),
            percent=percent(done, len(q.questions)),
        )
        buttons = []
        for number, field in enumerate(q.fields, start=1):
            questions = q.field_questions(field.id)
            field_done = sum(1 for x in questions if x.id in state.answers)
            key = "field_button_new" if field_done == 0 else "field_button_partial"
            if field_done == len(questions):
                key = "field_button_done"
            label = self.t.plain(
                key, number=number, title=field.title, done=field_done, total=len(questions)
            )
            buttons.append(Button(label, codec.open_field(number - 1)))
        buttons.append(Button(self.t.plain("button_results"), codec.RESULTS))
        if q.municipality_type is not None:
            label = self.t.plain("button_type", type=q.municipality_type.label)
            buttons.append(Button(label, codec.TYPE_CHOICE))
        return View(text, rows(*buttons))

    def question(self, q: Questionnaire, state: SessionState, prefix: str = "") -> View:
        position = state.position
        frame = self._frame(q, position.question_id or "")
        done = answered_count(q, state.answers)
        current = state.answers.get(position.question_id or "", ...)
        current_label = self._answer_label(q, current) if current is not ... else None
        text = self.t(
            "question",
            number=frame.field_number,
            field=frame.field_title,
            subtheme=frame.subtheme,
            position=frame.position,
            total=frame.total,
            bar=progress_bar(done, len(q.questions)),
            percent=percent(done, len(q.questions)),
            text=frame.text,
            hint=frame.hint,
            current=self.t("question_current", answer=current_label) if current_label else Html(""),
        )
        if position.review:
            text = Html(self.t("question_review") + text)
        elif field_is_new(q, frame.field_id, state.answers):
            # A field's first question comes with what the field is about (once answered, not).
            text = Html(frame.introduction + text)
        number = frame.number
        revision = state.revision
        mark = self.t.plain("selected_mark")
        option_buttons = [
            Button(
                (mark if current == option.id else "") + option.label,
                codec.answer(revision, number, i),
            )
            for i, option in enumerate(q.scale.options)
        ]
        skip_label = (
            (mark if current is SKIPPED else "") + self.t.plain("skip_prefix") + q.scale.skip_label
        )
        navigation = [Button(self.t.plain("button_back"), codec.back(revision))]
        if current is not ...:
            # Going on without changing it: how a person walks through an answered field.
            navigation.append(Button(self.t.plain("button_keep"), codec.keep(revision, number)))
        navigation.append(Button(self.t.plain("button_menu"), codec.MENU))
        not_applicable: tuple[tuple[Button, ...], ...] = ()
        if frame.allow_not_applicable and q.scale.not_applicable_label:
            label = (mark if current == NOT_APPLICABLE else "") + (
                self.t.plain("not_applicable_prefix") + q.scale.not_applicable_label
            )
            not_applicable = ((Button(label, codec.not_applicable(revision, number)),),)
        keyboard = (
            *rows(*option_buttons, per_row=2),
            (Button(skip_label, codec.skip(revision, number)),),
            *not_applicable,
            tuple(navigation),
        )
        return View(prefix + text, keyboard)

    def previous_answer_note(self, q: Questionnaire, question_id: str, value: str | None) -> Html:
        position = self._frame(q, question_id).position
        return self.t("question_previous", position=position, answer=self._answer_label(q, value))

    def field_result(
        self, q: Questionnaire, state: SessionState, field_id: str, prefix: str = ""
    ) -> View:
        result = assess_field(q, field_id, state.answers)
        number = q.field_number(field_id) + 1
        text = prefix + self.t(
            "field_result", number=number, title=result.title, summary=self._summary(q, result)
        )
        text += self._suggestions(result)
        all_done = is_complete(q, state.answers)
        next_field = next_open_field(q, state.answers, field_id)
        if result.complete:
            text += self.t("field_done_all") if all_done else self.t("field_done_next")
        buttons: list[Button | None] = []
        if next_field is not None:
            title = q.field(next_field).title
            buttons.append(
                Button(
                    self.t.plain("button_next_field", title=title),
                    codec.open_field(q.field_number(next_field)),
                )
            )
        if all_done:
            buttons.append(self._button("button_results", codec.RESULTS))
        buttons += [
            Button(
                self.t.plain("button_change_answers"),
                codec.open_field(number - 1, from_start=True),
            ),
            self._menu(),
        ]
        return View(text, rows(*buttons))

    def results(self, q: Questionnaire, state: SessionState) -> list[View]:
        """The overview, every assessed field, and the skipped questions; split to fit."""
        results = assess_all(q, state.answers)
        skipped = skipped_questions(q, state.answers)
        done_fields = [r for r in results if r.complete]
        answered = sum(r.answered for r in results)
        parts = [
            self.t(
                "results_title",
                title=q.title,
                done=len(done_fields),
                fields=len(q.fields),
                answered=answered,
                skipped=len(skipped),
                not_applicable=self._not_applicable_count(sum(r.not_applicable for r in results)),
            ),
            "\n".join(
                self._overview_line(q, number, r) for number, r in enumerate(results, start=1)
            ),
        ]
        for number, result in enumerate(results, start=1):
            if not result.complete:
                continue
            parts.append(
                self.t(
                    "field_result",
                    number=number,
                    title=result.title,
                    summary=self._summary(q, result),
                )
                + self._suggestions(result)
            )
        if not done_fields:
            parts.append(self.t("results_nothing"))
        views = [View("\n\n".join(parts))]
        views += self.skipped_list(q, state)
        last = views[-1]
        buttons = last.buttons
        if not any(view.buttons for view in views):
            buttons = rows(self._continue_button(q, state), self._menu())
        # The person's own result as a document; it is only ever sent to the presser.
        pdf = (self._button("result_button_pdf", codec.RESULT_PDF),)
        views[-1] = View(last.text, (*buttons, pdf), last.attachment)
        return views

    def skipped_list(self, q: Questionnaire, state: SessionState) -> list[View]:
        skipped = skipped_questions(q, state.answers)
        if not skipped:
            return []
        lines = [self.t("skipped_title", count=len(skipped))]
        for question_id in skipped:
            question = q.question(question_id)
            lines.append(
                self.t("skipped_line", field=q.field(question.field).title, text=question.text)
            )
        buttons = rows(
            self._button("button_review_skipped", codec.REVIEW),
            self._continue_button(q, state),
            self._menu(),
        )
        return [View("\n".join(lines), buttons)]

    def progress(self, q: Questionnaire, state: SessionState) -> View:
        results = assess_all(q, state.answers)
        done = answered_count(q, state.answers)
        skipped = sum(r.skipped for r in results)
        not_applicable = sum(r.not_applicable for r in results)
        lines = []
        for number, result in enumerate(results, start=1):
            lines.append(
                self.t(
                    "menu_line",
                    number=number,
                    title=result.title,
                    state=self._field_state(result),
                )
            )
        text = self.t(
            "progress",
            bar=progress_bar(done, len(q.questions)),
            percent=percent(done, len(q.questions)),
            answered=done - skipped - not_applicable,
            skipped=skipped,
            not_applicable=self._not_applicable_count(not_applicable),
            open=len(q.questions) - done,
            lines=Html("\n".join(lines)),
        )
        return View(text, rows(self._continue_button(q, state), self._menu()))

    def help(
        self, q: Questionnaire, state: SessionState, prefix: str = "", extra: str = ""
    ) -> View:
        """The help; `extra` adds the commands of a role (coordinators) below the usual ones."""
        text = prefix + self.t("help") + extra
        return View(text, rows(self._continue_button(q, state), self._menu()))

    def restart_confirm(self, state: SessionState) -> View:
        return View(
            self.t("restart_confirm", answered=len(state.answers)),
            rows(
                Button(self.t.plain("button_restart_confirm"), codec.RESTART_CONFIRM),
                Button(self.t.plain("button_restart_cancel"), codec.RESTART_CANCEL),
            ),
        )

    # pieces -----------------------------------------------------------------------------

    def _summary(self, q: Questionnaire, result: FieldResult) -> Html:
        if not result.complete:
            return self.t("field_result_open", open=result.open, total=result.total)
        if result.too_few_answers:
            field = q.field(result.field_id)
            missing = [s.title for s in field.subthemes if s.id in set(result.missing_subthemes)]
            return self.t(
                "field_result_too_few",
                answered=result.answered,
                minimum=result.minimum,
                applicable=result.applicable,
                missing=self.t("field_result_missing_answers", count=result.missing_answers)
                if result.missing_answers
                else Html(""),
                skipped=result.skipped,
                not_applicable=result.not_applicable,
                subthemes=self.t("field_result_missing_subthemes", titles=", ".join(missing))
                if missing
                else Html(""),
            )
        assert result.band is not None
        return self.t(
            "field_result_scored",
            band=result.band.label,
            profile=self._profile(result),
            score=result.score,
            answered=result.answered,
            total=result.total,
            skipped=result.skipped,
            not_applicable=result.not_applicable,
            assessment=result.assessment,
        )

    def _profile(self, result: FieldResult) -> Html:
        """The person's own strongest and weakest items, and one line per subtheme."""
        lines = []
        if result.strongest:
            topics = ", ".join(i.topic for i in result.strongest)
            lines.append(self.t("field_result_strongest", topics=topics))
        if result.weakest:
            topics = ", ".join(i.topic for i in result.weakest)
            lines.append(self.t("field_result_weakest", topics=topics))
        for subtheme in result.subthemes:
            if subtheme.score is None:
                lines.append(self.t("subtheme_line_none", title=subtheme.title))
            else:
                lines.append(
                    self.t(
                        "subtheme_line",
                        title=subtheme.title,
                        bar=progress_bar(subtheme.score, 100, width=5),
                        score=subtheme.score,
                        answered=subtheme.answered,
                        total=subtheme.total,
                    )
                )
        return Html("".join(f"{line}\n" for line in lines))

    def _suggestions(self, result: FieldResult) -> Html:
        if not result.complete or not result.suggestions:
            return Html("")
        lines: list[str] = []
        if result.gap_suggestions:
            lines.append(self.t("suggestions_gap_title"))
            lines += [self.t("suggestion_gap", text=g.text) for g in result.gap_suggestions]
        if result.band_suggestions and result.band is not None:
            lines.append(self.t("suggestions_band_title", band=result.band.label))
            lines += [self.t("suggestion_band", text=s) for s in result.band_suggestions]
        return Html(self.t("suggestions_title") + "\n" + "\n".join(lines))

    def _overview_line(self, q: Questionnaire, number: int, result: FieldResult) -> Html:
        if not result.complete:
            return self.t(
                "results_line_open",
                number=number,
                title=result.title,
                done=result.total - result.open,
                total=result.total,
            )
        if result.too_few_answers:
            return self.t("results_line_too_few", number=number, title=result.title)
        assert result.band is not None and result.score is not None
        return self.t(
            "results_line_scored",
            number=number,
            title=result.title,
            bar=progress_bar(result.score, 100, width=5),
            score=result.score,
            band=result.band.label,
        )

    def _field_state(self, result: FieldResult) -> str:
        done = result.total - result.open
        if done == 0:
            return self.t.plain("field_state_new")
        if result.complete:
            return self.t.plain("field_state_done")
        return self.t.plain("field_state_partial", done=done, total=result.total)

    def _answer_label(self, q: Questionnaire, value: str | None) -> str:
        if value is SKIPPED:
            return q.scale.skip_label
        if value == NOT_APPLICABLE and q.scale.not_applicable_label:
            return q.scale.not_applicable_label
        option = q.scale.option(value)
        return option.label if option else q.scale.skip_label

    def _not_applicable_count(self, count: int) -> Html:
        """ ", 2 entfällt" in a summary line; nothing while no question was marked so."""
        return self.t("count_not_applicable", count=count) if count else Html("")

    def _continue_button(self, q: Questionnaire, state: SessionState) -> Button | None:
        if is_complete(q, state.answers) and state.position.screen is not Screen.QUESTION:
            return None
        return self._button("button_continue", codec.RESUME)

    def _menu(self) -> Button:
        return self._button("button_menu", codec.MENU)

    def _button(self, key: str, data: str) -> Button:
        return Button(self.t.plain(key), data)
