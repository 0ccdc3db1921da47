"""Groups through the routing table, in-process: joining, reports, rounds, restarts.

The same behaviour tests as over HTTP (they were there before), now driven through
`Router.handle` with a recording delivery and a real SQLite file (`tests/fast.py`): every figure
of the report is still checked against the independent calculation in `test_e2e_groups`, and a
curious coordinator's attacks (inversion, differencing between releases, subtracting one's own
answers) run on the figures exactly as the chat shows them. The Telegram side of groups (QR
photo upload, deep links over HTTP) stays in `test_e2e_groups`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from fractions import Fraction
from pathlib import Path

import pytest

from tests.fast import FastBot, fast_bot
from tests.stored import query, sessions
from tests.test_e2e_groups import (
    BANDS,
    FIELDS,
    FIRST_FIELD_SIZE,
    LINK,
    MAX_POINTS,
    NAME,
    POINTS,
    QUESTIONS,
    SOURCE,
    TOTAL,
    answer_questions,
    assert_field_shown,
    attack,
    band_label,
    choice,
    create_group,
    expected_fields,
    expected_question_lists,
    field_scores,
    forged_press,
    german,
    half_up,
    join,
    pattern,
    press_text,
    reply_text,
    shown_figures,
    text_of,
)


@pytest.fixture
async def bot(database: Path) -> AsyncIterator[FastBot]:
    async with fast_bot(database) as running:
        yield running


async def test_group_report_of_five_participants(bot: FastBot, database: Path) -> None:
    coordinator = bot.user(100, "Kim")
    join_token, coordinator_token, group_id = await create_group(coordinator)
    people = {seed: bot.user(201 + seed, f"P{seed}") for seed in range(5)}
    perspectives = ["Verwaltung", "Politik", "Verwaltung", "Zivilgesellschaft", "Verwaltung"]

    # Two complete: still no figures.
    for seed in (0, 1):
        done = await join(people[seed], join_token, perspectives[seed])
        assert f"Sie nehmen für „{NAME}“ aus der Perspektive {perspectives[seed]} teil" in done
    await asyncio.gather(*(answer_questions(people[s], pattern(s)) for s in (0, 1)))
    report = await reply_text(coordinator, "/groupreport")
    assert f"Gruppenbericht: {NAME} – Runde 1" in report
    # Perspectives are counted by name only from three people on: "Politik 1" would single out.
    assert "2 abgeschlossene Selbstchecks\n" in report and "Politik" not in report
    assert "es fehlt noch einer" in report
    assert "Ø" not in report and "Verteilung" not in report and "Diskussionspunkte" not in report
    assert all(field["title"] not in report for field in FIELDS)  # no per-field lines either

    # One joins without answering, one answers three questions: joined 4, started 3.
    await join(people[2], join_token, perspectives[2])
    await join(people[3], join_token, perspectives[3])
    assert await answer_questions(people[3], pattern(3), limit=3) == 3
    overview = await reply_text(coordinator, "/groups")
    assert f"{NAME} – Runde 1, offen für neue Teilnehmende" in overview
    assert "beigetreten: 4 · begonnen: 3 · abgeschlossen: 2" in overview
    assert f"start={join_token}" in overview

    await join(people[4], join_token, perspectives[4])
    await asyncio.gather(*(answer_questions(people[s], pattern(s)) for s in (2, 3, 4)))
    overview = await reply_text(coordinator, "/groups")
    assert "beigetreten: 5 · begonnen: 5 · abgeschlossen: 5" in overview

    # The full report, figure by figure.
    report = await reply_text(coordinator, "/groupreport")
    assert "5 abgeschlossene Selbstchecks · Verwaltung 3, weitere Perspektiven 2" in report
    assert "es fehlen" not in report and "Stand: Bericht 1 vom " in report
    lines = expected_fields(list(range(5)))
    # The patterns give every band at least once (69,8 is "gut aufgestellt": 70 after rounding).
    assert {band_label(half_up(line.mean)) for line in lines} == {b[2] for b in BANDS}
    for line in lines:
        assert_field_shown(report, line)
    # No perspective column anywhere, and why, said once for the whole report: Politik and
    # Zivilgesellschaft have one person each; Verwaltung (3) would reveal the other two's mean.
    assert "Nach Perspektive" not in report and "n<3" not in report and "n&lt;3" not in report
    assert (
        report.count(
            "Verwaltung wird nicht einzeln ausgewiesen, weil sonst Rückschlüsse auf die übrigen 2 "
            "Personen möglich wären."
        )
        == 1
    )
    for label in ("Politik", "Zivilgesellschaft"):
        assert report.count(f"{label} wird nicht einzeln ausgewiesen, weil weniger als 3") == 1
    # One line per figure explains it; no exact lowest/highest, no per-question spread.
    assert "So lesen Sie die Zahlen" in report and "Ø ist der Durchschnitt" in report
    assert "Spanne" not in report and "Streuung" not in report
    # Five answers per statement are too few for question figures (they need six).
    assert "Diskussionspunkte" not in report and "Prioritäten" not in report
    assert "Einzelne Aussagen werden erst ab 6 Antworten je Aussage ausgewertet" in report
    assert all(len(found) > 1 for _, _, found in attack([report], [list(range(5))]))
    assert report.rstrip().endswith("Grundlage für das Gespräch im Workshop.")

    # A co-coordinator joins by the separate link and sees the same report.
    colleague = bot.user(150, "Co")
    added = await reply_text(colleague, "/start", coordinator_token)
    assert f"Sie koordinieren jetzt gemeinsam die Gruppe „{NAME}“" in added
    assert await reply_text(colleague, "/groupreport") == report
    assert query(database, "SELECT user_id FROM group_coordinators ORDER BY user_id") == [
        (100,),
        (150,),
    ]
    assert sessions(database, 150) == []  # coordinating is not taking part

    # A participant cannot read it: no group of their own, forged buttons refused.
    participant = people[1]
    refusal = await reply_text(participant, "/groupreport")
    assert "Sie koordinieren noch keine Gruppe" in refusal
    for forged in (f"g:r:{group_id}", f"g:c:{group_id}", f"g:N:{group_id}", "g:r:x", "g:r"):
        answer = await forged_press(participant, forged)
        assert "nur die Koordinator*innen der jeweiligen Gruppe" in answer, forged
    assert all("Gruppenbericht" not in text_of(m) for m in participant.messages)
    assert all("Ø" not in text_of(m) for m in participant.messages)
    assert query(database, "SELECT closed_at, current_round FROM groups") == [(None, 1)]
    # Five sessions in the group, each with all answers stored (skips included).
    counts = query(
        database,
        "SELECT s.perspective, count(a.question_id) FROM sessions s JOIN answers a "
        "ON a.session_id = s.id WHERE s.group_id = ? GROUP BY s.id ORDER BY s.user_id",
        group_id,
    )
    assert counts == [
        ("administration", TOTAL),
        ("politics", TOTAL),
        ("administration", TOTAL),
        ("civil_society", TOTAL),
        ("administration", TOTAL),
    ]


async def test_switching_group_asks_first_and_keeps_answers(bot: FastBot, database: Path) -> None:
    coordinator = bot.user(100, "Kim")
    token_a, _, group_a = await create_group(coordinator, "Stadt Altdorf")
    token_b, _, group_b = await create_group(coordinator, "Gemeinde Neudorf")

    person = bot.user(400, "Wechsel")
    await join(person, token_a, "Verwaltung")
    await answer_questions(person, pattern(2), limit=5)
    ((session_id, *_),) = sessions(database, 400)
    stored = query(
        database, "SELECT question_id, option_id FROM answers WHERE session_id = ?", session_id
    )
    assert len(stored) == 5

    again = await reply_text(person, "/start", token_a)
    assert "Sie nehmen bereits am Selbstcheck der Gruppe „Stadt Altdorf“ teil" in again

    ask = await reply_text(person, "/start", token_b)
    assert "Sie sind derzeit der Gruppe „Stadt Altdorf“ zugeordnet" in ask
    assert person.buttons() == [
        "✅ Zu „Gemeinde Neudorf“ wechseln",
        "Nein, bei „Stadt Altdorf“ bleiben",
    ]
    kept = await press_text(person, "bleiben")
    assert "Sie bleiben bei „Stadt Altdorf“" in kept
    assert sessions(database, 400) == [(session_id, group_a, 1, "administration", 0, None, 5)]

    await reply_text(person, "/start", token_b)
    await press_text(person, "wechseln")
    moved = await press_text(person, "Politik")
    assert "Sie nehmen für „Gemeinde Neudorf“ aus der Perspektive Politik teil" in moved
    assert f"5 von {TOTAL} Aussagen bearbeitet" in moved
    assert sessions(database, 400) == [(session_id, group_b, 1, "politics", 0, None, 5)]
    assert (
        query(
            database, "SELECT question_id, option_id FROM answers WHERE session_id = ?", session_id
        )
        == stored
    )
    overview = await reply_text(coordinator, "/groups")
    altdorf, neudorf = overview.split("Stadt Altdorf")[1].split("Gemeinde Neudorf")
    assert "beigetreten: 0 · begonnen: 0 · abgeschlossen: 0" in altdorf
    assert "beigetreten: 1 · begonnen: 1 · abgeschlossen: 0" in neudorf

    # The next answer goes on in the same session.
    assert await answer_questions(person, pattern(2), limit=1) == 1
    assert sessions(database, 400)[0][-1] == 6


async def test_new_round_keeps_round_one_and_shows_change(bot: FastBot, database: Path) -> None:
    coordinator = bot.user(100, "Kim")
    join_token, _, group_id = await create_group(coordinator)
    first, second, third = bot.user(501, "Eins"), bot.user(502, "Zwei"), bot.user(503, "Drei")
    for person in (first, second, third):
        await join(person, join_token, "Verwaltung")
    await asyncio.gather(
        answer_questions(first, pattern(0)),
        answer_questions(second, pattern(3)),
        answer_questions(third, pattern(6)),
    )
    round_one = expected_fields([0, 3, 6])
    report = await reply_text(coordinator, "/groupreport")
    for line in round_one:
        # Everyone is Verwaltung, so its column may be shown: it is the field mean.
        assert f"{line.text}\nVerteilung: hier nicht ausgewiesen\n" in report
        assert f"Nach Perspektive: Verwaltung {german(line.mean)}" in report

    confirm = await reply_text(coordinator, "/newround")
    assert "Die Ergebnisse von Runde 1 bleiben zum Vergleich erhalten" in confirm
    started = await press_text(coordinator, "Ja, neue Runde starten")
    assert f"Runde 2 für „{NAME}“ hat begonnen" in started and join_token in started
    report = await reply_text(coordinator, "/groupreport")
    assert f"Gruppenbericht: {NAME} – Runde 2\n0 abgeschlossene Selbstchecks" in report
    assert "es fehlen noch 3" in report and "Ø" not in report

    # Back by /start: a fresh session in round 2, the old one archived with its answers.
    back = await reply_text(first, "/start")
    assert f"neue Runde für „{NAME}“ gestartet" in back and "Willkommen" in back
    old, new = sessions(database, 501)
    assert old[1:] == (group_id, 1, "administration", 1, "new_round", TOTAL)
    assert new[1:] == (group_id, 2, "administration", 0, None, 0)
    # Back by the link shared again: asked to take part in the new round, no "switch".
    for person in (second, third):
        ask = await reply_text(person, "/start", join_token)
        assert "Selbstcheck für" in ask and "wechseln" not in ask
        await press_text(person, "✅ Einverstanden, teilnehmen")
        await press_text(person, "Verwaltung")
    old, new = sessions(database, 502)
    assert old[1:] == (group_id, 1, "administration", 1, "new_round", TOTAL)
    assert new[1:] == (group_id, 2, "administration", 0, None, 0)

    # Two complete round 2 while the third stops just before the last question.
    await asyncio.gather(
        answer_questions(first, pattern(1)),
        answer_questions(second, pattern(4)),
        answer_questions(third, pattern(7), limit=TOTAL - 1),
    )
    report = await reply_text(coordinator, "/groupreport")
    assert "2 abgeschlossene Selbstchecks" in report and "es fehlt noch einer" in report
    assert "seit Runde" not in report

    assert await answer_questions(third, pattern(7)) == 1
    report = await reply_text(coordinator, "/groupreport")
    round_two = expected_fields([1, 4, 7])
    assert "• seit Runde 1 zeigt, um wie viele Punkte" in report
    for before, after in zip(round_one, round_two, strict=True):
        change = half_up(after.mean * 10) - half_up(before.mean * 10)
        sign = "+" if change > 0 else "±" if change == 0 else "−"
        since = f" · seit Runde 1: {sign}{abs(change) // 10},{abs(change) % 10}"
        assert f"{after.text}{since}\n" in report, after.text
    overview = await reply_text(coordinator, "/groups")
    assert "Runde 2" in overview and "abgeschlossen: 3" in overview
    # Round one is still all there.
    assert query(
        database,
        "SELECT s.group_round, count(DISTINCT s.id), count(*) FROM sessions s "
        "JOIN answers a ON a.session_id = s.id WHERE s.group_id = ? "
        "AND s.completed_at IS NOT NULL GROUP BY s.group_round",
        group_id,
    ) == [(1, 3, 3 * TOTAL), (2, 3, 3 * TOTAL)]


async def test_only_granted_coordinators_create_groups(database: Path) -> None:
    async with fast_bot(database, GROUP_CREATION="coordinators", ADMIN_IDS="900") as bot:
        someone = bot.user(800, "Jemand")
        text = await reply_text(someone, "/newgroup", NAME)
        assert "nur Koordinator*innen anlegen, die von der Betreuung" in text
        assert not LINK.search(text) and not someone.photos
        assert query(database, "SELECT count(*) FROM groups") == [(0,)]
        admin = bot.user(900, "Admin")
        assert f"Gruppe „{NAME}“ angelegt." in await reply_text(admin, "/newgroup", NAME)


async def test_restart_keeps_group_and_perspective(bot: FastBot, database: Path) -> None:
    """/neustart starts a new attempt in the same group, from the same perspective."""
    coordinator = bot.user(7101, "Koordination")
    token, _, group_id = await create_group(coordinator)
    member = bot.user(7102, "Mitglied")
    welcome = await join(member, token, "Politik")
    assert "Sie machen den Selbstcheck für „Stadt Musterstadt“ (Perspektive: Politik)" in welcome
    await press_text(member, "Los geht")
    await press_text(member, "trifft eher zu")
    await reply_text(member, "/neustart")
    again = await press_text(member, "Ja, neu beginnen")
    assert "Perspektive: Politik" in again
    rows = sessions(database, 7102)
    assert [(r[1], r[3], r[5], r[6]) for r in rows] == [
        (group_id, "politics", "restart", 1),
        (group_id, "politics", None, 0),
    ]


async def test_forged_links_and_closed_group(bot: FastBot, database: Path) -> None:
    coordinator = bot.user(100, "Kim")
    join_token, _, group_id = await create_group(coordinator)

    loner = bot.user(300, "Solo")
    forged = [
        "abc",
        "A" * 65,
        "abc$def%",
        "ab.cd/ef",
        join_token[:-1] + ("A" if join_token[-1] != "A" else "B"),
    ]
    for token in forged:
        text = await reply_text(loner, "/start", token)
        assert "Einladungslink ist leider ungültig" in text, token
        assert "Willkommen" in text
    # The check still works, alone.
    await loner.press("▶️ Los geht’s")
    question = await loner.wait_for_message()
    assert f"Frage 1 von {FIRST_FIELD_SIZE}" in text_of(question)
    await answer_questions(loner, pattern(0), limit=2)
    ((_, group, *_rest),) = sessions(database, 300)
    assert group is None
    assert query(database, "SELECT count(*) FROM pending_joins") == [(0,)]

    # Someone opened the link before the group closed, and consents afterwards.
    late = bot.user(301, "Spät")
    assert "Selbstcheck für" in await reply_text(late, "/start", join_token)
    closed = await reply_text(coordinator, "/closegroup")
    assert f"Die Gruppe „{NAME}“ nimmt keine neuen Teilnehmenden mehr auf" in closed
    text = await press_text(late, "✅ Einverstanden, teilnehmen")
    assert f"Die Gruppe „{NAME}“ nimmt derzeit keine neuen Teilnehmenden auf" in text

    newcomer = bot.user(302, "Neu")
    text = await reply_text(newcomer, "/start", join_token)
    assert f"Die Gruppe „{NAME}“ nimmt derzeit keine neuen Teilnehmenden auf" in text
    assert "für sich allein machen" in text and "Willkommen" in text
    assert not [b for b in newcomer.buttons() if "Einverstanden" in b]
    assert "geschlossen" in await reply_text(coordinator, "/groups")
    assert query(database, "SELECT count(*) FROM sessions WHERE group_id = ?", group_id) == [(0,)]

    opened = await reply_text(coordinator, "/opengroup")
    assert f"Die Gruppe „{NAME}“ ist wieder offen" in opened
    done = await join(newcomer, join_token, "Wirtschaft")
    assert "aus der Perspektive Wirtschaft teil" in done
    assert query(
        database, "SELECT user_id, perspective FROM sessions WHERE group_id = ?", group_id
    ) == [(302, "business")]


async def test_several_groups_each_have_all_actions_one_press_away(bot: FastBot) -> None:
    """With several groups, /gruppen offers each group's report and, under ⚙️, everything else."""
    coordinator = bot.user(100, "Kim")
    _, _, first = await create_group(coordinator, "Stadt Nord")
    _, _, second = await create_group(coordinator, "Stadt Süd")

    overview = await reply_text(coordinator, "/gruppen")
    assert "Stadt Nord" in overview and "Stadt Süd" in overview and "Unter ⚙️" in overview
    listing = coordinator.messages[-1]
    data = [b.get("callback_data") for b in listing.inline_buttons]
    assert data == [f"g:r:{first}", f"g:a:{first}", f"g:r:{second}", f"g:a:{second}"]

    await coordinator.press_data(listing.message_id, f"g:a:{second}")
    actions = await coordinator.wait_for_message()
    assert "Gruppe „Stadt Süd“ – Runde 1, offen für neue Teilnehmende" in text_of(actions)
    assert {b.get("callback_data") for b in actions.inline_buttons} == {
        f"g:r:{second}",
        f"g:c:{second}",
        f"g:n:{second}",
        f"g:t:{second}",
        f"w:l:{second}",
    }
    closed = await press_text(coordinator, "🔒 Schließen")
    assert "Stadt Süd" in closed and "keine neuen Teilnehmenden" in closed
    overview = await reply_text(coordinator, "/gruppen")
    assert (
        "Stadt Nord – Runde 1, offen" in overview and "Stadt Süd – Runde 1, geschlossen" in overview
    )

    # The ⚙️ button of a group someone else coordinates is refused like any forged button.
    stranger = bot.user(200, "Fremd")
    await stranger.press_data(listing.message_id, f"g:a:{first}")
    refused = await stranger.wait_for_message()
    assert "Stadt Nord" not in text_of(refused)


