"""Disclosure control against a curious coordinator: the attacks, run for real.

The attacker here is written independently of `flows.disclosure`: it sees only what a
coordinator sees (each release as `for_viewers` gives it, one after another), knows its own
answers, who is in which perspective and who completed when, and works out for every other
person the set of field scores (or answers) that are still possible:

- inversion: the rounded mean gives the sum's possible values; the band counts limit each
  person to their band; whoever's value is the only one left is exposed (the old report's
  3·mean − min − max is this attack with min and max known);
- subtraction of its own answers;
- differencing: two releases' sums (and band counts) subtracted isolate those added between them;
- perspective isolation: field minus perspective gives the rest;
- answer changes: a figure that moves while nobody was added reveals one person's change.

Every possible-set must contain the true value (the attacker is sound) and more than one
value (it learned nothing exact). One test shows the same attacker succeeding against the old
report's figures.
"""

from __future__ import annotations

import importlib
import itertools
import json
import pkgutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flows.disclosure
from bot.store.release_json import dump_release, load_release
from flows.aggregation import Participant, half_up, tenths
from flows.disclosure import (
    Check,
    Given,
    Markers,
    PublishedReport,
    Reason,
    Release,
    cells,
    changed_checks,
    for_viewers,
    next_release,
    nothing_yet,
)
from flows.disclosure.audit import _audit
from flows.disclosure.markers import _digest, _markers, _upgraded
from flows.loading import parse_questionnaire, questionnaire_from_data
from flows.questionnaire import Questionnaire
from flows.scoring import assess_field
from flows.translation import answers_on

ROOT = Path(__file__).resolve().parent.parent
MINI = parse_questionnaire((ROOT / "tests/fixtures/mini.yaml").read_text(encoding="utf-8"), "mini")
FULL = parse_questionnaire(
    (ROOT / "questionnaires/weltoffene-kommune.de.yaml").read_text(encoding="utf-8"), "full"
)
POINTS = {"full": 3, "mostly": 2, "partly": 1, "none": 0}
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


# -- the truth, computed here from the scale -----------------------------------------------


def score(q: Questionnaire, answers: Mapping[str, str | None], field_id: str) -> int | None:
    """A person's true field score: the ground truth the attacker tries to learn.

    Whether a field has a score at all (its minimum of answers, its subthemes) is the scoring
    module's rule; the value itself is recomputed here from the points.
    """
    if assess_field(q, field_id, answers).score is None:
        return None
    got = [POINTS[a] for x in q.field_questions(field_id) if (a := answers.get(x.id)) in POINTS]
    return half_up(Fraction(100 * sum(got), 3 * len(got)))


# -- the attacker ----------------------------------------------------------------------------


def possible_sums(mean: float, n: int, top: int, scale: Fraction = Fraction(1)) -> list[int]:
    """Whole sums S of n values in 0..top whose shown mean (scale·S/n, one decimal) is `mean`."""
    shown = round(mean * 10)
    return [s for s in range(n * top + 1) if tenths(Fraction(scale * s, n)) == shown]


def possible_values(
    sums: Sequence[int], ranges: Sequence[tuple[int, int]], own_range: tuple[int, int]
) -> set[int]:
    """Values of one person in `own_range` such that the others (one per range) make the rest."""
    low = sum(lo for lo, _ in ranges)
    high = sum(hi for _, hi in ranges)
    return {
        v for v in range(own_range[0], own_range[1] + 1) if any(low <= s - v <= high for s in sums)
    }


@dataclass
class Finding:
    """What the attacker concluded about one person's value in one field or question."""

    attack: str
    check_id: int
    key: str
    values: set[int] | set[str]


