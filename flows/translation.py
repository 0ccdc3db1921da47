"""Reading answers given on one questionnaire version in the terms of another.

A group report combines checks that were answered on different versions (a reload between two
participants, or a reload that only renamed the scale's option ids). Each check's answers mean
what its own version says, so before checks are combined they are translated, through their own
version, onto the one version the report is made with:

- an option is the target option at the same place on the scale (points relative to the
  scale's range; "trifft voll zu" stays the top whatever its id or points); where the target
  has no option there, the nearest one, and of two equally near the lower (never flattering);
- "weiß nicht / überspringen" stays skipped; "entfällt" stays where the target question still
  offers it and is skipped otherwise;
- a question the target no longer has is dropped; one it newly has is unanswered, as if
  skipped, so it never adds points nobody gave.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from flows.questionnaire import Questionnaire, Scale
from flows.scoring import NOT_APPLICABLE, SKIPPED


def answers_on(
    target: Questionnaire, source: Questionnaire, answers: Mapping[str, str | None]
) -> dict[str, str | None]:
    """`answers`, given on `source`, as answers to `target`'s questions."""
    if source.content_hash == target.content_hash:
        return dict(answers)
    options = _option_map(source.scale, target.scale)
    translated: dict[str, str | None] = {}
    for question_id, value in answers.items():
        if not target.has_question(question_id):
            continue
        if value is SKIPPED:
            translated[question_id] = SKIPPED
        elif value == NOT_APPLICABLE:
            offers = target.question(question_id).allow_not_applicable
            translated[question_id] = NOT_APPLICABLE if offers else SKIPPED
        elif value in options:
            translated[question_id] = options[value]
        # An id the source scale does not know was never an answer: it stays unanswered.
    return translated


def _option_map(source: Scale, target: Scale) -> dict[str, str]:
    """Each source option id to the target option at the same place on the scale."""
    places = [(_place(target, option.points), option.id) for option in target.options]
    mapping = {}
    for option in source.options:
        place = _place(source, option.points)
        # Nearest place; of two equally near, the lower one.
        mapping[option.id] = min(places, key=lambda item: (abs(item[0] - place), item[0]))[1]
    return mapping


def _place(scale: Scale, points: int) -> Fraction:
    span = scale.max_points - scale.min_points
    return Fraction(points - scale.min_points, span) if span else Fraction(0)