def clarify_pattern(seed: int) -> Callable[[int], int | None]:
    """The usual answers, but the first four people skip every seventh statement."""

    def choose(k: int) -> int | None:
        return None if k % 7 == 3 and seed < 4 else choice(seed, k)

    return choose


async def test_group_report_shows_the_subtheme_profile_and_what_to_clarify(
    bot: FastBot,
) -> None:
    coordinator = bot.user(100, "Kim")
    join_token, _, group_id = await create_group(coordinator)
    seeds = list(range(7))
    people = [bot.user(301 + seed, f"P{seed}") for seed in seeds]
    for seed, person in zip(seeds, people, strict=True):
        await join(person, join_token, ["Verwaltung", "Politik", "Wirtschaft"][seed % 3])
    await asyncio.gather(
        *(answer_questions(p, clarify_pattern(s)) for s, p in zip(seeds, people, strict=True))
    )
    text = await reply_text(coordinator, "/groupreport")
    group = await bot.core.storage.group(group_id)
    assert group is not None
    report = (await bot.core.groups.published_report(group, 100)).report

    # The profile of "Fairer Zugang und Teilhabe", each shown mean recomputed here from the
    # answers: all points given in the subtheme over the most they could have been.
    access = report.field("access")
    assert [s.title for s in access.subthemes] == [
        s["title"] for s in next(f for f in FIELDS if f["id"] == "access")["subthemes"]
    ]
    block = text.split("Fairer Zugang und Teilhabe nach Themen", 1)[1].split("\n\n", 1)[0]
    shown = 0
    for subtheme in access.subthemes:
        numbers = [k for k, x in enumerate(QUESTIONS) if x.get("subtheme") == subtheme.subtheme_id]
        given = [
            POINTS[option]
            for seed in seeds
            for k in numbers
            if (option := clarify_pattern(seed)(k)) is not None
        ]
        if subtheme.mean is None:
            assert f"• {subtheme.title}: nicht ausgewiesen" in block
            continue
        shown += 1
        exact = Fraction(100 * sum(given), 3 * len(given))
        mean = german(exact)
        assert f"• {subtheme.title}: Ø {mean} – {band_label(half_up(exact))}" in block
    assert shown >= 5

    # "Zu klären": the statements at least three skipped, most skipped first, never a count.
    skips = {k: sum(clarify_pattern(seed)(k) is None for seed in seeds) for k in range(TOTAL)}
    listed = [
        next(k for k, x in enumerate(QUESTIONS) if x["id"] == u.question_id) for u in report.unclear
    ]
    assert len(listed) == 5 and all(skips[k] >= 3 for k in listed)
    assert [skips[k] for k in listed] == sorted((skips[k] for k in listed), reverse=True)
    assert max(skips[k] for k in listed) == max(skips.values())
    clarify = text.split("Zu klären", 1)[1].split("\n\n", 1)[0]
    assert [line[2:] for line in clarify.splitlines()[1:6]] == [u.text for u in report.unclear]
    assert "mindestens 3 Personen übersprungen" in clarify


