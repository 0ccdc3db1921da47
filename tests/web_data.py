"""Real questionnaire, real disclosure control, synthetic people: the data behind the web tests.

Completed checks are made here (seeded answers on the real questionnaire); the reports are what
`flows.disclosure` publishes for them — releases made by `next_release` as a group looks at its
report over time, then `for_viewers`, exactly as `GroupDesk.published_report` does for the chat.
A fake `WorkshopSource` serves those reports, so every figure the page shows can be compared
with the published report.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app.ports import ViewerReport
from bot.web.source import GroupLink, WorkshopData
from flows.disclosure import (
    Check,
    PublishedReport,
    Release,
    changed_checks,
    for_viewers,
    next_release,
    nothing_yet,
)
from flows.loading import parse_questionnaire
from flows.questionnaire import Questionnaire

ROOT = Path(__file__).resolve().parent.parent
QUESTIONNAIRE = parse_questionnaire(
    (ROOT / "questionnaires" / "weltoffene-kommune.de.yaml").read_text(encoding="utf-8"),
    "weltoffene-kommune.de.yaml",
)
BOT_TOKEN = "123456:TESTtokenTESTtokenTESTtoken"
K = 3  # GROUP_MIN_SIZE's default
FIRST_LOOK = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
RELEASED = FIRST_LOOK.date()


def completed_check(
    seed: int, perspective: str | None, check_id: int, q: Questionnaire = QUESTIONNAIRE
) -> Check:
    """A completed check: every question answered or skipped ("weiß nicht"), seeded."""
    rng = random.Random(seed)
    options = [o.id for o in q.scale.options]
    answers: dict[str, str | None] = {}
    for question in q.questions:
        answers[question.id] = None if rng.random() < 0.12 else rng.choice(options)
    return Check(perspective, answers, check_id)


def checks(seeds_and_perspectives: list[tuple[int, str | None]], first_id: int = 1) -> list[Check]:
    return [
        completed_check(seed, p, first_id + i) for i, (seed, p) in enumerate(seeds_and_perspectives)
    ]


FIVE = checks(
    [
        (1, "administration"),
        (2, "administration"),
        (3, "administration"),
        (4, "politics"),
        (5, "politics"),
    ]
)
LATE = checks([(6, "civil_society"), (7, "economy")], first_id=6)  # after the first release
FIVE_PREVIOUS = checks([(11, "administration"), (12, "politics"), (13, "civil_society")])
SIX = checks(
    [
        (21, "administration"),
        (22, "administration"),
        (23, "administration"),
        (24, "politics"),
        (25, "politics"),
        (26, "politics"),
    ]
)
TWO = checks([(31, "administration"), (32, "politics")])


@dataclass(frozen=True)
class Published:
    """What `GroupDesk.published_report` returns: the report, checks pending, viewer took part."""

    report: PublishedReport
    pending: int
    own: bool


def published(
    looks: Sequence[Sequence[Check]],
    *,
    viewer: int | None = None,
    previous_round: PublishedReport | None = None,
    round_closed: bool = False,
    q: Questionnaire = QUESTIONNAIRE,
    k: int = K,
) -> Published:
    """The report after the group looked at it once per set of checks in `looks`, in order.

    Each look may add a release (when disclosure control allows one); the last look's checks
    are the current ones. `viewer` is the check id of a coordinator who took part.
    """
    history: list[Release] = []
    viewers = [viewer] if viewer is not None else []
    for day, current in enumerate(looks):
        release = next_release(
            q,
            history,
            current,
            k,
            FIRST_LOOK + timedelta(days=day),
            round_closed=round_closed,
            previous_round=previous_round,
            viewers=[v for v in viewers if any(c.check_id == v for c in current)],
        )
        if release is not None:
            history.append(release)
    now = looks[-1]
    own = viewer is not None and any(c.check_id == viewer for c in now)
    if not history:
        return Published(nothing_yet(q, len(now), k, for_participants=own), 0, own)
    return Published(for_viewers(q, history, viewers), changed_checks(q, history[-1], now), own)


@dataclass
class Group:
    name: str
    generation: int = 0
    coordinators: set[int] = field(default_factory=set)
    rounds: dict[int, WorkshopData] = field(default_factory=dict)


class FakeSource:
    """A `WorkshopSource` over in-memory groups; reports come from the real disclosure layer."""

    def __init__(self) -> None:
        self.groups: dict[int, Group] = {}

    def add(self, group_id: int, group: Group) -> Group:
        self.groups[group_id] = group
        return group

    async def group_link(self, group_id: int) -> GroupLink | None:
        group = self.groups.get(group_id)
        return GroupLink(group.generation, max(group.rounds, default=1)) if group else None

    async def page_data(self, group_id: int, round: int) -> WorkshopData | None:
        group = self.groups.get(group_id)
        return group.rounds.get(round) if group else None

    async def is_coordinator(self, user_id: int, group_id: int) -> bool:
        group = self.groups.get(group_id)
        return group is not None and user_id in group.coordinators


def round_data(name: str, round: int, result: Published) -> WorkshopData:
    return WorkshopData(
        group_name=name,
        round=round,
        questionnaire=QUESTIONNAIRE,
        seen=ViewerReport(result.report, pending=result.pending, own=result.own),
    )


MUSTERSTADT, SIXTOWN, TINY = 1, 2, 3
COORDINATOR, OTHER_COORDINATOR, STRANGER = 1001, 1002, 1003


def fake_source() -> tuple[FakeSource, dict[int, Published]]:
    """Three groups, each report as the chat would show it to a coordinator who did not take part:

    - Musterstadt, round 2: 5 checks released (Verwaltung 3, Politik 2), 2 more completed
      since (waiting for the next release), changes against round 1's final release;
    - Sechsdorf: 6 checks (Verwaltung 3, Politik 3): perspectives and statements published;
    - Markt Klein: 2 checks, no release yet;
    """
    source = FakeSource()
    results: dict[int, Published] = {}
    earlier = published([FIVE_PREVIOUS], round_closed=True).report
    results[MUSTERSTADT] = published([FIVE, [*FIVE, *LATE]], previous_round=earlier)
    results[SIXTOWN] = published([SIX])
    results[TINY] = published([TWO])
    groups = {
        MUSTERSTADT: ("Stadt Musterstadt", 2, {COORDINATOR}),
        SIXTOWN: ("Gemeinde Sechsdorf", 1, {OTHER_COORDINATOR}),
        TINY: ("Markt Klein", 1, {COORDINATOR}),
    }
    for group_id, (name, round, coordinators) in groups.items():
        data = round_data(name, round, results[group_id])
        source.add(group_id, Group(name, coordinators=coordinators, rounds={round: data}))
    return source, results
