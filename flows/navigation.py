"""Where a person goes next between fields: a rule of the self-check, not of its rendering.

After a field is finished, the check goes on with the next field that still has open
questions, counting onward from the finished one and wrapping around to the first.
"""

from __future__ import annotations

from collections.abc import Mapping

from flows.questionnaire import Questionnaire


def next_open_field(
    questionnaire: Questionnaire, answers: Mapping[str, str | None], after: str
) -> str | None:
    """The id of the next field with an open question after field `after`; None if none."""
    ids = [field.id for field in questionnaire.fields]
    start = ids.index(after)
    for field_id in ids[start + 1 :] + ids[:start]:
        if any(q.id not in answers for q in questionnaire.field_questions(field_id)):
            return field_id
    return None
