"""Turn questionnaire YAML text into a validated `Questionnaire`, or into plain-worded problems.

Pure: takes text, not paths, so the bot, the CLI and tests share it. Every problem names the
source, the path inside the document and, where the YAML allows, the line.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import yaml

from flows.questionnaire import Questionnaire

if TYPE_CHECKING:
    from pydantic import TypeAdapter

Path = tuple[str | int, ...]

# libyaml's parser when PyYAML was built with it (the wheels are): the same safe loading, faster.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a questionnaire file, worded for its author."""

    source: str
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        inside = f" at {self.path}" if self.path else ""
        return f"{where}{inside}: {self.message}"


class QuestionnaireInvalid(Exception):
    """Raised with every problem found, so authors can fix them in one go."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = tuple(problems)


def parse_questionnaire(text: str, source: str = "<questionnaire>") -> Questionnaire:
    """Parse and validate YAML text; raise `QuestionnaireInvalid` listing all problems.

    Returns the questionnaire as its default municipality type sees it, so every caller that
    knows nothing of types gets a complete, resolved check; `.for_type(id)` gives the other
    types and `.document` the file as written.
    """
    try:
        node, data = _compose_and_construct(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        reason = error.problem or str(error)
        raise QuestionnaireInvalid(
            [Problem(source, "", f"YAML syntax error: {reason}", line)]
        ) from None
    except yaml.YAMLError as error:
        raise QuestionnaireInvalid([Problem(source, "", f"YAML error: {error}")]) from None
    if not isinstance(data, dict):
        raise QuestionnaireInvalid(
            [Problem(source, "", "the file must contain a mapping with keys like id, fields")]
        )
    lines = _LineFinder(node)
    from pydantic import ValidationError

    try:
        questionnaire = _validator().validate_python(data)
    except ValidationError as error:
        problems = [_problem_from_pydantic(source, err, data, lines) for err in error.errors()]
        raise QuestionnaireInvalid(problems) from None
    problems = [
        Problem(source, _format_path(path), message, lines.line(path))
        for path, message in check_consistency(questionnaire)
    ]
    if problems:
        raise QuestionnaireInvalid(problems)
    return questionnaire.for_type()


def questionnaire_from_data(data: Any) -> Questionnaire:
    """A questionnaire from already parsed data, validated by the schema (for tools and tests
    that build variants of a document); raises pydantic's `ValidationError`."""
    return _validator().validate_python(data)


def prepare_validator() -> None:
    """Build the validator now (importing pydantic), so the first validation is not slower."""
    _validator()


@cache
def _validator() -> TypeAdapter[Questionnaire]:
    """pydantic's validator for the questionnaire dataclasses, built on first use.

    Imported here, not at module level: a process that only serves answers from questionnaires
    validated elsewhere (`bot.store.validation`) never loads pydantic (issue 15).
    """
    from pydantic import TypeAdapter

    return TypeAdapter(Questionnaire)


def _compose_and_construct(text: str) -> tuple[yaml.Node | None, object]:
    """One safe parse yields both the node tree (for line numbers) and the data."""
    loader = _SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return node, data


