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
        print(
            f"{shown}: OK — {len(questionnaire.fields)} fields, "
            f"{len(questionnaire.questions)} questions",
            file=out,
        )
    return 1 if failed else 0


def _relative(path: Path) -> Path:
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def preview(path: str | None, out: TextIO = sys.stdout) -> int:
    """Print the whole questionnaire so its content can be reviewed in one read."""
    try:
        questionnaire, _ = load_questionnaire(
            questionnaire_files([path])[0] if path else DEFAULT_QUESTIONNAIRE
        )
    except QuestionnaireInvalid as error:
        for problem in error.problems:
            print(problem, file=out)
        return 1
    out.write(render_preview(questionnaire))
    return 0


def render_preview(q: Questionnaire) -> str:
    wrap = textwrap.TextWrapper(width=88, subsequent_indent="      ")
    lines = [
        f"{q.title}",
        f"id {q.id} · version {q.version} · {q.language} · ca. {q.estimated_minutes} min · "
        f"{len(q.fields)} fields · {len(q.questions)} questions · hash {q.content_hash}",
        "",
        textwrap.fill(q.introduction, 88),
        "",
        "Scale: "
        + " | ".join(f"{o.label} ({o.points})" for o in q.scale.options)
        + f" | {q.scale.skip_label} (not counted)",
        f"Question suggestions apply to answers worth ≤ {q.scale.low_answer_max_points} points.",
        "Bands: " + " | ".join(f"{b.label} {b.min}–{b.max}" for b in q.bands),
        "Perspectives: " + ", ".join(p.label for p in q.perspectives),
    ]
    for number, field in enumerate(q.fields, start=1):
        questions = q.field_questions(field.id)
        lines += [
            "",
            "=" * 88,
            f"{number}. {field.title}  [{field.id}] — {len(questions)} questions, "
            f"assessment from {field.min_answered} answers",
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
            lines.append(wrap.fill(f"  {index:>2}. {question.text}  [{question.id}]"))
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
            lines += [wrap.fill(f"    • {s}") for s in assessment.suggestions]
    return "\n".join(lines) + "\n"
