"""Concrete walks through the conversation state machine on the mini questionnaire."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from types import MappingProxyType

from flows.loading import parse_questionnaire
from flows.questionnaire import Questionnaire
from flows.scoring import NOT_APPLICABLE, SKIPPED
from flows.session import (
    AnswerQuestion,
    Event,
    GoBack,
    KeepAnswer,
    MarkNotApplicable,
    OpenField,
    OpenMenu,
    Outcome,
    Position,
    Refusal,
    Resume,
    ReviewSkipped,
    Screen,
    SessionState,
    ShowResults,
    SkipQuestion,
    answered_count,
    apply,
    skipped_questions,
)

MINI = Path(__file__).resolve().parent / "fixtures" / "mini.yaml"


def mini() -> Questionnaire:
    return parse_questionnaire(MINI.read_text(encoding="utf-8"), "mini.yaml")


Q = mini()


def step(state: SessionState, event: Event) -> Outcome:
    """Apply an event that must be accepted."""
    outcome = apply(Q, state, event)
    assert outcome.refused is None, (event, state.position)
    assert outcome.state.revision == state.revision + 1
    return outcome


def answer(state: SessionState, option: str = "full") -> Outcome:
    """Answer whatever question is shown, as a button press at the current revision would."""
    question_id = state.position.question_id
    assert state.position.screen is Screen.QUESTION and question_id is not None
    return step(state, AnswerQuestion(question_id, option, state.revision))


def skip(state: SessionState) -> Outcome:
    question_id = state.position.question_id
    assert state.position.screen is Screen.QUESTION and question_id is not None
    return step(state, SkipQuestion(question_id, state.revision))


def at(state: SessionState) -> str | None:
    return state.position.question_id


def started() -> SessionState:
    return step(SessionState(), Resume()).state


def test_fresh_session_starts_at_welcome() -> None:
    state = SessionState()
    assert state.position.screen is Screen.WELCOME
    assert state.revision == 0 and dict(state.answers) == {}


def test_resume_from_start_goes_to_first_question() -> None:
    state = started()
    assert state.position == Position(Screen.QUESTION, "alpha", "alpha.one")


def test_resume_keeps_the_current_question() -> None:
    state = answer(started()).state
    resumed = step(state, Resume()).state
    assert resumed.position == state.position


def test_resume_from_menu_goes_to_first_open_question() -> None:
    state = answer(started()).state
    state = step(state, OpenMenu()).state
    assert step(state, Resume()).state.position == Position(Screen.QUESTION, "alpha", "alpha.two")


def test_answering_moves_to_next_question_and_stores_answer() -> None:
    outcome = answer(started(), "mostly")
    assert outcome.stored_answer == ("alpha.one", "mostly")
    assert outcome.field_completed is None and not outcome.session_completed
    assert at(outcome.state) == "alpha.two"
    assert dict(outcome.state.answers) == {"alpha.one": "mostly"}


def test_skipping_stores_skipped_and_moves_on() -> None:
    outcome = skip(started())
    assert outcome.stored_answer == ("alpha.one", SKIPPED)
    assert dict(outcome.state.answers) == {"alpha.one": SKIPPED}
    assert at(outcome.state) == "alpha.two"


def test_go_back_keeps_answer_and_reanswering_moves_to_next_open_question() -> None:
    state = answer(answer(started(), "full").state, "none").state
    assert at(state) == "alpha.three"
    state = step(state, GoBack(state.revision)).state
    assert at(state) == "alpha.two"
    state = step(state, GoBack(state.revision)).state
    assert at(state) == "alpha.one"
    assert dict(state.answers) == {"alpha.one": "full", "alpha.two": "none"}
    outcome = answer(state, "partly")
    assert outcome.stored_answer == ("alpha.one", "partly")
    assert at(outcome.state) == "alpha.three", "answered alpha.two is not asked again"
    assert dict(outcome.state.answers) == {"alpha.one": "partly", "alpha.two": "none"}


def test_go_back_at_first_question_opens_the_menu() -> None:
    state = started()
    outcome = step(state, GoBack(state.revision))
    assert outcome.state.position == Position(Screen.MENU)


def test_next_open_question_wraps_around_within_the_field() -> None:
    """Answering late questions first still leads back to the earlier open ones."""
    state = SessionState(
        answers=MappingProxyType({"beta.daycare": "full"}),
        position=Position(Screen.QUESTION, "beta", "beta.advice"),
        revision=5,
    )
    state = answer(state).state
    assert at(state) == "beta.school"
    state = answer(state).state
    assert at(state) == "beta.flats", "beta.daycare is answered already"
    outcome = answer(state)
    assert outcome.field_completed == "beta"
    assert outcome.state.position == Position(Screen.FIELD_RESULT, "beta")


def test_completing_a_field_shows_its_result() -> None:
    state = started()
    outcome = answer(answer(state).state)
    assert outcome.field_completed is None
    outcome = skip(outcome.state)
    assert outcome.field_completed == "alpha"
    assert not outcome.session_completed
    assert outcome.state.position == Position(Screen.FIELD_RESULT, "alpha")


def test_back_from_field_result_shows_the_last_question() -> None:
    state = answer(answer(answer(started()).state).state).state
    assert state.position.screen is Screen.FIELD_RESULT
    state = step(state, GoBack(state.revision)).state
    assert state.position == Position(Screen.QUESTION, "alpha", "alpha.three")
    outcome = answer(state, "none")
    assert outcome.field_completed is None, "the field was already complete"
    assert outcome.state.position == Position(Screen.FIELD_RESULT, "alpha")


def complete_all(state: SessionState, skip_ids: Collection[str] = ()) -> tuple[SessionState, int]:
    """Answer every field in order; returns the final state and how often completion fired."""
    completions = 0
    for field in Q.fields:
        state = step(state, OpenField(field.id)).state
        while state.position.screen is Screen.QUESTION:
            outcome = skip(state) if at(state) in skip_ids else answer(state)
            completions += outcome.session_completed
            state = outcome.state
    return state, completions


def test_completing_everything_reports_session_completed_once() -> None:
    state, completions = complete_all(SessionState())
    assert completions == 1
    assert set(state.answers) == {q.id for q in Q.questions}
    state = step(state, OpenField("beta", from_start=True)).state
    outcome = answer(state, "none")
    assert not outcome.session_completed
    assert outcome.field_completed is None
    # Changing an answer in a finished field goes on through the field, not to its result.
    second = Q.field_questions("beta")[1].id
    assert outcome.state.position == Position(Screen.QUESTION, "beta", second, walk=True)
    assert step(outcome.state, OpenMenu()).state.position == Position(Screen.MENU)
    assert step(step(outcome.state, OpenMenu()).state, Resume()).state.position == Position(
        Screen.RESULTS
    )


def test_review_skipped_walks_only_skipped_questions_in_order() -> None:
    skipped = {"gamma.events", "alpha.two", "beta.flats", "beta.school"}
    state, _ = complete_all(SessionState(), skipped)
    state = step(state, ReviewSkipped()).state
    seen = []
    while state.position.screen is Screen.QUESTION:
        assert state.position.review
        seen.append(at(state))
        outcome = answer(state, "mostly") if at(state) != "beta.flats" else skip(state)
        assert not outcome.session_completed
        state = outcome.state
    assert seen == ["alpha.two", "beta.school", "beta.flats", "gamma.events"]
    assert state.position == Position(Screen.RESULTS)
    assert state.answers["beta.flats"] is SKIPPED
    assert state.answers["alpha.two"] == "mostly"
    # The remaining skipped question is offered again.
    state = step(state, ReviewSkipped()).state
    assert state.position == Position(Screen.QUESTION, "beta", "beta.flats", review=True)


def test_review_skipped_without_skipped_questions_shows_results() -> None:
    state = step(answer(started()).state, ReviewSkipped()).state
    assert state.position == Position(Screen.RESULTS)


def test_stale_revision_is_refused_and_changes_nothing() -> None:
    state = started()
    late = AnswerQuestion("alpha.one", "full", state.revision - 1)
    outcome = apply(Q, state, late)
    assert outcome.refused is Refusal.STALE
    assert outcome.state is state
    assert outcome.stored_answer is None
    assert apply(Q, state, SkipQuestion("alpha.one", state.revision + 1)).refused is Refusal.STALE
    assert apply(Q, state, GoBack(state.revision - 1)).refused is Refusal.STALE


def test_repeated_button_press_is_refused() -> None:
    state = started()
    press = AnswerQuestion("alpha.one", "full", state.revision)
    after = step(state, press).state
    outcome = apply(Q, after, press)
    assert outcome.refused is Refusal.STALE
    assert outcome.state is after


def test_answering_another_question_than_the_current_one_is_refused() -> None:
    state = started()
    for event in (
        AnswerQuestion("alpha.two", "full", state.revision),
        SkipQuestion("beta.school", state.revision),
        AnswerQuestion("does.not.exist", "full", state.revision),
    ):
        outcome = apply(Q, state, event)
        assert outcome.refused is Refusal.STALE
        assert outcome.state is state


def test_answering_outside_a_question_screen_is_refused() -> None:
    state = step(started(), OpenMenu()).state
    outcome = apply(Q, state, AnswerQuestion("alpha.one", "full", state.revision))
    assert outcome.refused is Refusal.STALE


def test_unknown_option_and_unknown_field_are_refused() -> None:
    state = started()
    outcome = apply(Q, state, AnswerQuestion("alpha.one", "sehr gut", state.revision))
    assert outcome.refused is Refusal.UNKNOWN and outcome.state is state
    outcome = apply(Q, state, OpenField("delta"))
    assert outcome.refused is Refusal.UNKNOWN and outcome.state is state


def test_open_field_goes_to_its_first_open_question() -> None:
    state = step(SessionState(), OpenField("beta")).state
    state = skip(state).state
    state = step(state, OpenMenu()).state
    state = step(state, OpenField("beta")).state
    assert state.position == Position(Screen.QUESTION, "beta", "beta.daycare")


def test_open_complete_field_shows_result_and_from_start_the_first_question() -> None:
    state = step(SessionState(), OpenField("gamma")).state
    for _ in range(3):
        state = answer(state).state
    state = step(state, OpenMenu()).state
    assert step(state, OpenField("gamma")).state.position == Position(Screen.FIELD_RESULT, "gamma")
    again = step(state, OpenField("gamma", from_start=True)).state
    assert again.position == Position(Screen.QUESTION, "gamma", "gamma.clubs", walk=True)


def test_show_results_and_menu_are_always_accepted() -> None:
    state = started()
    assert step(state, ShowResults()).state.position == Position(Screen.RESULTS)
    assert step(state, OpenMenu()).state.position == Position(Screen.MENU)


# "entfällt bei uns / nicht zuständig" ----------------------------------------------------------


def open_question(question_id: str) -> SessionState:
    question = Q.question(question_id)
    outcome = step(SessionState(), OpenField(question.field))
    state = outcome.state
    while state.position.question_id != question_id:
        state = answer(state).state
    return state


def test_not_applicable_is_stored_as_its_own_value_and_moves_on() -> None:
    state = open_question("gamma.council")
    outcome = step(state, MarkNotApplicable("gamma.council", state.revision))
    assert outcome.stored_answer == ("gamma.council", NOT_APPLICABLE)
    assert outcome.state.answers["gamma.council"] == NOT_APPLICABLE
    assert outcome.field_completed == "gamma"
    assert outcome.state.position == Position(Screen.FIELD_RESULT, "gamma")


def test_not_applicable_is_refused_where_the_question_does_not_offer_it() -> None:
    state = open_question("gamma.clubs")
    outcome = apply(Q, state, MarkNotApplicable("gamma.clubs", state.revision))
    assert outcome.refused is Refusal.UNKNOWN and outcome.state is state


def test_a_late_not_applicable_press_is_stale() -> None:
    state = open_question("gamma.council")
    outcome = apply(Q, state, MarkNotApplicable("gamma.council", state.revision - 1))
    assert outcome.refused is Refusal.STALE


def test_not_applicable_questions_are_not_reviewed_as_skipped() -> None:
    state = open_question("gamma.council")
    state = step(state, MarkNotApplicable("gamma.council", state.revision)).state
    assert skipped_questions(Q, state.answers) == []
    assert step(state, ReviewSkipped()).state.position == Position(Screen.RESULTS)


def test_answered_count_ignores_answers_of_questions_the_type_does_not_ask() -> None:
    answers = MappingProxyType({"alpha.one": "full", "alpha.district": "none"})
    assert answered_count(Q, answers) == 1
    assert answered_count(Q.for_type("district"), answers) == 2


def test_finished_field_walk_goes_question_by_question_keeping_or_changing_answers() -> None:
    """ "Antworten ansehen/ändern": every question of a finished field can be reached."""
    state = step(SessionState(), OpenField("alpha")).state
    for _ in range(3):
        state = answer(state).state
    assert state.position == Position(Screen.FIELD_RESULT, "alpha")
    state = step(state, OpenField("alpha", from_start=True)).state
    assert state.position == Position(Screen.QUESTION, "alpha", "alpha.one", walk=True)
    kept = step(state, KeepAnswer("alpha.one", state.revision))
    assert kept.stored_answer is None and dict(kept.state.answers) == dict(state.answers)
    state = kept.state
    assert state.position == Position(Screen.QUESTION, "alpha", "alpha.two", walk=True)
    changed = answer(state, "none")
    assert changed.stored_answer == ("alpha.two", "none")
    state = changed.state
    assert state.position == Position(Screen.QUESTION, "alpha", "alpha.three", walk=True)
    state = step(state, GoBack(state.revision)).state
    assert state.position == Position(Screen.QUESTION, "alpha", "alpha.two", walk=True)
    assert state.answers["alpha.two"] == "none"
    state = step(state, KeepAnswer("alpha.two", state.revision)).state
    state = step(state, KeepAnswer("alpha.three", state.revision)).state
    assert state.position == Position(Screen.FIELD_RESULT, "alpha"), "the walk ends where it began"


def test_keep_answer_is_refused_where_nothing_is_answered_or_stale() -> None:
    state = started()
    assert apply(Q, state, KeepAnswer("alpha.one", state.revision)).refused is Refusal.UNKNOWN
    state = answer(state).state
    state = step(state, GoBack(state.revision)).state
    assert apply(Q, state, KeepAnswer("alpha.one", state.revision - 1)).refused is Refusal.STALE
    assert apply(Q, state, KeepAnswer("alpha.two", state.revision)).refused is Refusal.STALE
    kept = step(state, KeepAnswer("alpha.one", state.revision)).state
    assert kept.position == Position(Screen.QUESTION, "alpha", "alpha.two")


def test_changing_an_answer_after_going_back_goes_on_where_the_person_was() -> None:
    state = answer(answer(started()).state).state
    assert at(state) == "alpha.three"
    state = step(step(state, GoBack(state.revision)).state, GoBack(state.revision + 1)).state
    assert at(state) == "alpha.one"
    assert at(answer(state, "none").state) == "alpha.three"