def check_consistency(q: Questionnaire) -> list[tuple[Path, str]]:
    """Cross-references the schema cannot express: ids, bands, minimums, field links."""
    problems: list[tuple[Path, str]] = []
    problems += _duplicates("fields", [f.id for f in q.fields], "field")
    problems += _duplicates("questions", [x.id for x in q.questions], "question")
    problems += _duplicates(("scale", "options"), [o.id for o in q.scale.options], "option")
    problems += _duplicates("bands", [b.id for b in q.bands], "band")
    problems += _duplicates("perspectives", [p.id for p in q.perspectives], "perspective")
    problems += _check_bands(q)
    points = [o.points for o in q.scale.options]
    if len(set(points)) < 2:
        problems.append((("scale", "options"), "options must not all be worth the same points"))
    if any(p < 0 for p in points):
        problems.append((("scale", "options"), "points must not be negative"))
    if not min(points) <= q.scale.low_answer_max_points < max(points):
        problems.append(
            (
                ("scale", "low_answer_max_points"),
                f"must be at least {min(points)} and below {max(points)}, "
                f"got {q.scale.low_answer_max_points}",
            )
        )
    field_ids = {f.id for f in q.fields}
    band_ids = [b.id for b in q.bands]
    for i, field in enumerate(q.fields):
        problems += _duplicates(
            ("fields", i, "subthemes"), [s.id for s in field.subthemes], "subtheme"
        )
        for band_id in band_ids:
            if band_id not in field.assessments:
                problems.append(
                    (("fields", i, "assessments"), f"missing the assessment for band '{band_id}'")
                )
        for key in field.assessments:
            if key not in band_ids:
                problems.append(
                    (
                        ("fields", i, "assessments", key),
                        f"'{key}' is not a band id ({', '.join(band_ids)})",
                    )
                )
    for i, question in enumerate(q.questions):
        if question.field not in field_ids:
            problems.append(
                (
                    ("questions", i, "field"),
                    f"question '{question.id}' points at unknown field '{question.field}'",
                )
            )
        elif (
            question.subtheme is not None
            and q.field(question.field).subtheme(question.subtheme) is None
        ):
            problems.append(
                (
                    ("questions", i, "subtheme"),
                    f"question '{question.id}' points at unknown subtheme '{question.subtheme}' "
                    f"of field '{question.field}'",
                )
            )
    problems += _check_types(q)
    problems += _check_band_suggestions(q)
    type_ids: list[str | None] = [t.id for t in q.municipality_types] or [None]
    for i, field in enumerate(q.fields):
        counts = {
            type_id: sum(1 for x in q.questions if x.field == field.id and x.applies(type_id))
            for type_id in type_ids
        }
        for type_id, count in counts.items():
            kind = q.municipality_type_by_id(type_id)
            # Name the type only where types differ; one problem for all types is said once.
            if len(set(counts.values())) == 1:
                if type_id != type_ids[0]:
                    continue
                kind = None
            for_whom = f" for '{kind.label}'" if kind else ""
            if count == 0:
                problems.append((("fields", i), f"field '{field.id}' has no questions{for_whom}"))
            elif field.min_answered > count:
                problems.append(
                    (
                        ("fields", i, "min_answered"),
                        f"field '{field.id}' has {count} questions{for_whom}, fewer than its "
                        f"minimum of {field.min_answered} answered questions",
                    )
                )
    return problems


def _check_types(q: Questionnaire) -> list[tuple[Path, str]]:
    """Municipality types, their terms and placeholders, and who each question applies to."""
    problems = _duplicates(
        "municipality_types", [t.id for t in q.municipality_types], "municipality type"
    )
    type_ids = [t.id for t in q.municipality_types]
    known = ", ".join(type_ids)
    if not type_ids:
        if q.default_municipality_type is not None:
            problems.append((("default_municipality_type",), "no municipality_types are declared"))
        if q.terms:
            problems.append((("terms",), "terms need municipality_types to choose from"))
    elif q.default_municipality_type is not None and q.default_municipality_type not in type_ids:
        problems.append(
            (
                ("default_municipality_type",),
                f"'{q.default_municipality_type}' is not a municipality type ({known})",
            )
        )
    for name, wording in q.terms.items():
        for type_id in type_ids:
            if type_id not in wording:
                problems.append(
                    (("terms", name), f"term '{name}' has no wording for type '{type_id}'")
                )
        for type_id in wording:
            if type_id not in type_ids:
                problems.append(
                    (
                        ("terms", name, type_id),
                        f"'{type_id}' is not a municipality type ({known or 'none declared'})",
                    )
                )
    for name, path in q.placeholders():
        if name not in q.terms:
            hint = f" (terms: {', '.join(sorted(q.terms))})" if q.terms else ""
            problems.append((path, f"unknown term '{{{name}}}'{hint}"))
    for i, question in enumerate(q.questions):
        if question.applies_to is None:
            pass
        elif not type_ids:
            problems.append((("questions", i, "applies_to"), "applies_to needs municipality_types"))
        elif not question.applies_to:
            problems.append(
                (("questions", i, "applies_to"), "applies_to must name at least one type")
            )
        else:
            for j, type_id in enumerate(question.applies_to):
                if type_id not in type_ids:
                    problems.append(
                        (
                            ("questions", i, "applies_to", j),
                            f"'{type_id}' is not a municipality type ({known})",
                        )
                    )
        if question.allow_not_applicable and q.scale.not_applicable_label is None:
            problems.append(
                (
                    ("questions", i, "allow_not_applicable"),
                    'add scale.not_applicable_label (e.g. "entfällt bei uns / nicht '
                    'zuständig") before a question offers it',
                )
            )
    return problems