def score_with(seed: int, changes: dict[int, int]) -> list[int]:
    """The participant's field scores with some answers (question number -> option) replaced."""
    scores = []
    for field in FIELDS:
        points = [
            POINTS[option]
            for k, question in enumerate(QUESTIONS)
            if question["field"] == field["id"]
            and (option := changes.get(k, choice(seed, k))) is not None
        ]
        scores.append(half_up(Fraction(100 * sum(points), MAX_POINTS * len(points))))
    return scores


async def test_reports_are_releases_a_curious_coordinator_cannot_invert(
    bot: FastBot, database: Path
) -> None:
    """3, 4, 5, 6 and 7 completed checks, a co-coordinator who took part, a lone perspective."""
    coordinator = bot.user(100, "Kim")
    join_token, coordinator_token, _ = await create_group(coordinator)
    colleague = bot.user(150, "Co")  # coordinates and takes part (seed 3)
    await reply_text(colleague, "/start", coordinator_token)
    people = {seed: bot.user(301 + seed, f"P{seed}") for seed in (0, 1, 2, 4, 5, 6)}
    people[3] = colleague
    perspective = {0: "Verwaltung", 1: "Verwaltung", 2: "Verwaltung", 3: "Verwaltung"}
    perspective |= {4: "Politik", 5: "Verwaltung", 6: "Verwaltung"}

    async def complete(*seeds: int) -> None:
        for seed in seeds:
            await join(people[seed], join_token, perspective[seed])
        await asyncio.gather(*(answer_questions(people[s], pattern(s)) for s in seeds))

    await complete(0, 1, 2)
    three = await reply_text(coordinator, "/groupreport")
    assert len(shown_figures(three)) == len(FIELDS)
    assert "3 abgeschlossene Selbstchecks · Verwaltung 3" in three
    assert "Stand: Bericht 1 vom " in three and "Seitdem" not in three
    for line in expected_fields([0, 1, 2]):
        assert_field_shown(three, line)
        # Everyone is Verwaltung, so its column is the field mean and reveals nothing more.
        assert f"Nach Perspektive: Verwaltung {german(line.mean)}" in three
    # With three, band counts would say everyone's band; so the distribution is not shown.
    assert three.count("Verteilung: hier nicht ausgewiesen") == len(FIELDS)

    # A fourth (the co-coordinator) and a fifth (the only Politik) change nothing yet: the
    # difference of two reports would be one person's exact score.
    await complete(3)
    four = await reply_text(coordinator, "/groupreport")
    assert shown_figures(four) == shown_figures(three)
    assert "Stand: Bericht 1 vom " in four
    assert "Seitdem ist 1 Selbstcheck hinzugekommen oder geändert worden" in four
    assert shown_figures(await reply_text(colleague, "/groupreport")) == shown_figures(three)
    await complete(4)
    five = await reply_text(coordinator, "/groupreport")
    assert shown_figures(five) == shown_figures(three)
    assert "Seitdem sind 2 Selbstchecks" in five and "Politik" not in five

    # The sixth makes three new, but one of them is the co-coordinator's own: release 2 minus
    # release 1 minus their own score would be the sum of two. The seventh makes the release.
    await complete(5)
    still = await reply_text(coordinator, "/groupreport")
    assert shown_figures(still) == shown_figures(three) and "Seitdem sind 3 Selbstchecks" in still
    await complete(6)
    six = await reply_text(coordinator, "/groupreport")
    assert "Stand: Bericht 2 vom " in six and "Seitdem" not in six
    assert "7 abgeschlossene Selbstchecks · Verwaltung 6, weitere Perspektiven 1" in six
    for line in expected_fields([0, 1, 2, 3, 4, 5, 6]):
        assert_field_shown(six, line)
    # The lone Politik is never shown; nor Verwaltung, which would reveal that one person.
    assert "Nach Perspektive" not in six
    assert "Politik wird nicht einzeln ausgewiesen, weil weniger als 3 Personen" in six
    assert (
        "Verwaltung wird nicht einzeln ausgewiesen, weil sonst Rückschlüsse auf die eine übrige "
        "Person möglich wären." in six
    )
    divergent, priorities = expected_question_lists([0, 1, 2, 3, 4, 5, 6])
    assert priorities and "\n".join(priorities) in six
    assert not divergent or "\n".join(divergent) in six
    assert "Streuung" not in six and "Spanne" not in six

    # The attacks on everything the coordinator saw, and on what the co-coordinator saw
    # (knowing their own answers): every score keeps more than one possible value.
    seen = [three, six]
    members = [[0, 1, 2], [0, 1, 2, 3, 4, 5, 6]]
    learned = attack(seen, members)
    assert {name for name, _, _ in learned} == {"inversion", "differencing"}
    assert all(len(found) > 1 for _, _, found in learned), [x for x in learned if len(x[2]) <= 1]
    own = await reply_text(colleague, "/groupreport")
    assert shown_figures(own) == shown_figures(six)
    learned = attack([three, own], members, known=[3])
    assert all(len(found) > 1 for _, _, found in learned)
    assert {seed for _, seed, _ in learned} == {0, 1, 2, 4, 5, 6}
    # The lone Politik's score in particular: from the differencing of the two reports alone
    # it is one of several possible values in every field.
    assert all(len(found) > 1 for name, seed, found in learned if seed == 4)