@dataclass
class Attacker:
    """A coordinator with a memory: every release seen, and what it knows besides."""

    q: Questionnaire
    viewer: int | None
    seen: list[tuple[PublishedReport, dict[int, Check], Questionnaire]] = field(
        default_factory=list
    )
    findings: list[Finding] = field(default_factory=list)

    def band_range(self, band_id: str) -> tuple[int, int]:
        band = next(b for b in self.q.bands if b.id == band_id)
        return band.min, band.max

    def look(
        self, report: PublishedReport, truth: dict[int, Check], q: Questionnaire | None = None
    ) -> None:
        """A report as the chat shows it; `truth` is who is in it (the attacker may know that),
        as `q` (the questionnaire the release was made with) reads their answers."""
        if self.seen and self.seen[-1][0] == report:
            return
        self.q = q or self.q
        self.seen.append((report, truth, self.q))
        for f in report.fields:
            self._field(report, truth, f.field_id)
        for stat in {s.question_id: s for s in (*report.divergent, *report.priorities)}.values():
            people = {i: c for i, c in truth.items() if c.answers.get(stat.question_id) in POINTS}
            assert stat.n == len(people)
            sums = possible_sums(stat.mean, stat.n, 3, scale=Fraction(100, 3))
            self._conclude("question", stat.question_id, people, sums, {}, 0, 3, stat.question_id)
        self._subthemes(report, truth)
        self._unclear(report, truth)
        if len(self.seen) >= 2:
            for old, old_truth, old_q in self.seen[:-1]:
                self._difference(old, old_truth, old_q, report, truth)
                if old_q.questions == self.q.questions:
                    self._difference_answers(old, old_truth, report, truth)

    def _value(self, check: Check, key: str) -> int | None:
        if key in {f.id for f in self.q.fields}:
            return score(self.q, check.answers, key)
        answer = check.answers.get(key)
        return POINTS.get(answer) if answer is not None else None

    def _conclude(
        self,
        attack: str,
        key: str,
        people: Mapping[int, Check],
        sums: Sequence[int],
        counts: Mapping[str, int],
        low: int,
        high: int,
        value_key: str,
    ) -> None:
        """Possible values for each person in `people` from their sum (and band counts)."""
        values = {i: self._value(c, value_key) for i, c in people.items()}
        if self.viewer in values:  # subtract one's own answers
            own = values.pop(self.viewer)
            assert own is not None
            sums = [s - own for s in sums]
            if counts:
                counts = dict(counts)
                counts[self.q.band_for(own).id] -= 1
            attack += "+own"
        for i, true in values.items():
            assert true is not None
            if counts:
                # Which band is i in? Everyone else in one band tells it (attribute disclosure).
                bands = {b for b, c in counts.items() if c > 0}
                self.findings.append(Finding(attack + "+band", i, key, bands))
                assert self.q.band_for(true).id in bands
                band = self.q.band_for(true).id  # strongest: the attacker knows i's band
                rest = dict(counts)
                rest[band] -= 1
                others = [self.band_range(b) for b, c in rest.items() for _ in range(c)]
                found = possible_values(sums, others, self.band_range(band))
            else:
                found = possible_values(sums, [(low, high)] * (len(values) - 1), (low, high))
            self.findings.append(Finding(attack, i, key, found))
            assert true in found, (attack, key, true, found)

    def _field(self, report: PublishedReport, truth: dict[int, Check], field_id: str) -> None:
        f = report.field(field_id)
        if f.mean is None:
            return
        people = {i: c for i, c in truth.items() if score(self.q, c.answers, field_id) is not None}
        assert f.n == len(people)
        sums = possible_sums(f.mean, f.n, 100)
        counts = {b.band_id: b.count for b in f.band_counts} if f.band_counts else {}
        self._conclude("inversion", field_id, people, sums, counts, 0, 100, field_id)
        for p in f.by_perspective:
            if p.mean is None:
                continue
            inside = {i: c for i, c in people.items() if c.perspective == p.perspective_id}
            rest = {i: c for i, c in people.items() if i not in inside}
            inner = possible_sums(p.mean, p.n, 100)
            self._conclude("perspective", field_id, inside, inner, {}, 0, 100, field_id)
            if rest:
                outer = sorted({s - t for s in sums for t in inner})
                self._conclude("isolation", field_id, rest, outer, {}, 0, 100, field_id)

    def _difference(
        self,
        old: PublishedReport,
        old_truth: dict[int, Check],
        old_q: Questionnaire,
        new: PublishedReport,
        new_truth: dict[int, Check],
    ) -> None:
        """Subtract an earlier release from this one, field by field (the earlier one's scores
        as its own questionnaire gave them: a reload may score the same answers differently)."""
        for f in new.fields:
            before = old.field(f.field_id)
            if f.mean is None or before.mean is None:
                continue
            then = {
                i for i, c in old_truth.items() if score(old_q, c.answers, f.field_id) is not None
            }
            now = {
                i for i, c in new_truth.items() if score(self.q, c.answers, f.field_id) is not None
            }
            changed = {
                i
                for i in then & now
                if score(old_q, old_truth[i].answers, f.field_id)
                != score(self.q, new_truth[i].answers, f.field_id)
            }
            added = now - then
            self._difference_n(f.field_id, old_truth, new_truth, then, now, f.n - before.n)
            sums = sorted(
                {
                    s - t
                    for s in possible_sums(f.mean, f.n, 100)
                    for t in possible_sums(before.mean, before.n, 100)
                }
            )
            if not added and changed:
                # The same people, one figure moved: the mover's change would be exposed.
                assert len(changed) >= 2 or f.mean == before.mean, (f.field_id, changed)
                continue
            if not then <= now or changed or not added:
                continue  # the difference mixes unknown changes: nothing to isolate
            counts = {}
            if f.band_counts and before.band_counts:
                counts = {
                    b.band_id: b.count - a.count
                    for b, a in zip(f.band_counts, before.band_counts, strict=True)
                }
            people = {i: new_truth[i] for i in added}
            self._conclude("differencing", f.field_id, people, sums, counts, 0, 100, f.field_id)

    def _difference_n(
        self,
        field_id: str,
        old_truth: dict[int, Check],
        new_truth: dict[int, Check],
        then: set[int],
        now: set[int],
        gained: int,
    ) -> None:
        """Two releases' n: who of the newcomers has no score in the field (skipped it)?

        Only when everyone of the earlier release is still there with the same status; the
        newcomers' count without a score is then their number minus the gain of n.
        """
        if not set(old_truth) <= set(new_truth) or then - now or (now & set(old_truth)) - then:
            return
        newcomers = set(new_truth) - set(old_truth)
        if not newcomers:
            return
        without = len(newcomers) - gained
        others = set(newcomers)
        if self.viewer in others:
            others.discard(self.viewer)
            without -= int(self.viewer not in now)
        for i in others:
            # i has no score for sure when all of the others (but i) are without one, too.
            certain = without == len(others)
            values = {0} if certain else {0, 1}
            self.findings.append(Finding("field-n", i, field_id, values))
            assert (i in now) is False or not certain, (field_id, i)

    # -- subthemes and skips: sums of single answers ----------------------------------------

    def subtheme_questions(self, field_id: str, subtheme_id: str) -> list[str]:
        return [x.id for x in self.q.field_questions(field_id) if x.subtheme == subtheme_id]

    def _ranged(
        self,
        attack: str,
        key: str,
        values: Mapping[int, tuple[int, int]],
        sums: Sequence[int],
    ) -> None:
        """Possible values per person from a sum over people with their own ranges.

        `values` maps a person to (true value, highest possible value); the lowest is 0.
        """
        values = {i: v for i, v in values.items() if v[1] > 0}  # no answers: nothing to learn
        if self.viewer in values:  # subtract one's own answers
            own, _ = values.pop(self.viewer)
            sums = [s - own for s in sums]
            attack += "+own"
        for i, (true, top) in values.items():
            others = [(0, high) for j, (_, high) in values.items() if j != i]
            found = possible_values(sums, others, (0, top))
            self.findings.append(Finding(attack, i, key, found))
            assert true in found, (attack, key, true, found)

    def _points(self, check: Check, questions: Sequence[str]) -> tuple[int, int]:
        """(points, highest possible points) of one person's answers to `questions`."""
        got = [POINTS[a] for x in questions if (a := check.answers.get(x)) in POINTS]
        return sum(got), 3 * len(got)

    def _subthemes(self, report: PublishedReport, truth: dict[int, Check]) -> None:
        """Inversion of each subtheme's mean, and subtheme minus its published statements."""
        statements = {s.question_id: s for s in (*report.divergent, *report.priorities)}
        for f in report.fields:
            for sub in f.subthemes:
                if sub.mean is None:
                    continue
                questions = self.subtheme_questions(f.field_id, sub.subtheme_id)
                people = {i: self._points(c, questions) for i, c in truth.items()}
                people = {i: v for i, v in people.items() if v[1] > 0}
                assert sub.n == len(people)
                answers = sum(top for _, top in people.values()) // 3
                sums = possible_sums(sub.mean, answers, 3, scale=Fraction(100, 3))
                key = f"{f.field_id}/{sub.subtheme_id}"
                self._ranged("subtheme", key, people, sums)
                shown = [x for x in questions if x in statements]
                if not shown:
                    continue
                # The rest: subtheme sum minus each published statement's sum.
                rest_questions = [x for x in questions if x not in shown]
                rest = {i: self._points(c, rest_questions) for i, c in truth.items()}
                rest = {i: v for i, v in rest.items() if v[1] > 0}  # others: nothing to learn
                if not rest:
                    continue
                for x in shown:
                    stat = statements[x]
                    inner = possible_sums(stat.mean, stat.n, 3, scale=Fraction(100, 3))
                    sums = sorted({s - t for s in sums for t in inner})
                self._ranged("subtheme-statements", key, rest, sums)

    def _unclear(self, report: PublishedReport, truth: dict[int, Check]) -> None:
        """Worst case: the attacker knows how many skipped each listed statement."""
        for item in report.unclear:
            asked = {i: c for i, c in truth.items() if item.question_id in c.answers}
            skipped = {i: (int(c.answers[item.question_id] is None), 1) for i, c in asked.items()}
            count = sum(v for v, _ in skipped.values())
            assert count >= report.min_group and len(asked) >= 2 * report.min_group
            self._ranged("skips", item.question_id, skipped, [count])

    def _difference_answers(
        self,
        old: PublishedReport,
        old_truth: dict[int, Check],
        new: PublishedReport,
        new_truth: dict[int, Check],
    ) -> None:
        """Subtract an earlier release's subtheme sums and skip counts from this one's."""
        pairs: list[tuple[str, list[str], list[int], list[int], bool]] = []
        for f in new.fields:
            before = {s.subtheme_id: s for s in old.field(f.field_id).subthemes}
            for sub in f.subthemes:
                earlier = before.get(sub.subtheme_id)
                if sub.mean is None or earlier is None or earlier.mean is None:
                    continue
                questions = self.subtheme_questions(f.field_id, sub.subtheme_id)
                n_new = sum(self._points(c, questions)[1] for c in new_truth.values()) // 3
                n_old = sum(self._points(c, questions)[1] for c in old_truth.values()) // 3
                third = Fraction(100, 3)
                now = possible_sums(sub.mean, n_new, 3, scale=third)
                then = possible_sums(earlier.mean, n_old, 3, scale=third)
                key = f"{f.field_id}/{sub.subtheme_id}"
                pairs.append((key, questions, now, then, False))
        listed = {u.question_id for u in old.unclear}
        for item in new.unclear:
            if item.question_id in listed:
                x = item.question_id
                now = [sum(c.answers.get(x, "") is None for c in new_truth.values())]
                then = [sum(c.answers.get(x, "") is None for c in old_truth.values())]
                pairs.append((x, [x], now, then, True))
        for key, questions, now, then, skips in pairs:

            def value(
                c: Check, questions: list[str] = questions, skips: bool = skips
            ) -> tuple[int, int]:
                if skips:
                    return (int(c.answers.get(questions[0], "") is None), 1)
                return self._points(c, questions)

            if not set(old_truth) <= set(new_truth):
                continue
            if any(value(old_truth[i]) != value(new_truth[i]) for i in old_truth):
                continue  # the difference mixes unknown changes
            added = {i: value(c) for i, c in new_truth.items() if i not in old_truth}
            if not added:
                continue
            sums = sorted({s - t for s in now for t in then})
            self._ranged("differencing", key, added, sums)

    def exposed(self) -> list[Finding]:
        return [f for f in self.findings if len(f.values) <= 1]


