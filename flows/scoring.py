"""From answers to a per-field result: score, band, assessment and fitting suggestions.

Skipped questions ("weiß nicht") never count against the municipality: a field's score uses the
answered questions only, and below the field's minimum no band is given rather than a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from flows.questionnaire import Band, Question, Questionnaire

SKIPPED = None
"""The stored value of a question the person skipped."""

Answers = Mapping[str, str | None]
"""Question id -> option id, or `SKIPPED`. Questions not yet reached are absent."""

MAX_GAP_SUGGESTIONS = 3


@dataclass(frozen=True)
class GapSuggestion:
    """A question-specific suggestion, chosen because that question was answered low."""

    question_id: str
    question_text: str
    text: str
    points: int


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

    @property
    def open(self) -> int:
        return self.total - self.answered - self.skipped

    @property
    def complete(self) -> bool:
        return self.open == 0

    @property
    def too_few_answers(self) -> bool:
        """True when the field has answers, but fewer than its minimum for an assessment."""
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
    answered = [q for q in questions if scale.option(answers.get(q.id) or "") is not None]
    skipped = tuple(q.id for q in questions if q.id in answers and answers[q.id] is SKIPPED)
    score = None
    band = None
    assessment = None
    band_suggestions: tuple[str, ...] = ()
    if len(answered) >= field.min_answered:
        score = score_of(questionnaire, questions, answers)
    if score is not None:
        band = questionnaire.band_for(score)
        chosen = field.assessments[band.id]
        assessment = chosen.text
        band_suggestions = tuple(chosen.suggestions)
    return FieldResult(
        field_id=field.id,
        title=field.title,
        total=len(questions),
        answered=len(answered),
        skipped=len(skipped),
        score=score,
        band=band,
        assessment=assessment,
        gap_suggestions=_gap_suggestions(questionnaire, answered, answers),
        band_suggestions=band_suggestions,
        skipped_question_ids=skipped,
    )


def assess_all(questionnaire: Questionnaire, answers: Answers) -> tuple[FieldResult, ...]:
    return tuple(assess_field(questionnaire, f.id, answers) for f in questionnaire.fields)


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