async def test_answer_changed_after_completion_waits_for_the_next_release(
    bot: FastBot, database: Path
) -> None:
    """Live figures would move by exactly one person's change; the release stays as it was."""
    coordinator = bot.user(100, "Kim")
    join_token, _, _ = await create_group(coordinator)
    people = {seed: bot.user(601 + seed, f"P{seed}") for seed in range(3)}
    for person in people.values():
        await join(person, join_token, "Verwaltung")
    await asyncio.gather(*(answer_questions(people[s], pattern(s)) for s in people))
    before = await reply_text(coordinator, "/groupreport")
    assert len(shown_figures(before)) == len(FIELDS)

    # P1 reopens the first field from the menu and changes its first answer.
    changer = people[1]
    await reply_text(changer, "/menu")
    await press_text(changer, re.compile(r"^✅ 1\. "))
    await press_text(changer, "✏️ Antworten ansehen/ändern")
    first = QUESTIONS[0]["id"]
    sql = (
        "SELECT a.option_id FROM answers a JOIN sessions s ON s.id = a.session_id "
        "WHERE a.question_id = ? AND s.user_id = ?"
    )
    old = query(database, sql, first, changer.chat_id)
    new_choice = 3 if choice(1, 0) != 3 else 0
    assert await answer_questions(changer, lambda _: new_choice, limit=1) == 1
    stored = query(database, sql, first, changer.chat_id)
    assert stored == [(SOURCE["scale"]["options"][new_choice]["id"],)] and stored != old
    assert field_scores(1)[0] != score_with(1, {0: new_choice})[0]  # the field score moved

    after = await reply_text(coordinator, "/groupreport")
    assert shown_figures(after) == shown_figures(before)
    assert "Stand: Bericht 1 vom " in after
    assert "Seitdem ist 1 Selbstcheck hinzugekommen oder geändert worden" in after