# -- scenarios -------------------------------------------------------------------------------

OPTIONS = [*POINTS, None]


@st.composite
def people(draw: st.DrawFn, q: Questionnaire) -> tuple[str | None, dict[str, str | None]]:
    """A person with a style per field: all alike (extremes!), or mixed."""
    perspective = draw(st.sampled_from([None, *(p.id for p in q.perspectives)]))
    answers: dict[str, str | None] = {}
    for f in q.fields:
        style = draw(st.sampled_from(["full", "none", "mostly", "partly", "mixed"]))
        for x in q.field_questions(f.id):
            answers[x.id] = draw(st.sampled_from(OPTIONS)) if style == "mixed" else style
    return perspective, answers


@st.composite
def scenarios(draw: st.DrawFn, q: Questionnaire) -> tuple[int, bool, list[tuple]]:
    """Completions, changes and looks; and, where the questionnaire has municipality types,
    the group's type switched and the questionnaire reloaded in between (every check is then
    read anew, while nobody changed an answer)."""
    k = draw(st.sampled_from([3, 3, 4]))
    viewer_takes_part = draw(st.booleans())
    kinds = ["complete", "complete", "look", "change"]
    if q.document.municipality_types:
        kinds.append("switch")
    events: list[tuple] = []
    completed = 0
    for _ in range(draw(st.integers(min_value=3, max_value=16))):
        kind = draw(st.sampled_from(kinds))
        if kind == "complete":
            events.append(("complete", draw(people(q))))
            completed += 1
        elif kind == "change" and completed:
            who = draw(st.integers(min_value=0, max_value=completed - 1))
            f = draw(st.sampled_from(q.fields))
            new = draw(st.sampled_from(OPTIONS))
            events.append(("change", who, f.id, new))
        elif kind == "switch":
            types = [t.id for t in q.document.municipality_types]
            events.append(draw(st.sampled_from([("reload",), *(("type", t) for t in types)])))
        events.append(("look",))
    return k, viewer_takes_part, events


def reloaded(q: Questionnaire) -> Questionnaire:
    """`q`'s document as an admin's reload might change it: one question fewer, a new version."""
    data = asdict(q.document)
    dropped = q.document.field_questions(q.document.fields[0].id)[-1].id
    data["questions"] = [x for x in data["questions"] if x["id"] != dropped]
    data["version"] = f"{data['version']}-reloaded"
    return questionnaire_from_data(data)


def play(q: Questionnaire, k: int, viewer_takes_part: bool, events: list[tuple]) -> Attacker:
    """Run the events through releases exactly as the bot does, with the attacker watching.

    As in `GroupDesk`, a check is stored with the questionnaire it was answered on, and every
    release reads all checks with the group's questionnaire of that moment (`answers_on`),
    handing the stored answers along (`Given`). A type switch or reload changes that
    questionnaire; the attacker reads each release with the questionnaire it was made with.
    """
    stored: dict[int, tuple[str | None, dict[str, str | None], Questionnaire]] = {}
    releases: list[Release] = []
    truths: list[tuple[dict[int, Check], Questionnaire]] = []
    viewer = 1 if viewer_takes_part else None
    viewers = [viewer] if viewer is not None else []
    attacker = Attacker(q, viewer)
    versions = [q.document, reloaded(q.document)] if q.document.municipality_types else [q]
    version, kind = 0, q.municipality_type.id if q.municipality_type else None
    now = T0
    for event in events:
        now += timedelta(minutes=5)
        if event[0] == "complete":
            perspective, answers = event[1]
            asked = {x.id: answers[x.id] for x in q.questions if x.id in answers}
            stored[len(stored) + 1] = (perspective, asked, q)
        elif event[0] == "change":
            _, who, field_id, option = event
            perspective, answers, own = stored[who + 1]
            answers = dict(answers)
            for x in own.field_questions(field_id):
                answers[x.id] = option
            stored[who + 1] = (perspective, answers, own)
        elif event[0] == "type":
            kind = event[1]
            q = versions[version].for_type(kind)
        elif event[0] == "reload":
            version = 1 - version
            q = versions[version].for_type(kind) if kind else versions[version]
        else:
            checks = {
                i: Check(p, answers_on(q, own, answers), i, Given(answers, own))
                for i, (p, answers, own) in stored.items()
            }
            release = next_release(q, releases, list(checks.values()), k, now)
            if release is not None:
                releases.append(release)
                truths.append((checks, q))
            if releases:
                truth, made_with = truths[-1]
                attacker.look(for_viewers(q, releases, viewers), truth, made_with)
    return attacker


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(MINI))
def test_no_individual_value_follows_from_the_releases(scenario: tuple[int, bool, list]) -> None:
    attacker = play(MINI, *scenario)
    assert attacker.exposed() == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(FULL))
