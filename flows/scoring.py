"""From answers to a per-field result: score, band, assessment and fitting suggestions.

Skipped questions ("weiß nicht") never count against the municipality: a field's score uses the
answered questions only. Questions marked "entfällt bei uns / nicht zuständig" count neither
way and leave the field's applicable questions. Below the field's minimum (a share of the
applicable questions and, with subthemes, answers in most of them) no band is given rather than
a guess, and the result names what is missing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from flows.questionnaire import Assessment, Band, Question, Questionnaire

SKIPPED = None
"""The stored value of a question the person skipped."""

NOT_APPLICABLE = "~not_applicable"
"""The stored value of "entfällt bei uns / nicht zuständig"; option ids cannot start with '~'."""

Answers = Mapping[str, str | None]
"""Question id -> option id, `SKIPPED` or `NOT_APPLICABLE`. Questions not yet reached are absent."""

MAX_GAP_SUGGESTIONS = 3


@dataclass(frozen=True)
class GapSuggestion:
    """A question-specific suggestion, chosen because that question was answered low."""

    question_id: str
    question_text: str
    text: str
    points: int


@dataclass(frozen=True)
class NamedItem:
    """A question named in a result as one of the person's strongest or weakest answers."""

    question_id: str
    topic: str
    answer: str
    points: int


@dataclass(frozen=True)
class SubthemeResult:
    """One line of a field's profile by subtheme (Bildung, Sprache, ...)."""

    subtheme_id: str
    title: str
    total: int
    answered: int
    skipped: int
    not_applicable: int
    score: int | None
    """0–100 of the subtheme's answered questions; None when none was answered."""

    @property
    def open(self) -> int:
        return self.total - self.answered - self.skipped - self.not_applicable


@dataclass(frozen=True)
class FieldResult:
    """Everything the product says about one field for one set of answers."""

    field_id: str
    title: str
    total: int
    answered: int
    skipped: int
    score: int | None
    band: Band | None
    assessment: str | None
    gap_suggestions: tuple[GapSuggestion, ...]
    band_suggestions: tuple[str, ...]
    skipped_question_ids: tuple[str, ...]
    not_applicable: int = 0
    """Questions marked "entfällt": neither for nor against, and not among the applicable ones."""
    minimum: int = 1
    """Answers this field needs for an assessment, given what is applicable."""
    missing_answers: int = 0
    """How many more answers an assessment needs (0 once the minimum is reached)."""
    missing_subthemes: tuple[str, ...] = ()
    """Subtheme ids with applicable questions but no answer yet, when that blocks the result."""
    subthemes: tuple[SubthemeResult, ...] = ()
    strongest: tuple[NamedItem, ...] = ()
    weakest: tuple[NamedItem, ...] = ()

    @property
    def applicable(self) -> int:
        return self.total - self.not_applicable

    @property
    def open(self) -> int:
        return self.total - self.answered - self.skipped - self.not_applicable

    @property
    def complete(self) -> bool:
        return self.open == 0

    @property
    def too_few_answers(self) -> bool:
        """True when the field lacks what an assessment needs (answers or subthemes)."""
        return self.score is None

    @property
    def suggestions(self) -> tuple[str, ...]:
        """Suggestions in the order to show them: the person's own gaps first."""
        return tuple(g.text for g in self.gap_suggestions) + self.band_suggestions


def score_of(
    questionnaire: Questionnaire, questions: tuple[Question, ...], answers: Answers
) -> int | None:
    """0–100 from answered questions only, rounded half up; None if nothing was answered."""
    scale = questionnaire.scale
    lowest = scale.min_points
    span = scale.max_points - lowest
    points = [
        option.points - lowest
        for q in questions
        if (option := scale.option(answers.get(q.id))) is not None
    ]
    if not points:
        return None
    ratio = Fraction(sum(points), len(points) * span) * 100
    return int(ratio + Fraction(1, 2))


