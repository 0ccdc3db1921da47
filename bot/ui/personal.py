"""A person's own data as documents (`/meinedaten`): readable text and JSON, pure.

Both are built from the same sections the store returns (`bot.store.personal`), with the
question text, field title and answer label next to every stored id, so the person can read
what they answered without the questionnaire at hand. Words come from `bot/locale/de.yaml`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.ui.texts import Texts
from flows.questionnaire import Questionnaire
from flows.scoring import NOT_APPLICABLE


def answer_label(t: Texts, q: Questionnaire | None, option_id: str | None) -> str:
    """What an answer means in words: the option's label, "übersprungen" or "entfällt"."""
    if option_id is None:
        return t.plain("answer_skipped")
    if option_id == NOT_APPLICABLE:
        return t.plain("answer_not_applicable")
    if q is not None:
        for option in q.scale.options:
            if option.id == option_id:
                return option.label
    return option_id


def question_words(q: Questionnaire | None, question_id: str) -> tuple[str, str]:
    """(field title, question text) of a question id, empty where the version lacks it."""
    if q is None or not q.has_question(question_id):
        return "", ""
    question = q.question(question_id)
    return q.field(question.field).title, question.text


def explained(
    t: Texts,
    data: Mapping[str, list[dict[str, Any]]],
    versions: Mapping[int, Questionnaire | None],
) -> dict[str, list[dict[str, Any]]]:
    """The sections with words beside the ids; `versions` maps session id to its questionnaire."""
    answers = []
    for row in data["answers"]:
        q = versions.get(row["session_id"])
        field, text = question_words(q, row["question_id"])
        answers.append(
            {
                **row,
                "field": field,
                "question": text,
                "answer": answer_label(t, q, row["option_id"]),
            }
        )
    return {**data, "answers": answers}


def as_json(sections: Mapping[str, list[dict[str, Any]]], now: datetime) -> bytes:
    return json.dumps(
        {"created_at": now.isoformat(timespec="seconds"), **sections},
        ensure_ascii=False,
        indent=2,
    ).encode()


def as_text(t: Texts, sections: Mapping[str, list[dict[str, Any]]], now: datetime) -> bytes:
    """The readable document: one heading per section, one line per stored fact."""
    words = t.section("personal_data")
    lines = [words["title"].format(date=now.strftime("%d.%m.%Y")), ""]
    for section, rows in sections.items():
        lines.append(words["sections"][section])
        if not rows:
            lines.append("  " + words["none"])
        for row in rows:
            if section == "answers":
                lines.append(words["answer_line"].format(**row))
                continue
            labels = words["columns"]
            items = [f"{labels.get(key, key)}: {value}" for key, value in row.items()]
            lines.append("  " + " · ".join(items))
        lines.append("")
    return "\n".join(lines).encode()
