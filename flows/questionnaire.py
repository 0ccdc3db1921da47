"""The questionnaire model: typed, immutable, validated content of a self-check.

The YAML file is parsed into these models (see `flows.loading`); everything else in the product
reads the questionnaire only through them, so content errors are caught once, at load time.
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from typing import Annotated

from annotated_types import Ge, Len
from pydantic import BaseModel, ConfigDict, StringConstraints

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=48)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Model(BaseModel):
    """Base for all content models: immutable and strict about unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(Model):
    """One step of the answer scale, worth `points`."""

    id: Id
    label: Text
    points: int


class Scale(Model):
    """The answer scale shared by all questions, ordered from best to worst."""

    options: Annotated[list[Option], Len(2, 6)]
    skip_label: Text
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


class Band(Model):
    """A range of field scores (inclusive integers) that shares one assessment."""

    id: Id
    label: Text
    min: int
    max: int

    def contains(self, score: int) -> bool:
        return self.min <= score <= self.max


class Perspective(Model):
    """The angle from which a participant answers (administration, politics, ...)."""

    id: Id
    label: Text


class Subtheme(Model):
    id: Id
    title: Text


class Assessment(Model):
    """What a field's band means for the municipality and how to go on from there."""

    text: Text
    suggestions: Annotated[list[Text], Len(2, 4)]


class Field(Model):
    """A field of action (Handlungsfeld)."""

    id: Id
    title: Text
    introduction: Text
    min_answered: Annotated[int, Ge(1)]
    subthemes: list[Subtheme] = []
    assessments: dict[str, Assessment]

    def subtheme(self, subtheme_id: str | None) -> Subtheme | None:
        return next((s for s in self.subthemes if s.id == subtheme_id), None)


class Question(Model):
    """One concrete statement about the municipality's practice, rated on the scale."""

    id: Id
    field: Id
    subtheme: Id | None = None
    text: Text
    hint: Text | None = None
    suggestion: Text


class Questionnaire(Model):
    """A whole self-check: metadata, scale, bands, fields and their questions."""

    id: Id
    title: Text
    version: Text
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]
    estimated_minutes: Annotated[int, Ge(1)]
    introduction: Text
    scale: Scale
    bands: Annotated[list[Band], Len(3)]
    perspectives: list[Perspective] = []
    fields: Annotated[list[Field], Len(1)]
    questions: Annotated[list[Question], Len(1)]

    @cached_property
    def content_hash(self) -> str:
        """Identifies this exact content; comments and formatting do not change it."""
        # Sorted keys: the order of keys in a mapping (e.g. `assessments`) is formatting too.
        content = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(content.encode()).hexdigest()[:16]

    @cached_property
    def _field_index(self) -> dict[str, Field]:
        return {f.id: f for f in self.fields}

    @cached_property
    def _question_index(self) -> dict[str, int]:
        return {q.id: i for i, q in enumerate(self.questions)}

    @cached_property
    def _questions_by_field(self) -> dict[str, tuple[Question, ...]]:
        return {f.id: tuple(q for q in self.questions if q.field == f.id) for f in self.fields}

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
