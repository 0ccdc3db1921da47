"""Stored releases: the JSON a release is kept in, byte for byte as it has always been.

A release is stored once and read back for as long as the round's audit needs it (and shown
again unchanged), so the text `bot.store.release_json` writes must stay what earlier versions
wrote, and what they wrote must still read. The fixture `tests/fixtures/release-2026-12.json` is
the JSON of `published()` as the pydantic models of commit c62f854 wrote it (`model_dump_json`),
before the published types became stdlib dataclasses.
"""

from __future__ import annotations

import json
import random
import sqlite3
from contextlib import closing
from dataclasses import fields, is_dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.store.release_json import dump_release, load_release
from bot.store.storage import Storage
from flows.disclosure import (
    Check,
    Given,
    Reason,
    Release,
    for_viewers,
    forget,
    next_release,
    nothing_yet,
)
from flows.disclosure.markers import _upgraded
from flows.loading import parse_questionnaire

ROOT = Path(__file__).resolve().parent.parent
CITY = parse_questionnaire(
    (ROOT / "tests/fixtures/mini.yaml").read_text(encoding="utf-8"), "mini"
).for_type("city")
FIXTURE = ROOT / "tests/fixtures/release-2026-12.json"
OPTIONS = ["none", "partly", "mostly", "full"]


def stored_checks() -> list[Check]:
    """Fourteen checks (ten Verwaltung, three Politik, one without a perspective).

    Politik skips field alpha, so Verwaltung's column there would tell the one left (a note
    with `others`); nearly everyone skips gamma (a withheld field: None everywhere) and most
    skip the subtheme housing (a withheld subtheme); the rest gives means, bands, band counts,
    perspective columns, statements and "zu klären".
    """
    rng = random.Random(4)
    perspectives = [*["administration"] * 10, *["politics"] * 3, None]
    checks = []
    for i, perspective in enumerate(perspectives):
        level = rng.randint(0, 3)
        skip = {"gamma": 0.9, "alpha": 0.95 if perspective == "politics" else 0.1}
        answers: dict[str, str | None] = {
            x.id: None
            if rng.random() < (0.8 if x.subtheme == "housing" else skip.get(x.field, 0.15))
            else OPTIONS[max(0, min(3, level + rng.choice([-1, 0, 0, 1])))]
            for x in CITY.questions
        }
        checks.append(Check(perspective, answers, i + 1, Given(answers, CITY)))
    return checks


def published() -> Release:
    """A second round's first release as the group desk publishes it, with every kind of
    value (see `stored_checks`), and a change per field against the first round."""
    checks = stored_checks()
    t0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    first_round = next_release(CITY, [], checks[:7], 3, t0)
    assert first_round is not None
    later = t0 + timedelta(days=3, hours=1, microseconds=123456)
    release = next_release(CITY, [], checks, 3, later, previous_round=first_round.report)
    assert release is not None
    return release


def as_stored(release: Release, text: str) -> Release:
    """`release` with its `members` in the order of the stored `text`.

    The order a release's figures are added to `members` follows a set of statement ids, so
    it differs between processes (string hashes are salted): the same release, as equal as
    before, but written with its keys in another order. Ordered as in `text`, the bytes are
    comparable.
    """
    order = list(json.loads(text)["members"])
    assert sorted(order) == sorted(release.members)
    return replace(release, members={key: release.members[key] for key in order})


def test_a_published_release_is_stored_as_before() -> None:
    stored = FIXTURE.read_text(encoding="utf-8").removesuffix("\n")
    release = published()
    assert load_release(stored) == release
    assert dump_release(as_stored(release, stored)) == stored
    # What was read is written again byte for byte (a deletion rewrites stored releases).
    assert dump_release(load_release(stored)) == stored
    # The fixture holds every kind of value a release stores.
    report = release.report
    alpha, beta, gamma = report.fields
    assert release.number == 1 and release.markers == 2 and release.municipality_type == "city"
    assert release.published_at.microsecond and release.published_at.tzinfo is UTC
    assert release.members and release.band_members and report.published_at is not None
    assert beta.band is not None and beta.band_counts and beta.change is not None
    assert beta.by_perspective[0].mean is not None
    assert beta.by_perspective[1].withheld_reason is Reason.COMPLEMENT
    assert [s.band is None for s in beta.subthemes] == [False, True]
    assert (gamma.mean, gamma.band, gamma.band_counts, gamma.withheld_reason) == (
        None,
        None,
        None,
        Reason.TOO_FEW,
    )
    assert alpha.subthemes == () and report.perspective_notes[0].others == 1
    assert report.divergent and report.priorities and report.unclear
    assert "ä" in stored  # written as UTF-8, not escaped