def assess_field(questionnaire: Questionnaire, field_id: str, answers: Answers) -> FieldResult:
    """Assess one field; unknown option ids count as unanswered, never as points."""
    field = questionnaire.field(field_id)
    questions = questionnaire.field_questions(field_id)
    scale = questionnaire.scale
    rules = questionnaire.result_rules
    answered = [q for q in questions if scale.option(answers.get(q.id) or "") is not None]
    skipped = tuple(q.id for q in questions if q.id in answers and answers[q.id] is SKIPPED)
    not_applicable = sum(1 for q in questions if answers.get(q.id) == NOT_APPLICABLE)
    applicable = len(questions) - not_applicable
    minimum = max(field.min_answered, math.ceil(applicable * rules.min_answered_percent / 100))
    subthemes = _subtheme_profile(questionnaire, field_id, answers)
    missing_subthemes = _missing_subthemes(subthemes, rules.min_subthemes_percent)
    score = None
    band = None
    assessment = None
    gaps = _gap_suggestions(questionnaire, answered, answers)
    band_suggestions: tuple[str, ...] = ()
    if len(answered) >= minimum and not missing_subthemes:
        score = score_of(questionnaire, questions, answers)
    if score is not None:
        band = questionnaire.band_for(score)
        chosen = field.assessments[band.id]
        assessment = chosen.text
        band_suggestions = _band_suggestions(questionnaire, chosen, gaps, answers)
    strongest, weakest = _named_items(questionnaire, answered, answers, rules.named_items)
    return FieldResult(
        field_id=field.id,
        title=field.title,
        total=len(questions),
        answered=len(answered),
        skipped=len(skipped),
        score=score,
        band=band,
        assessment=assessment,
        gap_suggestions=gaps,
        band_suggestions=band_suggestions,
        skipped_question_ids=skipped,
        not_applicable=not_applicable,
        minimum=minimum,
        missing_answers=max(0, minimum - len(answered)),
        missing_subthemes=missing_subthemes if score is None else (),
        subthemes=subthemes,
        strongest=strongest,
        weakest=weakest,
    )


def assess_all(questionnaire: Questionnaire, answers: Answers) -> tuple[FieldResult, ...]:
    return tuple(assess_field(questionnaire, f.id, answers) for f in questionnaire.fields)


def _subtheme_profile(
    questionnaire: Questionnaire, field_id: str, answers: Answers
) -> tuple[SubthemeResult, ...]:
    """Per subtheme in the field's order; subthemes without questions for the type are left out."""
    field = questionnaire.field(field_id)
    scale = questionnaire.scale
    profile = []
    for subtheme in field.subthemes:
        questions = tuple(
            q for q in questionnaire.field_questions(field_id) if q.subtheme == subtheme.id
        )
        if not questions:
            continue
        values = [answers.get(q.id, ...) for q in questions]
        profile.append(
            SubthemeResult(
                subtheme_id=subtheme.id,
                title=subtheme.title,
                total=len(questions),
                answered=sum(1 for v in values if v is not ... and scale.option(v) is not None),
                skipped=sum(1 for v in values if v is SKIPPED),
                not_applicable=sum(1 for v in values if v == NOT_APPLICABLE),
                score=score_of(questionnaire, questions, answers),
            )
        )
    return tuple(profile)


def _missing_subthemes(profile: tuple[SubthemeResult, ...], percent: int) -> tuple[str, ...]:
    """Subthemes without an answer, when too few subthemes have one; () when enough do."""
    eligible = [s for s in profile if s.not_applicable < s.total]
    needed = math.ceil(len(eligible) * percent / 100)
    covered = sum(1 for s in eligible if s.answered > 0)
    if covered >= needed:
        return ()
    return tuple(s.subtheme_id for s in eligible if s.answered == 0)


def _band_suggestions(
    questionnaire: Questionnaire,
    assessment: Assessment,
    gaps: tuple[GapSuggestion, ...],
    answers: Answers,
) -> tuple[str, ...]:
    """The band's suggestions that fit the answers and do not repeat an item suggestion."""
    scale = questionnaire.scale
    suggested = {g.question_id for g in gaps}
    chosen = []
    for suggestion in assessment.band_suggestions():
        if any(question_id in suggested for question_id in suggestion.covers):
            continue
        if not all(
            (option := scale.option(answers.get(question_id))) is not None
            and option.points > scale.low_answer_max_points
            for question_id in suggestion.builds_on
        ):
            continue
        chosen.append(suggestion.text)
    return tuple(chosen)


def _named_items(
    questionnaire: Questionnaire, answered: list[Question], answers: Answers, count: int
) -> tuple[tuple[NamedItem, ...], tuple[NamedItem, ...]]:
    """The best answers above the low ones and the lowest answers; ties in questionnaire order."""
    scale = questionnaire.scale
    items = []
    for question in answered:
        option = scale.option(answers[question.id])
        assert option is not None
        items.append(NamedItem(question.id, question.short, option.label, option.points))
    high = [i for i in items if i.points > scale.low_answer_max_points]
    low = [i for i in items if i.points <= scale.low_answer_max_points]
    high.sort(key=lambda i: -i.points)
    low.sort(key=lambda i: i.points)
    return tuple(high[:count]), tuple(low[:count])


def _gap_suggestions(
    questionnaire: Questionnaire, answered: list[Question], answers: Answers
) -> tuple[GapSuggestion, ...]:
    """The weakest answered questions first (lowest points, then questionnaire order)."""
    scale = questionnaire.scale
    low = []
    for order, question in enumerate(answered):
        option = scale.option(answers[question.id] or "")
        if option is not None and option.points <= scale.low_answer_max_points:
            low.append((option.points, order, question))
    low.sort(key=lambda item: (item[0], item[1]))
    return tuple(
        GapSuggestion(q.id, q.text, q.suggestion, points)
        for points, _, q in low[:MAX_GAP_SUGGESTIONS]
    )