def _check_band_suggestions(q: Questionnaire) -> list[tuple[Path, str]]:
    """`builds_on` and `covers` must name questions of the suggestion's own field."""
    problems: list[tuple[Path, str]] = []
    for i, field in enumerate(q.fields):
        own = {x.id for x in q.questions if x.field == field.id}
        for band_id, assessment in field.assessments.items():
            for j, suggestion in enumerate(assessment.band_suggestions()):
                for key in ("builds_on", "covers"):
                    for k, question_id in enumerate(getattr(suggestion, key)):
                        if question_id not in own:
                            problems.append(
                                (
                                    ("fields", i, "assessments", band_id, "suggestions", j, key, k),
                                    f"'{question_id}' is not a question of field '{field.id}'",
                                )
                            )
    return problems


def _duplicates(path: str | Path, ids: Iterable[str], kind: str) -> list[tuple[Path, str]]:
    base: Path = (path,) if isinstance(path, str) else path
    ids = list(ids)
    problems = []
    for value, count in Counter(ids).items():
        if count > 1:
            index = [i for i, x in enumerate(ids) if x == value][1]
            problems.append(((*base, index, "id"), f"duplicate {kind} id '{value}'"))
    return problems


def _check_bands(q: Questionnaire) -> list[tuple[Path, str]]:
    problems: list[tuple[Path, str]] = []
    for i, band in enumerate(q.bands):
        if band.min > band.max:
            problems.append(
                (("bands", i), f"band '{band.id}' starts at {band.min} but ends at {band.max}")
            )
    ordered = sorted(q.bands, key=lambda b: (b.min, b.max))
    if ordered[0].min != 0:
        problems.append((("bands",), f"scores 0–{ordered[0].min - 1} are not covered by any band"))
    if ordered[-1].max != 100:
        problems.append(
            (("bands",), f"scores {ordered[-1].max + 1}–100 are not covered by any band")
        )
    for left, right in itertools.pairwise(ordered):
        if right.min > left.max + 1:
            problems.append(
                (
                    ("bands",),
                    f"gap: scores {left.max + 1}–{right.min - 1} are not covered by any band",
                )
            )
        elif right.min <= left.max:
            problems.append(
                (
                    ("bands",),
                    f"bands '{left.id}' and '{right.id}' overlap at scores "
                    f"{right.min}–{min(left.max, right.max)}",
                )
            )
    return problems


_PYDANTIC_MESSAGES = {
    "missing": "missing required key",
    "extra_forbidden": "unknown key",
    "unexpected_keyword_argument": "unknown key",
    "string_type": "expected text",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "list_type": "expected a list",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
    "dataclass_type": "expected a mapping",
    "string_too_short": "text must not be empty",
    "string_pattern_mismatch": "ids may use only lowercase letters, digits, '_', '.' and '-'",
    "string_too_long": "too long",
    "too_short": "too few entries",
    "too_long": "too many entries",
    "greater_than_equal": "must be at least 1",
}


def _problem_from_pydantic(source: str, err: dict, data: dict, lines: _LineFinder) -> Problem:
    path: Path = tuple(err["loc"])
    kind = err["type"]
    key = path[-1] if path else ""
    if kind == "missing":
        message = f"missing required key '{key}'"
        if key == "points":
            message = "option without points: add 'points' (a whole number)"
        elif key in {"text", "label", "title", "introduction", "suggestion", "skip_label"}:
            message = f"missing text: add '{key}'"
        line = lines.line(path[:-1])
    elif kind in {"extra_forbidden", "unexpected_keyword_argument"}:
        message = f"unknown key '{key}'"
        line = lines.line(path)
    else:
        base = _PYDANTIC_MESSAGES.get(kind, err["msg"])
        if kind in {"too_short", "too_long"}:
            base = f"{base}: {err['msg'].split(', ')[0].lower()}"
        elif kind == "greater_than_equal":
            base = f"must be at least {err.get('ctx', {}).get('ge', 1)}"
        elif kind == "less_than_equal":
            base = f"must be at most {err.get('ctx', {}).get('le')}"
        message = base
        line = lines.line(path)
    return Problem(source, _format_path(path), message, line)


def _format_path(path: Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class _LineFinder:
    """Maps a document path to its 1-based line using the composed YAML node tree."""

    def __init__(self, root: yaml.Node | None) -> None:
        self.root = root

    def line(self, path: Path) -> int | None:
        node = self.root
        if node is None:
            return None
        for part in path:
            child = self._child(node, part)
            if child is None:
                break
            node = child
        return node.start_mark.line + 1

    @staticmethod
    def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    return value
        if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            return node.value[part]
        return None
