"""Command-line tools for questionnaire authors: validate files and preview their content."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import TextIO

from bot.store.content import DEFAULT_QUESTIONNAIRE, load_questionnaire, questionnaire_files
from flows.loading import QuestionnaireInvalid
from flows.questionnaire import Questionnaire


def validate(paths: list[str], out: TextIO = sys.stdout) -> int:
    """Print one summary line per valid file and every problem of invalid ones."""
    files = questionnaire_files(paths)
    if not files:
        print("no questionnaire files found", file=out)
        return 1
    failed = False
    for path in files:
        shown = _relative(path)
        try:
            questionnaire, _ = load_questionnaire(path)
        except QuestionnaireInvalid as error:
            failed = True
            print(f"{shown}: INVALID — {len(error.problems)} problem(s)", file=out)
            for problem in error.problems:
                print(f"  {problem}", file=out)
            continue
        print(f"{shown}: OK — {summary(questionnaire)}", file=out)
    return 1 if failed else 0


def summary(questionnaire: Questionnaire) -> str:
    """Fields and questions, per municipality type when the file declares types."""
    document = questionnaire.document
    fields = f"{len(document.fields)} fields"
    if not document.municipality_types:
        return f"{fields}, {len(document.questions)} questions"
    counts = ", ".join(
        f"{t.label} {len(document.for_type(t.id).questions)}" for t in document.municipality_types
    )
    return f"{fields}; {counts} questions"


def find_type(questionnaire: Questionnaire, wanted: str | None) -> str | None:
    """A type id from an id, a label or a word of a label that names one type only."""
    if wanted is None:
        return None
    types = questionnaire.document.municipality_types
    key = wanted.casefold()
    exact = [t.id for t in types if key in {t.id, t.label.casefold()}]
    if exact:
        return exact[0]
    by_word = [t.id for t in types if key in t.label.casefold().replace("/", " ").split()]
    if len(by_word) == 1:
        return by_word[0]
    known = ", ".join(f"{t.id} ({t.label})" for t in types) or "none declared"
    raise LookupError(f"unknown municipality type '{wanted}'; types: {known}")


def _relative(path: Path) -> Path:
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def preview(
    path: str | None, out: TextIO = sys.stdout, municipality_type: str | None = None
) -> int:
    """Print what one municipality type sees, so its content can be reviewed in one read."""
    try:
        questionnaire, _ = load_questionnaire(
            questionnaire_files([path])[0] if path else DEFAULT_QUESTIONNAIRE
        )
        questionnaire = questionnaire.for_type(find_type(questionnaire, municipality_type))
    except QuestionnaireInvalid as error:
        for problem in error.problems:
            print(problem, file=out)
        return 1
    except LookupError as error:
        print(error.args[0], file=out)
        return 1
    out.write(render_preview(questionnaire))
    return 0


def render_preview(q: Questionnaire) -> str:
    wrap = textwrap.TextWrapper(width=88, subsequent_indent="      ")
    kind = q.municipality_type
    rules = q.result_rules
    lines = [
        f"{q.title}" + (f" — für: {kind.label} [{kind.id}]" if kind else ""),
        f"id {q.id} · version {q.version} · {q.language} · ca. {q.estimated_minutes} min · "
        f"{len(q.fields)} fields · {len(q.questions)} questions · hash {q.content_hash}",
        "",
        textwrap.fill(q.introduction, 88),
        "",
        "Scale: "
        + " | ".join(f"{o.label} ({o.points})" for o in q.scale.options)
        + f" | {q.scale.skip_label} (not counted)"
        + (
            f" | {q.scale.not_applicable_label} (where marked [+entfällt]; not applicable)"
            if q.scale.not_applicable_label
            else ""
        ),
        f"Question suggestions apply to answers worth ≤ {q.scale.low_answer_max_points} points.",
        "Bands: " + " | ".join(f"{b.label} {b.min}–{b.max}" for b in q.bands),
        f"Assessment needs {rules.min_answered_percent} % of the applicable questions answered"
        f" (fields with subthemes: answers in {rules.min_subthemes_percent} % of them).",
        "Perspectives: " + ", ".join(p.label for p in q.perspectives),
    ]
    for number, field in enumerate(q.fields, start=1):
        questions = q.field_questions(field.id)
        minimum = max(field.min_answered, -(-len(questions) * rules.min_answered_percent // 100))
        lines += [
            "",
            "=" * 88,
            f"{number}. {field.title}  [{field.id}] — {len(questions)} questions, "
            f"assessment from {minimum} answers",
            "=" * 88,
            textwrap.fill(field.introduction, 88),
            "",
        ]
        subtheme = None
        for index, question in enumerate(questions, start=1):
            if question.subtheme != subtheme and question.subtheme:
                subtheme = question.subtheme
                named = field.subtheme(subtheme)
                lines.append(f"  — {named.title if named else subtheme} —")
            extra = " [+entfällt]" if question.allow_not_applicable else ""
            topic = f"{question.topic}: " if question.topic else ""
            lines.append(wrap.fill(f"  {index:>2}. {topic}{question.text}  [{question.id}]{extra}"))
            if question.hint:
                lines.append(wrap.fill(f"      Hinweis: {question.hint}"))
            lines.append(wrap.fill(f"      Anregung bei niedriger Antwort: {question.suggestion}"))
        for band in q.bands:
            assessment = field.assessments[band.id]
            lines += [
                "",
                f"  [{band.label} {band.min}–{band.max}]",
                wrap.fill(f"    {assessment.text}"),
            ]
            for suggestion in assessment.band_suggestions():
                conditions = [
                    f"{label} {', '.join(ids)}"
                    for label, ids in (
                        ("only if answered well:", suggestion.builds_on),
                        ("left out when suggested for:", suggestion.covers),
                    )
                    if ids
                ]
                note = f"  ({'; '.join(conditions)})" if conditions else ""
                lines.append(wrap.fill(f"    • {suggestion.text}{note}"))
    return "\n".join(lines) + "\n"
