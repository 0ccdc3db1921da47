"""A participant's data rights and the stored release history, in-process (`tests/fast.py`).

Releases survive a restart (a fresh history after a restart would let a coordinator difference
the first new release against what they saw before).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.fast import fast_bot
from tests.test_e2e_groups import (
    FIELDS,
    answer_questions,
    attack,
    create_group,
    join,
    pattern,
    query,
    reply_text,
    shown_figures,
)


async def test_a_report_seen_once_is_shown_unchanged_after_a_restart(database: Path) -> None:
    async with fast_bot(database) as bot:
        coordinator = bot.user(100, "Kim")
        token, _, group_id = await create_group(coordinator)
        people = {seed: bot.user(301 + seed, f"P{seed}") for seed in range(4)}
        for seed in range(3):
            await join(people[seed], token, "Verwaltung")
        await asyncio.gather(*(answer_questions(people[s], pattern(s)) for s in range(3)))
        three = await reply_text(coordinator, "/groupreport")
        assert len(shown_figures(three)) == len(FIELDS) and "Stand: Bericht 1 vom " in three
        await join(people[3], token, "Verwaltung")
        await answer_questions(people[3], pattern(3))
        four = await reply_text(coordinator, "/groupreport")
        assert "Seitdem sind 1 Selbstchecks" in four

    async with fast_bot(database) as bot:
        after = await reply_text(bot.user(100, "Kim"), "/groupreport")
    # The same text, word for word: the same release, with the fourth still waiting.
    assert after == four
    assert shown_figures(after) == shown_figures(three)
    stored = query(
        database, "SELECT round, number FROM group_releases WHERE group_id = ?", group_id
    )
    assert stored == [(1, 1)]
    # The restart attack: a fresh first release over four checks, differenced against the
    # three-check release seen before, would give the fourth person's exact score. The
    # coordinator learns nothing from the two reports beyond the first one.
    learned = attack([three, after], [[0, 1, 2], [0, 1, 2]])
    assert {name for name, _, _ in learned} == {"inversion"}
    assert all(len(found) > 1 for _, _, found in learned)
