"""Real questionnaire, real aggregation, synthetic people: the data behind the web tests.

A fake `WorkshopSource` serves group reports computed by `flows.aggregation.group_report` over
completed checks made here, so every figure the page shows can be compared with the report.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from bot.web.source import GroupLink, WorkshopData
from flows.aggregation import GroupReport, Participant, group_report
from flows.loading import parse_questionnaire
from flows.questionnaire import Questionnaire

ROOT = Path(__file__).resolve().parent.parent
QUESTIONNAIRE = parse_questionnaire(
    (ROOT / "questionnaires" / "weltoffene-kommune.de.yaml").read_text(encoding="utf-8"),
    "weltoffene-kommune.de.yaml",
)
BOT_TOKEN = "123456:TESTtokenTESTtokenTESTtoken"
RELEASED = date(2026, 11, 30)


def completed_check(seed: int, perspective: str | None, q: Questionnaire = QUESTIONNAIRE):
    """A completed check: every question answered or skipped ("weiß nicht"), seeded."""
    rng = random.Random(seed)
    options = [o.id for o in q.scale.options]
    answers: dict[str, str | None] = {}
    for question in q.questions:
        answers[question.id] = None if rng.random() < 0.12 else rng.choice(options)
    return Participant(perspective, answers)


def checks(seeds_and_perspectives: list[tuple[int, str | None]]) -> list[Participant]:
    return [completed_check(seed, p) for seed, p in seeds_and_perspectives]


FIVE = checks(
    [
        (1, "administration"),
        (2, "administration"),
        (3, "administration"),
        (4, "politics"),
        (5, "politics"),
    ]
)
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


@dataclass
class Group:
    name: str
    generation: int = 0
    closed: bool = False
    coordinators: set[int] = field(default_factory=set)
    rounds: dict[int, WorkshopData] = field(default_factory=dict)


class FakeSource:
    """A `WorkshopSource` over in-memory groups; reports come from the real aggregation."""

    def __init__(self) -> None:
        self.groups: dict[int, Group] = {}

    def add(self, group_id: int, group: Group) -> Group:
        self.groups[group_id] = group
        return group

    async def group_link(self, group_id: int) -> GroupLink | None:
        group = self.groups.get(group_id)
        return GroupLink(group.generation, group.closed) if group else None

    async def page_data(self, group_id: int, round: int) -> WorkshopData | None:
        group = self.groups.get(group_id)
        return group.rounds.get(round) if group else None

    async def is_coordinator(self, user_id: int, group_id: int) -> bool:
        group = self.groups.get(group_id)
        return group is not None and user_id in group.coordinators


def round_data(
    name: str,
    round: int,
    participants: list[Participant],
    previous: list[Participant] | None = None,
) -> tuple[WorkshopData, GroupReport]:
    report = group_report(QUESTIONNAIRE, participants, previous=previous)
    data = WorkshopData(
        group_name=name,
        round=round,
        released=RELEASED,
        questionnaire=QUESTIONNAIRE,
        report=report,
        previous_round=round - 1 if previous is not None else None,
    )
    return data, report


MUSTERSTADT, SIXTOWN, TINY, CLOSED = 1, 2, 3, 4
COORDINATOR, OTHER_COORDINATOR, STRANGER = 1001, 1002, 1003


def fake_source() -> tuple[FakeSource, dict[int, GroupReport]]:
    """Four groups: 5 checks with an earlier round, 6 checks (3+3), 2 checks, a closed one."""
    source = FakeSource()
    reports = {}
    five, reports[MUSTERSTADT] = round_data("Stadt Musterstadt", 2, FIVE, FIVE_PREVIOUS)
    source.add(
        MUSTERSTADT, Group("Stadt Musterstadt", coordinators={COORDINATOR}, rounds={2: five})
    )
    six, reports[SIXTOWN] = round_data("Gemeinde Sechsdorf", 1, SIX)
    source.add(
        SIXTOWN, Group("Gemeinde Sechsdorf", coordinators={OTHER_COORDINATOR}, rounds={1: six})
    )
    two, reports[TINY] = round_data("Markt Klein", 1, TWO)
    source.add(TINY, Group("Markt Klein", coordinators={COORDINATOR}, rounds={1: two}))
    closed, _ = round_data("Amt Zu", 1, FIVE)
    source.add(CLOSED, Group("Amt Zu", closed=True, coordinators={COORDINATOR}, rounds={1: closed}))
    return source, reports
