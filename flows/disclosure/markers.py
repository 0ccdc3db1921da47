"""Markers: the opaque tokens a release counts people and answers under.

A marker is "<check id>:<digest of the stored answers it stands for>" (`_markers`), made from
the stored answers only (`Given`), so only a changed answer makes a new unknown. Here too:
reading releases stored in the older marker format (`_upgraded`), and every answer of a
release as points under its answer marker (`Points`), which the answer figures sum.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from flows.aggregation import answer_points
from flows.disclosure.model import MARKERS, Check, Given, Release
from flows.questionnaire import Questionnaire


@dataclass(frozen=True)
class Markers:
    """One check's markers: per field (its field figures) and per question (answer figures)."""

    field: Mapping[str, str]
    answer: Mapping[str, str]

    def all(self) -> set[str]:
        return {*self.field.values(), *self.answer.values()}


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12]


def _markers(
    q: Questionnaire,
    check: Check,
    fields_of: Mapping[str, str] | None = None,
    answers: dict[tuple[str, str | None], str] | None = None,
) -> Markers:
    """The check's markers, from its stored answers only (`Given`).

    A field marker stands for the stored answers to every question its own version puts in the
    field, for every municipality type (so neither the group's type nor a reload changes it); an
    answer marker for one stored answer (question and option), so that editing one answer
    changes only that answer's marker and the field's, and an unchanged answer stays the same
    unknown in every release. A marker changes only with a stored answer; where the group's
    questionnaire then scores the same answers differently, the audit treats old and new value
    as one unknown, which lets it publish less, never more.
    """
    given = check.given or Given(check.answers, q)
    if fields_of is None:
        fields_of = _fields_of(given.questionnaire)
    if answers is None:
        answers = {}
    by_field: dict[str, list[str]] = {}
    for question_id, value in sorted(given.answers.items()):
        field_id = fields_of.get(question_id)
        if field_id is not None:
            by_field.setdefault(field_id, []).append(f"{question_id}={value}")
    prefix = f"{check.check_id}:"
    marks = {}
    # Every stored answer, also those the current type does not ask: a release counted them,
    # and an answer nobody changed must not look changed. The digest of one answer does not
    # depend on the check (the prefix names it), so it is computed once per release for all.
    for pair in given.answers.items():
        digest = answers.get(pair)
        if digest is None:
            digest = answers[pair] = _digest("a", *pair)
        marks[pair[0]] = prefix + digest
    return Markers(
        field={f.id: prefix + _digest("f", f.id, *by_field.get(f.id, ())) for f in q.fields},
        answer=marks,
    )


def _fields_of(questionnaire: Questionnaire) -> dict[str, str]:
    """question id -> field id in the whole document (every municipality type)."""
    return {x.id: x.field for x in questionnaire.document.questions}


def _tokens(q: Questionnaire, checks: Sequence[Check]) -> dict[int, Markers]:
    """check id -> its markers, computed once per release."""
    maps: dict[int, dict[str, str]] = {}
    answers: dict[tuple[str, str | None], str] = {}
    tokens = {}
    for c in checks:
        own = c.given.questionnaire if c.given else q
        fields_of = maps.get(id(own.document))
        if fields_of is None:
            fields_of = maps[id(own.document)] = _fields_of(own)
        tokens[c.check_id] = _markers(q, c, fields_of, answers)
    return tokens


def _upgraded(
    q: Questionnaire, history: Sequence[Release], checks: Sequence[Check]
) -> list[Release]:
    """`history` with the markers of releases stored before answer markers (format 1) read in
    today's format, where they stand for answers the checks still have.

    Format 1 had one marker per check and field, a digest of the field's answers as `q` reads
    them. Where a check's field still gives that digest, its answers there are unchanged: the
    old marker becomes the check's field marker, or in an answer figure the answer markers of
    the answers it counted. A marker nothing matches any more stays as it is, an unknown of
    its own (so a round begun before answer markers never counts its unchanged checks as new).
    """
    if all(r.markers >= MARKERS for r in history):
        return list(history)
    tokens = _tokens(q, checks)
    legacy: dict[str, tuple[Check, str]] = {}
    for c in checks:
        for f in q.fields:
            answers = [str(c.answers.get(x.id)) for x in q.field_questions(f.id)]
            legacy[f"{c.check_id}:{_digest(f.id, *answers)}"] = (c, f.id)

    def read(key: str, token: str) -> tuple[str, ...]:
        found = legacy.get(token)
        if found is None:
            return (token,)
        check, field_id = found
        markers = tokens[check.check_id]
        kind, _, rest = key.partition(":")
        if kind in ("q", "z"):
            return (markers.answer[rest],) if rest in markers.answer else (token,)
        if kind == "s":
            subtheme = rest.split("/", 1)[1]
            return tuple(
                markers.answer[x.id]
                for x in q.field_questions(field_id)
                if x.subtheme == subtheme and answer_points(q, x, check) is not None
            )
        return (markers.field[field_id],)

    def upgrade(groups: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        return {
            key: tuple(sorted({new for old in olds for new in read(key, old)}))
            for key, olds in groups.items()
        }

    return [
        r
        if r.markers >= MARKERS
        else replace(
            r,
            members=upgrade(r.members),
            band_members=upgrade(r.band_members),
            markers=MARKERS,
        )
        for r in history
    ]


def _person_id(token: str) -> int:
    """The check a marker belongs to (a negative placeholder once its person was deleted)."""
    return int(token.split(":", 1)[0])


Points = Mapping[str, Mapping[str, int]]
"""question id -> answer marker -> points above the scale's lowest, for every answer given."""


def _answer_points(
    q: Questionnaire, checks: Sequence[Check], tokens: Mapping[int, Markers]
) -> dict[str, dict[str, int]]:
    """Every answer of the release as `Points`: skipped and "entfällt" give none."""
    return {
        question.id: {
            tokens[c.check_id].answer[question.id]: points
            for c in checks
            if (points := answer_points(q, question, c)) is not None
        }
        for question in q.questions
    }