async def test_the_type_stays_fixed_once_the_round_has_a_report(
    bot: FastBot, database: Path
) -> None:
    """Finding A of the privacy review: changing the type after a release re-read every check
    under other questions, so the next report followed after one newcomer and the difference
    was that person's score. Once a round has a report its type stays, with a kind word
    about the next round."""
    coordinator = bot.user(100, "Kim")
    join_token, _, group_id = await create_group(coordinator)
    type_choice = next(m for m in reversed(coordinator.messages) if "Landkreis" in m.button_texts)
    people = [bot.user(601 + s, f"P{s}") for s in range(3)]
    for person in people:
        await join(person, join_token, "Verwaltung")
    await asyncio.gather(*(answer_questions(p, pattern(s)) for s, p in enumerate(people)))
    first = await reply_text(coordinator, "/groupreport")
    assert "Stand: Bericht 1" in first

    def group_type() -> str | None:
        return query(database, "SELECT municipality_type FROM groups WHERE id = ?", group_id)[0][0]

    before = group_type()
    # The type buttons of the first message (still in the chat) change nothing now.
    await coordinator.press("Landkreis", type_choice)
    await coordinator.wait_until_idle()
    explained = text_of(
        next(m for m in coordinator.messages if m.message_id == type_choice.message_id)
    )
    assert "bleibt in Runde 1" in explained and "/neuerunde" in explained
    assert "schon ein Gruppenbericht erschienen" in explained
    assert group_type() == before
    assert (
        coordinator.answered_callbacks[-1]["text"]
        == "Art der Kommune bleibt bis zur nächsten Runde"
    )
    # The group's action says the same, without type buttons.
    await reply_text(coordinator, "/groups")
    fixed = await press_text(coordinator, "🏛 Art der Kommune")
    assert "bleibt in Runde 1" in fixed and "Landkreis" not in coordinator.buttons()
    assert await reply_text(coordinator, "/groupreport") == first

    # In the next round (no report yet) the type may change again.
    await reply_text(coordinator, "/newround")
    await press_text(coordinator, "Ja, neue Runde starten")
    await reply_text(coordinator, "/groups")
    offered = await press_text(coordinator, "🏛 Art der Kommune")
    assert "bleibt" not in offered and "Landkreis" in coordinator.buttons()
    changed = await press_text(coordinator, "Landkreis")
    assert "Landkreis" in changed and group_type() == "district"


