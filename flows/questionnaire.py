"""The questionnaire model: typed, immutable, validated content of a self-check.

The YAML file is parsed into these models (see `flows.loading`); everything else in the product
reads the questionnaire only through them, so content errors are caught once, at load time.

One file serves several kinds of municipality (kreisfreie Stadt, Landkreis, Gemeinde). The file
as written is the *document*: it holds every question and texts with term placeholders such as
`{council}`. What a person answers is the document seen by one municipality type
(`Questionnaire.for_type`): only the questions that apply to that type, every placeholder
replaced by the type's wording, and a content hash of its own. Session, scoring, rendering and
aggregation work on that derived questionnaire exactly as on any other, so they need not know
about types at all.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from functools import cached_property
from typing import Annotated, Any, ClassVar

from annotated_types import Ge, Le, Len, MaxLen, MinLen


class Stripped:
    """Constraint for pydantic: leading and trailing whitespace is removed before any other
    check, so a text of blanks counts as empty. Read only when `flows.loading` validates."""

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        schema = handler(source)
        schema["strip_whitespace"] = True
        return schema


class Pattern:
    """Constraint for pydantic: the text must match `regex` (pydantic's own pattern check and
    its error, without importing pydantic here)."""

    def __init__(self, regex: str) -> None:
        self.regex = regex

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        schema = handler(source)
        schema["pattern"] = self.regex
        return schema


Id = Annotated[str, Pattern(r"^[a-z0-9][a-z0-9_.-]*$"), MaxLen(48)]
Text = Annotated[str, Stripped(), MinLen(1)]


class Model:
    """Base for all content types: plain frozen dataclasses with keyword-only fields, strict
    about unknown keys.

    Why not pydantic models: the process that serves answers reads the questionnaire millions
    of times and validates it once. pydantic with its machinery costs that process about 9 MiB
    (issue 15), so it validates only in `flows.loading` (imported there on first use), which
    builds these dataclasses; the constraints above are metadata pydantic reads from the type
    hints. `__pydantic_config__` is how pydantic takes a stdlib dataclass's settings.
    """

    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}


@dataclass(frozen=True, kw_only=True)
class Option(Model):
    """One step of the answer scale, worth `points`."""

    id: Id
    label: Text
    points: int


@dataclass(frozen=True, kw_only=True)
class Scale(Model):
    """The answer scale shared by all questions, ordered from best to worst."""

    options: Annotated[list[Option], Len(2, 6)]
    skip_label: Text
    not_applicable_label: Text | None = None
    """The label of "entfällt bei uns / nicht zuständig"; needed once a question offers it."""
    low_answer_max_points: int

    @cached_property
    def max_points(self) -> int:
        return max(option.points for option in self.options)

    @cached_property
    def min_points(self) -> int:
        return min(option.points for option in self.options)

    @cached_property
    def _options_by_id(self) -> dict[str, Option]:
        return {o.id: o for o in self.options}

    def option(self, option_id: str | None) -> Option | None:
        """The option with this id; None for anything else (skipped, unknown, forged)."""
        return self._options_by_id.get(option_id) if option_id is not None else None


@dataclass(frozen=True, kw_only=True)
class Band(Model):
    """A range of field scores (inclusive integers) that shares one assessment."""

    id: Id
    label: Text
    min: int
    max: int

    def contains(self, score: int) -> bool:
        return self.min <= score <= self.max


@dataclass(frozen=True, kw_only=True)
class Perspective(Model):
    """The angle from which a participant answers (administration, politics, ...)."""

    id: Id
    label: Text


@dataclass(frozen=True, kw_only=True)
class Subtheme(Model):
    id: Id
    title: Text


@dataclass(frozen=True, kw_only=True)
class BandSuggestion(Model):
    """A band-level suggestion that depends on the person's answers.

    `builds_on`: questions whose practice the suggestion extends ("Erweitern Sie den
    Diversity-Check ..."); shown only when each of them was answered above the low answers, so
    the bot never suggests extending what the person said does not exist. `covers`: questions
    whose own suggestion says the same; left out when one of those is already suggested.
    """

    text: Text
    builds_on: list[Id] = field(default_factory=list)
    covers: list[Id] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class Assessment(Model):
    """What a field's band means for the municipality and how to go on from there."""

    text: Text
    suggestions: Annotated[list[Text | BandSuggestion], Len(2, 4)]

    def band_suggestions(self) -> tuple[BandSuggestion, ...]:
        """Every suggestion in one form, plain texts as suggestions without conditions."""
        return tuple(
            s if isinstance(s, BandSuggestion) else BandSuggestion(text=s) for s in self.suggestions
        )


@dataclass(frozen=True, kw_only=True)
class Field(Model):
    """A field of action (Handlungsfeld)."""

    id: Id
    title: Text
    introduction: Text
    min_answered: Annotated[int, Ge(1)] = 1
    """An absolute floor of answered questions; `ResultRules` adds the share of applicable ones."""
    subthemes: list[Subtheme] = field(default_factory=list)
    assessments: dict[str, Assessment]

    def subtheme(self, subtheme_id: str | None) -> Subtheme | None:
        return next((s for s in self.subthemes if s.id == subtheme_id), None)


@dataclass(frozen=True, kw_only=True)
class Question(Model):
    """One concrete statement about the municipality's practice, rated on the scale."""

    id: Id
    field: Id
    subtheme: Id | None = None
    topic: Text | None = None
    """A short name of the practice (a few words) for naming strengths and weaknesses."""
    applies_to: list[Id] | None = None
    """Municipality type ids this question is asked for; None: every type."""
    allow_not_applicable: bool = False
    """Offers "entfällt bei uns / nicht zuständig" (for offices or bodies many do not have)."""
    text: Text
    hint: Text | None = None
    suggestion: Text

    @property
    def short(self) -> str:
        """The topic, or the statement itself when the author gave no topic."""
        return self.topic or self.text

    def applies(self, type_id: str | None) -> bool:
        return type_id is None or self.applies_to is None or type_id in self.applies_to


@dataclass(frozen=True, kw_only=True)
class MunicipalityType(Model):
    """A kind of municipality the check serves; questions and wording can differ per type."""

    id: Id
    label: Text


@dataclass(frozen=True, kw_only=True)
class ResultRules(Model):
    """When a field gets an assessment at all (beyond each field's `min_answered`).

    A field needs `min_answered_percent` of its applicable questions answered (questions marked
    "entfällt" are not applicable), and a field with subthemes needs answers in
    `min_subthemes_percent` of the subthemes that still have applicable questions.
    """

    min_answered_percent: Annotated[int, Ge(0), Le(100)] = 0
    min_subthemes_percent: Annotated[int, Ge(0), Le(100)] = 0
    named_items: Annotated[int, Ge(0), Le(5)] = 2
    """How many strongest and weakest items a field result names."""


PLACEHOLDER = re.compile(r"\{([a-z0-9_]+)\}")
"""A term placeholder in a text, e.g. `{council}`; resolved per municipality type."""


@dataclass(frozen=True, kw_only=True)
class Questionnaire(Model):
    """A whole self-check: metadata, scale, bands, fields and their questions."""

    id: Id
    title: Text
    version: Text
    language: Annotated[str, Pattern(r"^[a-z]{2}$")]
    estimated_minutes: Annotated[int, Ge(1)]
    introduction: Text
    scale: Scale
    bands: Annotated[list[Band], Len(3)]
    perspectives: list[Perspective] = field(default_factory=list)
    municipality_types: list[MunicipalityType] = field(default_factory=list)
    default_municipality_type: Id | None = None
    terms: dict[Id, dict[Id, Text]] = field(default_factory=dict)
    """Placeholder name -> municipality type id -> wording, e.g. council: {district: Kreistag}."""
    result_rules: ResultRules = field(default_factory=lambda: ResultRules())
    fields: Annotated[list[Field], Len(1)]
    questions: Annotated[list[Question], Len(1)]

    # Per instance, but not fields (never compared, dumped or hashed), hence declared as
    # ClassVar for the type checker and set in `__post_init__`: on a questionnaire derived with
    # `for_type` its type and the document it came from; `_derived` caches a document's types.
    _type: ClassVar[str | None]
    _document: ClassVar[Questionnaire | None]
    _derived: ClassVar[dict[str, Questionnaire]]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_type", None)
        object.__setattr__(self, "_document", None)
        object.__setattr__(self, "_derived", {})

    @cached_property
    def content_hash(self) -> str:
        """Identifies this exact content; comments and formatting do not change it.

        A derived questionnaire combines its document's hash with its type, so one stored
        source text and a type id are enough to find the same content again.
        """
        if self._document is not None:
            key = f"{self._document.content_hash}:{self._type}"
            return hashlib.sha256(key.encode()).hexdigest()[:16]
        # Sorted keys: the order of keys in a mapping (e.g. `assessments`) is formatting too.
        content = json.dumps(_hashed(self), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(content.encode()).hexdigest()[:16]

    # Municipality types ---------------------------------------------------------------------

    @property
    def municipality_type(self) -> MunicipalityType | None:
        """The type this questionnaire was derived for; None for a document or a typeless file."""
        return self.municipality_type_by_id(self._type) if self._type else None

    @property
    def document(self) -> Questionnaire:
        """The questionnaire as written in its file, with every type's questions."""
        return self._document or self

    def municipality_type_by_id(self, type_id: str | None) -> MunicipalityType | None:
        return self._types_by_id.get(type_id) if type_id is not None else None

    @cached_property
    def _types_by_id(self) -> dict[str, MunicipalityType]:
        return {t.id: t for t in self.municipality_types}

    def for_type(self, type_id: str | None = None) -> Questionnaire:
        """The questionnaire one municipality type answers (None: the default type).

        Only the questions that apply, every `{term}` replaced by the type's wording. A file
        without municipality types has one implicit type and returns itself. Answers stored for
        questions that do not apply stay where they are; the derived questionnaire just does
        not ask for them, so scoring and progress ignore them.
        """
        document = self.document
        if not document.municipality_types:
            return document
        chosen = type_id or document.default_municipality_type or document.municipality_types[0].id
        if document.municipality_type_by_id(chosen) is None:
            raise KeyError(f"unknown municipality type '{chosen}'")
        if chosen == self._type:
            return self
        cached = document._derived.get(chosen)
        if cached is None:
            cached = document._derive(chosen)
            document._derived[chosen] = cached
        return cached

    def variants(self) -> tuple[Questionnaire, ...]:
        """The questionnaire of every municipality type, in declared order (itself if typeless).

        A store that keeps sources by content hash registers each variant's hash, so a session
        that stored the hash of its type finds its content again after a restart.
        """
        document = self.document
        if not document.municipality_types:
            return (document,)
        return tuple(document.for_type(t.id) for t in document.municipality_types)

    def _derive(self, type_id: str) -> Questionnaire:
        questions = [q for q in self.questions if q.applies(type_id)]
        estimated = self.estimated_minutes
        default = self.default_municipality_type or self.municipality_types[0].id
        default_count = sum(1 for q in self.questions if q.applies(default))
        if default_count:
            estimated = max(1, round(self.estimated_minutes * len(questions) / default_count))
        terms = {name: wording[type_id] for name, wording in self.terms.items()}
        derived: Questionnaire = _resolve(
            replace(self, questions=questions, estimated_minutes=estimated), terms
        )
        object.__setattr__(derived, "_type", type_id)
        object.__setattr__(derived, "_document", self)
        return derived

    def placeholders(self) -> list[tuple[str, tuple[str | int, ...]]]:
        """Every placeholder used in the texts with the path where it occurs (for validation)."""
        found: list[tuple[str, tuple[str | int, ...]]] = []
        data = asdict(self)
        del data["terms"]
        _collect(data, (), found)
        return found

    @cached_property
    def _field_index(self) -> dict[str, Field]:
        return {f.id: f for f in self.fields}

    @cached_property
    def _question_index(self) -> dict[str, int]:
        return {q.id: i for i, q in enumerate(self.questions)}

    @cached_property
    def _questions_by_field(self) -> dict[str, tuple[Question, ...]]:
        return {f.id: tuple(q for q in self.questions if q.field == f.id) for f in self.fields}

    @cached_property
    def question_ids(self) -> frozenset[str]:
        """Every question's id: progress and completeness are set operations on it (each
        answer asks them; a loop over a hundred questions in Python was a tenth of its work)."""
        return frozenset(self._question_index)

    @cached_property
    def _field_question_ids(self) -> dict[str, frozenset[str]]:
        return {
            field_id: frozenset(q.id for q in questions)
            for field_id, questions in self._questions_by_field.items()
        }

    def field_question_ids(self, field_id: str) -> frozenset[str]:
        return self._field_question_ids[field_id]

    def field(self, field_id: str) -> Field:
        return self._field_index[field_id]

    def has_field(self, field_id: str) -> bool:
        return field_id in self._field_index

    def question(self, question_id: str) -> Question:
        return self.questions[self._question_index[question_id]]

    def has_question(self, question_id: str) -> bool:
        return question_id in self._question_index

    def question_number(self, question_id: str) -> int:
        """Position in the whole questionnaire, 0-based; compact handle for button data."""
        return self._question_index[question_id]

    def field_questions(self, field_id: str) -> tuple[Question, ...]:
        return self._questions_by_field[field_id]

    def field_number(self, field_id: str) -> int:
        return [f.id for f in self.fields].index(field_id)

    def band_for(self, score: int) -> Band:
        return next(b for b in self.bands if b.contains(score))

    def perspective(self, perspective_id: str | None) -> Perspective | None:
        return next((p for p in self.perspectives if p.id == perspective_id), None)


def _resolve(value: Any, terms: dict[str, str]) -> Any:
    """A copy with `{term}` replaced in every text; unknown names stay visible.

    Texts were validated as stripped and non-empty, and terms are such texts too, so the
    resolved texts need no validation again.
    """
    if isinstance(value, str):
        return PLACEHOLDER.sub(lambda m: terms.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [_resolve(v, terms) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, terms) for k, v in value.items()}
    if is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: _resolve(getattr(value, f.name), terms)
            for f in fields(value)
            if f.name != "terms"  # the wordings themselves stay as written, per type
        }
        return replace(value, **changes)
    return value


def _collect(
    value: Any, path: tuple[str | int, ...], found: list[tuple[str, tuple[str | int, ...]]]
) -> None:
    if isinstance(value, str):
        found += [(name, path) for name in PLACEHOLDER.findall(value)]
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _collect(v, (*path, i), found)
    elif isinstance(value, dict):
        for k, v in value.items():
            _collect(v, (*path, k), found)


# Keys added after the first stored versions: left out of the hash while they hold their default,
# so a file written before they existed keeps the hash its sessions were stored under.
_LATER_KEYS: dict[tuple[str, ...], dict[str, Any]] = {
    (): {
        "municipality_types": [],
        "default_municipality_type": None,
        "terms": {},
        "result_rules": asdict(ResultRules()),
    },
    ("scale",): {"not_applicable_label": None},
    ("questions",): {"topic": None, "applies_to": None, "allow_not_applicable": False},
}


def _hashed(q: Questionnaire) -> dict[str, Any]:
    data = asdict(q)  # every value is a str, int, bool, None, list or dict: JSON as it is
    _drop_defaults(data, _LATER_KEYS[()])
    _drop_defaults(data["scale"], _LATER_KEYS[("scale",)])
    for question in data["questions"]:
        _drop_defaults(question, _LATER_KEYS[("questions",)])
    return data


def _drop_defaults(data: dict[str, Any], defaults: dict[str, Any]) -> None:
    for key, default in defaults.items():
        if key in data and data[key] == default:
            del data[key]