def test_no_individual_value_follows_on_the_real_questionnaire(
    scenario: tuple[int, bool, list],
) -> None:
    attacker = play(FULL, *scenario)
    assert attacker.exposed() == []


def weaken(monkeypatch: pytest.MonkeyPatch, name: str, replacement: object) -> None:
    """Replace one of disclosure control's own functions, for a test of a weaker control.

    Each module of the package imports what it calls by name, so the function is replaced in
    every module that has it: replaced in one only, the others would still call the real one.
    """
    modules = [
        importlib.import_module(info.name)
        for info in pkgutil.iter_modules(flows.disclosure.__path__, "flows.disclosure.")
    ]
    holders = [m for m in modules if name in vars(m)]
    assert holders and len({id(vars(m)[name]) for m in holders}) == 1, name
    for module in holders:
        monkeypatch.setattr(module, name, replacement)


# -- the same attacker against the old report ----------------------------------------------


def pattern(q: Questionnaire, shift: int) -> dict[str, str | None]:
    options = list(POINTS)
    return {x.id: options[(i * (shift + 1) + shift) % 4] for i, x in enumerate(q.questions)}


def shown_mean(q: Questionnaire, group: Sequence[Participant], field_id: str) -> float:
    """The mean as the old live report showed it: every score, rounded once to one decimal."""
    scores = [score(q, p.answers, field_id) for p in group]
    return tenths(Fraction(sum(scores), len(scores))) / 10


def test_attacks_succeed_against_the_old_report_and_fail_against_releases() -> None:
    """The old chat report showed mean, lowest and highest score, recomputed live."""
    group = [Participant("administration", pattern(FULL, s)) for s in range(4)]
    for f in FULL.fields:
        scores = [score(FULL, p.answers, f.id) for p in group[:3]]
        old = shown_mean(FULL, group[:3], f.id)
        low, high = min(scores), max(scores)  # what "Spanne low–high" showed
        # 3·mean − min − max is the third person's exact score.
        middle = round(3 * old - low - high)
        assert sorted(scores) == [low, middle, high], f.id
        # The attacker's general inversion agrees: knowing min and max, one value is left.
        found = possible_values(possible_sums(old, 3, 100), [(low, low), (high, high)], (0, 100))
        assert found == {middle}
        # Live recomputation after a fourth completed: 4·mean₄ − 3·mean₃ is the fourth's score.
        after = shown_mean(FULL, group, f.id)
        assert round(4 * after - 3 * old) == score(FULL, group[3].answers, f.id)

    # The same people through releases: a fourth check makes no new release, and the first
    # release's band counts and mean leave every score open.
    checks = [Check(p.perspective, p.answers, i + 1) for i, p in enumerate(group)]
    first = next_release(FULL, [], checks[:3], 3, T0)
    assert first is not None
    assert next_release(FULL, [first], checks, 3, T0) is None
    attacker = Attacker(FULL, None)
    attacker.look(first.report, {c.check_id: c for c in checks[:3]})
    assert attacker.findings and attacker.exposed() == []
    assert all(f.band_counts is None for f in first.report.fields)  # never below 4
    for f in first.report.fields:
        assert f.mean == shown_mean(FULL, group[:3], f.field_id)


# -- the rules, one by one -------------------------------------------------------------------


def alike(q: Questionnaire, option: str) -> dict[str, str | None]:
    return {x.id: option for x in q.questions}


def checks_of(q: Questionnaire, *people: tuple[str | None, dict[str, str | None]]) -> list[Check]:
    return [Check(p, a, i + 1) for i, (p, a) in enumerate(people)]


def test_unanimous_group_shows_no_figure_that_pins_everyone() -> None:
    group = checks_of(FULL, *[("administration", alike(FULL, "none"))] * 3)
    release = next_release(FULL, [], group, 3, T0)
    assert release is not None
    for f in release.report.fields:
        # "Ø 0,0" would say every one of them answered "trifft nicht zu" everywhere.
        assert (f.mean, f.withheld_reason) == (None, Reason.EXTREME)


def test_complementary_rule_names_the_rest() -> None:
    mixed = [pattern(FULL, s) for s in range(5)]
    group = checks_of(
        FULL,
        ("administration", mixed[0]),
        ("administration", mixed[1]),
        ("administration", mixed[2]),
        ("politics", mixed[3]),
        ("civil_society", mixed[4]),
    )
    report = next_release(FULL, [], group, 3, T0).report
    notes = {n.perspective_id: (n.reason, n.others) for n in report.perspective_notes}
    assert notes == {
        "administration": (Reason.COMPLEMENT, 2),
        "politics": (Reason.SMALL, None),
        "civil_society": (Reason.SMALL, None),
    }
    # Only perspectives of at least k are counted by name.
    assert [(p.perspective_id, p.n) for p in report.perspective_counts] == [("administration", 3)]
    assert report.unnamed == 2


def test_a_release_is_frozen_until_k_checks_changed() -> None:
    group = checks_of(FULL, *[("administration", pattern(FULL, s)) for s in range(4)])
    first = next_release(FULL, [], group[:3], 3, T0)
    changed = Check("administration", alike(FULL, "full"), 2)
    later = [group[0], changed, group[2], group[3]]
    # One added and one changed: still fewer than k, so no new release.
    assert changed_checks(FULL, first, later) == 2
    assert changed_checks(FULL, first, group[:3]) == 0
    assert next_release(FULL, [first], later, 3, T0) is None
    extra = [Check("politics", pattern(FULL, 7), 9)]
    second = next_release(FULL, [first], [*later, *extra], 3, T0 + timedelta(days=1))
    assert second is not None and second.number == 2
    # The changed person is a new unknown; the difference to the first release is three people.
    assert second.report.completed == 5