async def test_the_change_since_last_round_never_gives_a_mean_that_round_withheld(
    bot: FastBot, database: Path
) -> None:
    """Round 1: the coordinator and three colleagues, one of whom skipped the first field, so
    its mean rests on the coordinator and two others and is withheld for the coordinator.
    Round 2's "seit Runde 1" is new mean minus old mean: it must not hand the coordinator
    round 1's mean there, from which they would subtract their own score."""
    coordinator = bot.user(100, "Kim")
    join_token, _, _ = await create_group(coordinator)
    first = [coordinator, *(bot.user(701 + s, f"A{s}") for s in range(3))]
    for person in first:
        await join(person, join_token, "Verwaltung")
    first_field = FIELDS[0]["id"]

    def skipping(seed: int) -> Callable[[int], int | None]:
        return lambda k: None if QUESTIONS[k]["field"] == first_field else choice(seed, k)

    choices = [pattern(0), pattern(1), pattern(2), skipping(3)]
    await asyncio.gather(*(answer_questions(p, c) for p, c in zip(first, choices, strict=True)))
    round_one = await reply_text(coordinator, "/groupreport")
    title = FIELDS[0]["title"]
    assert f"<b>1. {title}</b>" not in round_one and f"1. {title}\nkeine Zahlen" in round_one
    assert f"2. {FIELDS[1]['title']}\nØ" in round_one
    await reply_text(coordinator, "/newround")
    await press_text(coordinator, "Ja, neue Runde starten")
    second = [bot.user(711 + s, f"R{s}") for s in range(3)]
    for person in second:
        await join(person, join_token, "Verwaltung")
    await asyncio.gather(*(answer_questions(p, pattern(s + 4)) for s, p in enumerate(second)))
    report = await reply_text(coordinator, "/groupreport")
    lines = {block.split("\n")[0]: block for block in report.split("\n\n")}
    assert "seit Runde 1" in lines[f"2. {FIELDS[1]['title']}"]
    assert "Ø" in lines[f"1. {title}"] and "seit Runde 1" not in lines[f"1. {title}"]


async def test_a_coordinator_learns_why_figures_wait_for_a_colleague_who_took_part(
    bot: FastBot, database: Path
) -> None:
    """Three completed, one of them a co-coordinator's own: every rendering withholds what
    that co-coordinator could work out, and says so to the coordinator who did not take part
    (not "ab 3 Selbstchecks" while three are there)."""
    coordinator = bot.user(100, "Kim")
    join_token, coordinator_token, _ = await create_group(coordinator)
    colleague = bot.user(150, "Co")
    await reply_text(colleague, "/start", coordinator_token)
    people = [colleague, bot.user(801, "A"), bot.user(802, "B")]
    for person in people:
        await join(person, join_token, "Verwaltung")
    await asyncio.gather(*(answer_questions(p, pattern(s)) for s, p in enumerate(people)))
    mine = await reply_text(coordinator, "/groupreport")
    assert "3 abgeschlossene Selbstchecks" in mine and "Ø" not in mine
    assert "außer dem eigenen Selbstcheck einer Koordinatorin oder eines Koordinators" in mine
    assert "es fehlt noch einer" in mine
    theirs = await reply_text(colleague, "/groupreport")
    assert "Ø" not in theirs and "außer Ihrem eigenen" in theirs