def test_a_stored_release_reads_back_equal_and_hashable() -> None:
    release = published()
    again = load_release(dump_release(release))
    assert again == release and dump_release(again) == dump_release(release)
    assert hash(again.report) == hash(release.report)
    assert isinstance(again.check_ids, tuple) and isinstance(again.report.fields, tuple)
    assert all(isinstance(tokens, tuple) for tokens in again.members.values())
    assert all(isinstance(tokens, tuple) for tokens in again.band_members.values())
    assert isinstance(again.report.fields[1].band_counts, tuple)
    assert type(again.report.fields[1].band) is type(CITY.bands[0])
    assert again.report.fields[2].withheld_reason is Reason.TOO_FEW
    assert again.published_at.utcoffset() == timedelta(0)


def test_a_release_stored_by_an_older_version_reads_with_the_defaults() -> None:
    """Stored before "zu klären", subtheme profiles, answer markers and the recorded type."""
    body = json.loads(FIXTURE.read_text(encoding="utf-8"))
    del body["markers"], body["municipality_type"], body["report"]["unclear"]
    for field in body["report"]["fields"]:
        del field["subthemes"]
    old = load_release(json.dumps(body))
    assert (old.markers, old.municipality_type, old.report.unclear) == (1, None, ())
    assert all(f.subthemes == () for f in old.report.fields)
    release = published()
    assert old.report.fields[1].mean == release.report.fields[1].mean
    assert old.members == release.members and old.check_ids == release.check_ids


@pytest.mark.parametrize("where", ["release", "report", "field", "band count"])
def test_a_stored_release_with_an_unknown_key_is_refused(where: str) -> None:
    body = json.loads(FIXTURE.read_text(encoding="utf-8"))
    part = {
        "release": body,
        "report": body["report"],
        "field": body["report"]["fields"][0],
        "band count": body["report"]["fields"][1]["band_counts"][0],
    }[where]
    part["spread"] = 12
    with pytest.raises(ValidationError, match="spread"):
        load_release(json.dumps(body))


async def test_the_store_keeps_a_release_as_published(tmp_path: Path) -> None:
    """Through the repository into a real SQLite file and back, after a reopen."""
    release = published()
    now = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    storage = await Storage.open(tmp_path / "db.sqlite3")
    try:
        group = await storage.create_group("Stadt Musterstadt", "join", "coordinate", 100, now)
        assert await storage.add_release(group.id, 1, release, now)
        assert not await storage.add_release(group.id, 1, release, now)  # one per number
    finally:
        await storage.close()
    storage = await Storage.open(tmp_path / "db.sqlite3")
    try:
        assert await storage.releases(group.id, 1) == [release]
    finally:
        await storage.close()
    with closing(sqlite3.connect(tmp_path / "db.sqlite3")) as db:
        ((kind, body),) = db.execute("SELECT typeof(body), body FROM group_releases").fetchall()
    assert kind == "text" and body == dump_release(release)


def no_lists(value: object, where: str = "release") -> None:
    """Every sequence in a published value is a tuple: none of the types has a list field, and
    a list where a tuple belongs would make a report unhashable and unequal to itself read
    back (pydantic made tuples of lists; a dataclass keeps what it is given)."""
    assert not isinstance(value, list), where
    if is_dataclass(value):
        for f in fields(value):
            no_lists(getattr(value, f.name), f"{where}.{f.name}")
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            no_lists(item, f"{where}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            no_lists(item, f"{where}[{key!r}]")


def test_every_way_of_making_a_release_gives_tuples() -> None:
    """Publishing, a viewer's view, the report before a release, a deletion, an old format."""
    checks = stored_checks()
    release = published()
    mine = for_viewers(CITY, [release], [1])
    assert mine != release.report and mine.for_participants
    before = nothing_yet(CITY, 2, 3, for_participants=True)
    (forgotten,) = forget([release], 1, -7, lambda: "0a1b2c3d4e5f")
    assert -7 in forgotten.check_ids and forgotten.members != release.members
    (upgraded,) = _upgraded(CITY, [replace(release, markers=1)], checks)
    assert upgraded.markers == 2
    for what, value in [
        ("release", release),
        ("viewers", mine),
        ("nothing yet", before),
        ("forgotten", forgotten),
        ("upgraded", upgraded),
    ]:
        no_lists(value, what)
        report = value.report if isinstance(value, Release) else value
        assert hash(report) == hash(replace(report)), what
        if isinstance(value, Release):
            assert load_release(dump_release(value)) == value, what