def test_closed_round_gets_no_new_release_and_first_needs_k() -> None:
    group = checks_of(FULL, *[(None, pattern(FULL, s)) for s in range(6)])
    assert next_release(FULL, [], group[:2], 3, T0) is None
    first = next_release(FULL, [], group[:3], 3, T0, round_closed=True)
    assert first is not None
    assert next_release(FULL, [first], group, 3, T0, round_closed=True) is None
    assert next_release(FULL, [first], group, 3, T0) is not None
    with pytest.raises(ValueError):
        next_release(FULL, [], group, 0, T0)


def test_viewer_needs_k_others() -> None:
    group = checks_of(FULL, *[(None, pattern(FULL, s)) for s in range(6)])
    first = next_release(FULL, [], group[:3], 3, T0)
    mine = for_viewers(FULL, [first], [1])
    assert (mine.missing, mine.release) == (1, 0)
    assert all(f.mean is None for f in mine.fields)
    assert for_viewers(FULL, [first], []) == first.report == for_viewers(FULL, [first], [99])
    second = next_release(FULL, [first], group, 3, T0)
    assert for_viewers(FULL, [first, second], [1]).shown
    # Five others in a perspective of six, the viewer in it: its column would be the field's.
    same = checks_of(FULL, *[("administration", pattern(FULL, s)) for s in range(4)])
    mixed = [*same, *checks_of(FULL, *[("politics", pattern(FULL, s)) for s in range(4, 7)])]
    mixed = [Check(c.perspective, c.answers, i + 1) for i, c in enumerate(mixed)]
    release = next_release(FULL, [], mixed, 3, T0)
    outsider = release.report.field("economy").by_perspective
    assert [p.mean is not None for p in outsider] == [True, True]
    # The viewer (administration, 4 people) keeps their column: 3 others; so does politics.
    assert for_viewers(FULL, [release], [1]).field("economy").by_perspective == outsider
    small = [*same[:3], *mixed[4:]]
    release = next_release(FULL, [], small, 3, T0)
    mine = for_viewers(FULL, [release], [1]).field("economy").by_perspective
    # Administration has 3 with the viewer: 2 others are too few; and then the viewer would be
    # in the rest of 3 with only 2 others besides them: politics is withheld too.
    assert [(p.perspective_id, p.mean, p.withheld_reason) for p in mine] == [
        ("administration", None, Reason.OWN),
        ("politics", None, Reason.OWN),
    ]


def test_release_round_trips_through_json_unchanged() -> None:
    group = checks_of(FULL, *[("administration", pattern(FULL, s)) for s in range(7)])
    release = next_release(FULL, [], group, 3, T0)
    again = load_release(dump_release(release))
    assert again == release
    assert again.report.fields[0].band == release.report.fields[0].band


def test_question_figures_need_twice_k_and_show_no_spread() -> None:
    group = checks_of(FULL, *[(None, pattern(FULL, s)) for s in range(5)])
    assert next_release(FULL, [], group, 3, T0).report.priorities == ()
    group = checks_of(FULL, *[(None, pattern(FULL, s)) for s in range(6)])
    report = next_release(FULL, [], group, 3, T0).report
    assert report.priorities and all(s.n >= 6 for s in report.priorities)
    assert not hasattr(report.priorities[0], "spread")


def test_nothing_yet_has_counts_only() -> None:
    report = nothing_yet(FULL, 2, 3)
    assert (report.completed, report.missing, report.shown) == (2, 1, False)
    assert all(f.mean is None and f.withheld_reason is Reason.TOO_FEW for f in report.fields)


def test_cells_are_the_pieces_sums_can_be_cut_into() -> None:
    assert sorted(map(sorted, cells([{"a", "b", "c"}, {"a", "b", "c", "d"}]))) == [
        ["a", "b", "c"],
        ["d"],
    ]
    parts = cells([{"a", "b", "c", "d"}, {"a", "b"}, {"a", "c"}])
    assert sorted(map(sorted, parts)) == [["a"], ["b"], ["c"], ["d"]]
    assert list(itertools.chain.from_iterable(cells([]))) == []


def test_the_attacker_catches_a_weaker_control(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the release rule and the audit across releases, differencing succeeds."""
    weaken(monkeypatch, "_changed", lambda *_: set(range(100)))
    weaken(monkeypatch, "_audit", lambda _history, *rest: _audit([], *rest))
    weaken(monkeypatch, "_absence_audit", lambda *_: None)
    events: list[tuple] = [("complete", (None, pattern(MINI, s))) for s in range(3)]
    events += [("look",), ("complete", (None, pattern(MINI, 3))), ("look",)]
    exposed = play(MINI, 3, False, events).exposed()
    assert {(f.attack, f.check_id) for f in exposed} >= {("differencing", 4)}
    # And without any audit, a unanimous group is exposed by its mean alone.
    weaken(monkeypatch, "_audit", lambda *_: None)
    events = [("complete", (None, alike(MINI, "none"))) for _ in range(3)] + [("look",)]
    exposed = play(MINI, 3, False, events).exposed()
    assert {f.check_id for f in exposed if f.attack == "inversion"} == {1, 2, 3}


def test_the_attacker_subtracts_its_own_answers_when_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without the audits' own-value case and the viewer rule, the two others are exposed."""
    events: list[tuple] = [("complete", (None, alike(MINI, "full")))]
    events += [("complete", (None, alike(MINI, "none"))) for _ in range(2)] + [("look",)]
    assert play(MINI, 3, True, events).exposed() == []
    weaken(monkeypatch, "_extremes", lambda *_, **__: set())
    monkeypatch.setattr(
        sys.modules[__name__], "for_viewers", lambda _q, history, _v: history[-1].report
    )
    exposed = play(MINI, 3, True, events).exposed()
    assert {(f.attack, f.check_id) for f in exposed} >= {("inversion+own", 2), ("inversion+own", 3)}


# -- subtheme profile and "zu klären" ----------------------------------------------------------

MIXED = ["full", "mostly", "partly", "none", "mostly", "partly"]


def varied(person: int, **fixed: str | None) -> dict[str, str | None]:
    """Answers that differ between people (so no figure is extreme), except `fixed` ones."""
    answers: dict[str, str | None] = {
        x.id: MIXED[(person + i) % len(MIXED)] for i, x in enumerate(MINI.questions)
    }
    answers.update({key.replace("_", "."): value for key, value in fixed.items()})
    return answers


def test_the_attacker_subtracts_statements_from_their_subtheme(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Everyone answered one statement of a subtheme "trifft nicht zu" and the other varied:
    subtheme sum minus the published other statement's sum is everyone's zero."""
    events: list[tuple] = [
        ("complete", (None, varied(s, beta_daycare="none"))) for s in range(6)
    ] + [("look",)]
    attacker = play(MINI, 3, False, events)
    assert attacker.exposed() == []
    release = next_release(
        MINI, [], [Check(None, varied(s, beta_daycare="none"), s) for s in range(6)], 3, T0
    )
    education = release.report.field("beta").subthemes[0]
    shown = {s.question_id for s in (*release.report.divergent, *release.report.priorities)}
    assert "beta.school" in shown and "beta.daycare" not in shown  # unanimous: never alone
    assert (education.mean, education.withheld_reason) == (None, Reason.EXTREME)
    # The housing subtheme (both statements varied) is published, with its band.
    housing = release.report.field("beta").subthemes[1]
    assert housing.mean is not None and housing.band is not None and housing.n == 6
    weaken(monkeypatch, "_subtheme_family", lambda *_: None)
    exposed = play(MINI, 3, False, events).exposed()
    assert {(f.attack, f.key) for f in exposed} == {("subtheme-statements", "beta/education")}
    assert len({f.check_id for f in exposed}) == 6


def test_subthemes_need_twice_k_checks_with_an_answer() -> None:
    five = [Check(None, varied(s), s) for s in range(5)]
    release = next_release(MINI, [], five, 3, T0)
    assert all(
        (s.mean, s.withheld_reason) == (None, Reason.TOO_FEW)
        for s in release.report.field("beta").subthemes
    )
    # Two of six skipped the whole housing subtheme: four answers are too few.
    six = [*five, Check(None, varied(5), 5)]
    six[0] = Check(None, varied(0, beta_flats=None, beta_advice=None), 0)
    six[1] = Check(None, varied(1, beta_flats=None, beta_advice=None), 1)
    report = next_release(MINI, [], six, 3, T0).report
    education, housing = report.field("beta").subthemes
    assert education.mean is not None and (housing.n, housing.mean) == (4, None)
    assert report.field("alpha").subthemes == ()  # a field without subthemes has no profile


def test_unclear_lists_only_what_k_skipped_most_first_without_counts() -> None:
    skips = {0: ["alpha.one", "beta.flats"], 1: ["alpha.one", "beta.flats"]}
    skips |= {2: ["alpha.one", "beta.flats"], 3: ["alpha.one"], 4: ["gamma.clubs"]}
    group = [
        Check(None, varied(s, **{x.replace(".", "_"): None for x in skips.get(s, [])}), s)
        for s in range(7)
    ]
    report = next_release(MINI, [], group, 3, T0).report
    # alpha.one 4 skips, beta.flats 3, gamma.clubs 1 (fewer than k: not listed).
    assert [u.question_id for u in report.unclear] == ["alpha.one", "beta.flats"]
    assert not {"n", "count"} & {f.name for f in fields(report.unclear[0])}
    assert report.unclear[0].text == MINI.question("alpha.one").text
    # Fewer than 2k checks: no list at all.
    assert next_release(MINI, [], group[:5], 3, T0).report.unclear == ()


def test_the_attacker_reads_skips_off_a_weaker_control(monkeypatch: pytest.MonkeyPatch) -> None:
    """Everyone skipped one statement; then three newcomers all skipped another."""
    events: list[tuple] = [
        ("complete", (None, varied(s, gamma_council=None, alpha_two=None if s < 3 else "full")))
        for s in range(6)
    ]
    events += [("look",)]
    events += [("complete", (None, varied(s, alpha_two=None))) for s in range(6, 9)]
    events += [("look",)]
    attacker = play(MINI, 3, False, events)
    assert attacker.exposed() == []
    assert {f.attack for f in attacker.findings} >= {"skips", "differencing"}
    weaken(
        monkeypatch,
        "_audit",
        lambda history, candidate, value, low, high, *rest: (
            None if high == 1 else _audit(history, candidate, value, low, high, *rest)
        ),
    )
    exposed = play(MINI, 3, False, events).exposed()
    assert {(f.attack, f.key) for f in exposed} == {
        ("skips", "gamma.council"),
        ("differencing", "gamma.council"),
        ("differencing", "alpha.two"),
    }


def test_subthemes_and_skips_survive_the_attacker_on_a_real_group() -> None:
    """Fourteen mixed checks on the real questionnaire, in two releases, a member looking.

    The second release adds six: every cell of a subtheme's answers needs 2k people, so a
    subtheme is published again only once 2k answered it since (`_subtheme_family`)."""
    rng = __import__("random").Random(5)
    options = [*POINTS, None, None]

    def person(i: int) -> tuple[str | None, dict[str, str | None]]:
        return (
            FULL.perspectives[i % 3].id,
            {x.id: rng.choice(options) for x in FULL.questions},
        )

    events: list[tuple] = [("complete", person(i)) for i in range(8)] + [("look",)]
    events += [("complete", person(i)) for i in range(8, 14)] + [("look",)]
    attacker = play(FULL, 3, True, events)
    assert attacker.exposed() == []
    attacks = {f.attack for f in attacker.findings}
    assert {"subtheme+own", "subtheme-statements+own", "skips+own", "differencing"} <= attacks
    assert attacker.seen[-1][0].field("access").subthemes[0].mean is not None
    assert attacker.seen[-1][0].unclear


def test_a_release_stored_before_subtheme_profiles_reads_back_without_them() -> None:
    """Stored releases are shown again unchanged: one from before has no profile, no list."""
    group = checks_of(FULL, *[("administration", pattern(FULL, s)) for s in range(7)])
    release = next_release(FULL, [], group, 3, T0)
    assert release.report.field("access").subthemes
    stored = json.loads(dump_release(release))
    del stored["report"]["unclear"]
    for f in stored["report"]["fields"]:
        del f["subthemes"]
    old = load_release(json.dumps(stored))
    assert old.report.unclear == () and old.report.field("access").subthemes == ()
    assert old.report.field("access").mean == release.report.field("access").mean


# -- the privacy review's attacks (docs/privacy-review-2026-12.md), against the real code ---------

CITY, DISTRICT = FULL.for_type("city"), FULL.for_type("district")


def reviewer_person(q: Questionnaire, seed: int, skip: float = 0.05) -> dict[str, str | None]:
    """The review's participant: one level with some noise, a few skips."""
    rng = __import__("random").Random(seed)
    base = rng.randint(0, 3)
    options = ["none", "partly", "mostly", "full"]
    return {
        x.id: None
        if rng.random() < skip
        else options[max(0, min(3, base + rng.choice([-1, 0, 0, 1])))]
        for x in q.questions
    }


def stored_check(
    q: Questionnaire, perspective: str | None, answers: dict[str, str | None], check_id: int
) -> Check:
    """A check as `GroupDesk` builds it: read with `q`, its stored answers handed along."""
    own = q if answers.keys() <= {x.id for x in q.questions} else q.document
    return Check(perspective, answers_on(q, own, answers), check_id, Given(answers, own))


def regroup(q: Questionnaire, checks: Sequence[Check]) -> list[Check]:
    """The same stored checks read with another questionnaire (type or version)."""
    return [
        Check(
            c.perspective,
            answers_on(q, c.given.questionnaire, c.given.answers),
            c.check_id,
            c.given,
        )
        for c in checks
        if c.given is not None
    ]


def test_a_type_change_or_a_reload_unlocks_no_release() -> None:
    """Finding A: six checks (kreisfreie Stadt), release 1; the target completes alone; the
    type becomes Landkreis. The old markers (digests over the questions the current type asks)
    all changed, so a release 2 followed, and 7·mean₂ − 6·mean₁ was the target's score."""
    people = [
        stored_check(
            CITY, "administration" if i % 2 else "civil_society", reviewer_person(CITY, i), i
        )
        for i in range(1, 7)
    ]
    first = next_release(CITY, [], people, 3, T0)
    assert first is not None and first.municipality_type == "city"
    target = stored_check(CITY, "politics", reviewer_person(CITY, 777), 7)
    seven = [*people, target]
    assert changed_checks(CITY, first, seven) == 1
    assert next_release(CITY, [first], seven, 3, T0) is None
    # Read with the Landkreis questions: the markers come from the stored answers, one change.
    district = regroup(DISTRICT, seven)
    assert changed_checks(DISTRICT, first, district) == 1
    assert next_release(DISTRICT, [first], district, 3, T0) is None
    # Even with k newcomers, a round never gets a release of another type than its first.
    more = [
        *district,
        *(stored_check(DISTRICT, None, reviewer_person(DISTRICT, s), s) for s in (8, 9, 10)),
    ]
    assert next_release(DISTRICT, [first], more, 3, T0) is None
    assert next_release(CITY, [first], regroup(CITY, more), 3, T0) is not None
    # An admin's reload (a question dropped, a new version) re-reads every check: no change.
    again = reloaded(FULL).for_type("city")
    assert again.content_hash != CITY.content_hash
    assert changed_checks(again, first, regroup(again, seven)) == 1
    assert next_release(again, [first], regroup(again, seven), 3, T0) is None


def test_the_attacker_catches_markers_that_follow_the_type(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Hypothesis attacker finds finding A when markers are made from the answers as the
    current type reads them and a round may change its type (the control before the review)."""
    events: list[tuple] = [("complete", (None, pattern(MINI, s))) for s in range(4)]
    events += [("look",), ("complete", (None, pattern(MINI, 5))), ("type", "district"), ("look",)]
    city = MINI.for_type("city")
    assert play(city, 3, False, events).exposed() == []

    def as_the_type_reads_them(q: Questionnaire, c: Check, *cached: object) -> Markers:
        asked = q.field_questions
        return Markers(
            field={
                f.id: f"{c.check_id}:"
                + _digest(f.id, *(str(c.answers.get(x.id)) for x in asked(f.id)))
                for f in q.fields
            },
            answer=_markers(q, c).answer,
        )

    weaken(monkeypatch, "_markers", as_the_type_reads_them)
    weaken(monkeypatch, "_type_of", lambda q: None)
    exposed = play(city, 3, False, events).exposed()
    assert {(f.attack, f.check_id) for f in exposed} >= {("differencing", 5)}


def test_editing_one_answer_keeps_the_others_the_same_unknowns() -> None:
    """Finding E: three people correct one answer each in a field, the target completes; the
    field's other statements were re-labelled with the field's marker and passed the audit."""
    olds = [
        stored_check(CITY, "administration", reviewer_person(CITY, i, skip=0), i)
        for i in range(1, 7)
    ]
    first = next_release(CITY, [], olds, 3, T0)
    shown = {s.question_id: s for s in (*first.report.divergent, *first.report.priorities)}
    x = next(iter(shown))
    field_id = CITY.question(x).field
    y = next(q.id for q in CITY.field_questions(field_id) if q.id != x)
    edited = []
    for c in olds:
        answers = dict(c.given.answers)
        if c.check_id <= 3:
            answers[y] = "full" if answers[y] != "full" else "none"
        edited.append(stored_check(CITY, c.perspective, answers, c.check_id))
    target = stored_check(CITY, "politics", reviewer_person(CITY, 999, skip=0), 7)
    second = next_release(CITY, [first], [*edited, target], 3, T0 + timedelta(days=1))
    assert second is not None
    again = {s.question_id: s for s in (*second.report.divergent, *second.report.priorities)}
    third = Fraction(100, 3)
    for question_id in shown.keys() & again.keys():
        if question_id == y:
            continue  # changed by three: their old and new answers are different unknowns
        before, after = shown[question_id], again[question_id]
        differences = {
            b - a
            for a in possible_sums(before.mean, before.n, 3, third)
            for b in possible_sums(after.mean, after.n, 3, third)
        }
        # The six kept their answer, so the difference is the target's answer: never shown.
        assert after.n != before.n + 1 or len(differences) > 1, question_id


def test_a_fields_n_does_not_tell_that_newcomers_skipped_it() -> None:
    """Finding F: three newcomers all skipped Wirtschaft; n stayed 6 while 9 completed."""
    olds = [
        stored_check(CITY, "administration", reviewer_person(CITY, i, skip=0), i)
        for i in range(1, 7)
    ]
    first = next_release(CITY, [], olds, 3, T0)

    def skipper(seed: int) -> dict[str, str | None]:
        answers = reviewer_person(CITY, seed, skip=0)
        answers.update({x.id: None for x in CITY.field_questions("economy")})
        return answers

    new = [stored_check(CITY, "politics", skipper(50 + i), 50 + i) for i in range(3)]
    second = next_release(CITY, [first], [*olds, *new], 3, T0 + timedelta(days=1))
    assert first.report.field("economy").n == 6 and second is not None
    assert second.report.field("economy").mean is None
    assert second.report.field("management").mean is not None  # answered there: shown


def test_a_subtheme_minus_its_statement_needs_twice_k_people() -> None:
    """Finding H: statement 1 of Kultur (six answers) and the subtheme published together gave
    statement 2's sum over four answers, fewer than the 2k a statement needs."""
    culture = [x.id for x in CITY.field_questions("access") if x.subtheme == "culture"]
    first_answers = ["partly", "partly", "mostly", "partly", "mostly", "partly"]
    second_answers = ["partly", "partly", "mostly", "mostly", None, None]
    checks = []
    for i in range(6):
        rng = __import__("random").Random(i)
        answers: dict[str, str | None] = {
            x.id: rng.choice(["mostly", "full"]) for x in CITY.questions
        }
        answers[culture[0]], answers[culture[1]] = first_answers[i], second_answers[i]
        checks.append(stored_check(CITY, "administration", answers, i + 1))
    report = next_release(CITY, [], checks, 3, T0).report
    statements = {s.question_id for s in (*report.divergent, *report.priorities)}
    subtheme = next(s for s in report.field("access").subthemes if s.subtheme_id == "culture")
    assert culture[0] in statements
    assert subtheme.mean is None


def test_a_viewer_in_a_difference_of_releases_needs_k_others() -> None:
    """Finding C: release 1 has six; release 2 adds the coordinator V and two newcomers: V
    subtracted release 1 and their own score and had the two newcomers' sum."""
    olds = [stored_check(CITY, "administration", reviewer_person(CITY, i), i) for i in range(1, 7)]
    first = next_release(CITY, [], olds, 3, T0)
    v, x, y = (
        stored_check(CITY, p, reviewer_person(CITY, i), i)
        for p, i in (("politics", 100), ("politics", 101), ("civil_society", 102))
    )
    now = [*olds, v, x, y]
    # The coordinator's own check does not count towards the k changes of a new release ...
    assert next_release(CITY, [first], now, 3, T0, viewers=[100]) is None
    # ... and where a release was made anyway, its figures leave V with k others per cell.
    second = next_release(CITY, [first], now, 3, T0 + timedelta(days=1))
    assert second is not None
    seen = [for_viewers(CITY, [first], [100]), for_viewers(CITY, [first, second], [100])]
    for f in CITY.fields:
        before, after = seen[0].field(f.id), seen[1].field(f.id)
        assert before.mean is None or after.mean is None, f.id
        if second.report.field(f.id).mean is not None:
            assert after.withheld_reason in (Reason.TOO_FEW, Reason.OWN)
    mine = {s.question_id for s in (*seen[1].divergent, *seen[1].priorities)}
    earlier = {s.question_id for s in (*seen[0].divergent, *seen[0].priorities)}
    assert not mine & earlier
    # Three newcomers besides V: a release V may see.
    z = stored_check(CITY, "business", reviewer_person(CITY, 103), 103)
    third = next_release(CITY, [first], [*now, z], 3, T0, viewers=[100])
    assert third is not None and any(
        f.mean is not None for f in for_viewers(CITY, [first, third], [100]).fields
    )


def test_every_coordinator_who_took_part_is_a_viewer() -> None:
    """Finding D: the page showed the release as the first participating coordinator A sees
    it; B, in Verwaltung with two others, subtracted their own score from its column."""
    a = stored_check(CITY, "politics", reviewer_person(CITY, 1), 1)
    b = stored_check(CITY, "administration", reviewer_person(CITY, 2), 2)
    rest = [
        stored_check(CITY, p, reviewer_person(CITY, i), i)
        for p, i in (
            ("administration", 3),
            ("administration", 4),
            ("politics", 5),
            ("politics", 6),
            ("politics", 7),
        )
    ]
    release = next_release(CITY, [], [a, b, *rest], 3, T0)
    assert release.report.field("management").by_perspective[0].mean is not None
    both = for_viewers(CITY, [release], [1, 2])
    only_a = for_viewers(CITY, [release], [1])
    for f in CITY.fields:
        columns = {p.perspective_id: p.mean for p in both.field(f.id).by_perspective}
        assert columns.get("administration") is None, f.id
        for p in both.field(f.id).by_perspective:  # never more than either one alone
            alone = {q.perspective_id: q.mean for q in only_a.field(f.id).by_perspective}
            assert p.mean is None or alone[p.perspective_id] == p.mean


def test_releases_stored_before_answer_markers_keep_unchanged_checks_unchanged() -> None:
    """A round begun before this version has releases with one marker per check and field,
    over the answers as the type read them. Read in today's format they stand for the same
    answers: no unchanged check counts as new (which would unlock a release one newcomer
    after the last), and the audit sees the same unknowns as if they had been stored so."""
    rng = __import__("random").Random(3)
    checks = [
        stored_check(
            CITY, "administration", {x.id: rng.choice([*POINTS, None]) for x in CITY.questions}, i
        )
        for i in range(1, 8)
    ]
    release = next_release(CITY, [], checks, 3, T0)
    by_id = {c.check_id: c for c in checks}

    def legacy(check_id: int, field_id: str) -> str:
        answers = by_id[check_id].answers
        asked = [str(answers.get(x.id)) for x in CITY.field_questions(field_id)]
        return f"{check_id}:{_digest(field_id, *asked)}"

    def field_of(key: str) -> str:
        kind, _, rest = key.partition(":")
        if kind in ("q", "z"):
            return CITY.question(rest).field
        if kind == "s":
            return rest.split("/", 1)[0]
        return key.split("/", 1)[0]

    def format_one(groups: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        return {
            key: tuple(sorted({legacy(int(t.split(":")[0]), field_of(key)) for t in tokens}))
            for key, tokens in groups.items()
            if not key.startswith("p:")
        }

    body = json.loads(
        dump_release(
            replace(
                release,
                members=format_one(release.members),
                band_members=format_one(release.band_members),
            )
        )
    )
    del body["markers"], body["municipality_type"]
    stored = load_release(json.dumps(body))
    assert stored.markers == 1 and stored.municipality_type is None
    (upgraded,) = _upgraded(CITY, [stored], checks)
    assert upgraded.members == {k: v for k, v in release.members.items() if not k.startswith("p:")}
    assert upgraded.band_members == release.band_members
    assert changed_checks(CITY, stored, checks) == 0
    newcomer = stored_check(CITY, "politics", reviewer_person(CITY, 70), 70)
    assert next_release(CITY, [stored], [*checks, newcomer], 3, T0) is None
    edited = dict(checks[0].given.answers)
    edited[CITY.questions[0].id] = "full" if edited[CITY.questions[0].id] != "full" else "none"
    changed = [stored_check(CITY, "administration", edited, 1), *checks[1:]]
    assert changed_checks(CITY, stored, changed) == 1


def test_the_attacker_reads_skipped_fields_off_n_without_its_audit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Finding F in the Hypothesis attacker's terms: three newcomers all skipped field alpha."""
    skipped = {x.id: None for x in MINI.field_questions("alpha")}
    events: list[tuple] = [("complete", (None, varied(s))) for s in range(6)] + [("look",)]
    events += [("complete", (None, varied(s) | skipped)) for s in range(6, 9)] + [("look",)]
    attacker = play(MINI, 3, False, events)
    assert attacker.exposed() == []
    assert len(attacker.seen) == 2 and attacker.seen[-1][0].field("beta").mean is not None
    weaken(monkeypatch, "_absence_audit", lambda *_: None)
    exposed = play(MINI, 3, False, events).exposed()
    assert {(f.attack, f.check_id, f.key) for f in exposed} == {
        ("field-n", i, "alpha") for i in (7, 8, 9)
    }
