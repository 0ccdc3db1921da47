"""Databases for the benchmark: a large, realistic history (cached) and a big group round.

The schema always comes from the product itself (`Storage.open` + `Catalog.load`); rows are
then bulk-inserted with plain sqlite3 in one transaction with journaling and syncing off.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.store.catalog import Catalog
from bot.store.content import DEFAULT_QUESTIONNAIRE
from bot.store.storage import MIGRATIONS, Storage
from flows.questionnaire import Questionnaire

CACHE = Path(__file__).resolve().parent / ".cache"
GENERATOR_VERSION = "4"
# The history is recent: people inactive longer than RETENTION_MONTHS would all be due for a
# notice and deletion, and the bot's retention job would then work through 160 000 of them
# during every measurement (a real database has no such backlog: retention keeps it away).
_GENERATED = datetime.now(UTC)
LONG_AGO = (_GENERATED - timedelta(days=60)).isoformat(timespec="seconds")
RECENTLY = (_GENERATED - timedelta(days=30)).isoformat(timespec="seconds")
FIRST_BENCH_USER = 50_000_000  # simulated users of a run never collide with generated ones


async def create_schema(path: Path) -> Questionnaire:
    """An empty database exactly as the bot creates it, with the active questionnaire stored."""
    storage = await Storage.open(path)
    try:
        catalog = await Catalog.load(storage, DEFAULT_QUESTIONNAIRE)
    finally:
        await storage.close()
    return catalog.active


def signature(q: Questionnaire) -> str:
    """Changes whenever the schema, the questionnaire or this generator change."""
    digest = hashlib.sha256("\n".join(MIGRATIONS).encode())
    digest.update(q.content_hash.encode())
    digest.update(GENERATOR_VERSION.encode())
    digest.update(str(_GENERATED.year).encode())  # made anew each year, so it stays recent
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class History:
    path: Path
    sessions: int
    answers: int
    users: int
    seconds: float  # generation time (0 when taken from the cache)


def _tables(db: sqlite3.Connection) -> set[str]:
    return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _open_bulk(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-262144")  # 256 MiB while generating
    return db


async def history_db(sessions: int, answers: int, log: callable = print) -> History:
    """A database with `sessions` sessions and about `answers` answers, cached by signature.

    A fifth of the people restarted once (an archived attempt plus the current one); three in
    four sessions are completed (all 104 answers); the open ones are idle and were already
    reminded the maximum number of times, so the reminder task finds nothing to send.
    """
    CACHE.mkdir(parents=True, exist_ok=True)
    probe = CACHE / "schema-probe.sqlite3"
    for leftover in CACHE.glob("schema-probe.sqlite3*"):
        leftover.unlink()
    q = await create_schema(probe)
    path = CACHE / f"history-{sessions}-{answers}-{signature(q)}.sqlite3"
    for leftover in CACHE.glob("schema-probe.sqlite3*"):
        leftover.unlink()
    if path.exists():
        # Counting 20 million answers would read the whole file (minutes from a cold disk);
        # the generator's own arithmetic says how many it wrote.
        with sqlite3.connect(path) as db:
            (n_users,) = db.execute("SELECT count(*) FROM users").fetchone()
            (n_sessions,) = db.execute("SELECT max(id) FROM sessions").fetchone()
        assert n_sessions == sessions, f"{path.name}: {n_sessions} sessions, not {sessions}"
        return History(path, sessions, planned_answers(q, sessions, answers), n_users, 0.0)
    for stale in CACHE.glob(f"history-{sessions}-{answers}-*.sqlite3"):
        stale.unlink()  # made for an older schema or questionnaire
    began = time.monotonic()
    partial = path.with_suffix(".partial")
    for leftover in CACHE.glob(partial.name + "*"):
        leftover.unlink()
    await create_schema(partial)
    log(f"  generating {sessions:,} sessions / ~{answers:,} answers into {path.name} …")
    questions = [question.id for question in q.questions]
    total = len(questions)
    options = [option.id for option in q.scale.options]
    archived = sessions // 5
    users = sessions - archived
    per_open = _per_open(total, sessions, answers)
    sorted_prefix = {n: sorted(questions[:n]) for n in {per_open, total}}

    def is_completed(sid: int) -> bool:
        return sid % 4 != 0

    def user_of(sid: int) -> int:
        index = sid - 1
        return index + 1 if index < archived else index - archived + 1

    def session_rows() -> Iterator[tuple]:
        for sid in range(1, sessions + 1):
            done = is_completed(sid)
            arch = sid <= archived
            if done:
                screen, field_id, question_id, revision = "results", None, None, total + 2
            else:
                current = q.question(questions[per_open])
                screen, field_id, question_id = "question", current.field, current.id
                revision = per_open + 1
            yield (
                sid,
                user_of(sid),
                q.content_hash,
                screen,
                field_id,
                question_id,
                revision,
                1,
                LONG_AGO,
                LONG_AGO,
                RECENTLY if done else None,
                LONG_AGO if arch else None,
                "restart" if arch else None,
            )

    def answer_rows() -> Iterator[tuple]:
        for sid in range(1, sessions + 1):
            ids = sorted_prefix[total if is_completed(sid) else per_open]
            for j, question_id in enumerate(ids):
                value = None if (sid + j) % 17 == 0 else options[(sid * 7 + j) % len(options)]
                yield (sid, question_id, value, LONG_AGO)

    db = _open_bulk(partial)
    try:
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO users (user_id, chat_id, username, first_name, created_at, last_seen_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            ((u, u, f"person{u}", "Bench", LONG_AGO, LONG_AGO) for u in range(1, users + 1)),
        )
        db.executemany(
            "INSERT INTO sessions (id, user_id, content_hash, screen, field_id, question_id,"
            " revision, message_id, started_at, updated_at, completed_at, archived_at,"
            " archived_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            session_rows(),
        )
        db.executemany(
            "INSERT INTO answers (session_id, question_id, option_id, answered_at)"
            " VALUES (?, ?, ?, ?)",
            answer_rows(),
        )
        if "session_reminders" in _tables(db):
            db.executemany(
                "INSERT INTO session_reminders (session_id, sent_count, last_sent_at)"
                " VALUES (?, 2, ?)",
                ((sid, LONG_AGO) for sid in range(1, sessions + 1) if not is_completed(sid)),
            )
        db.execute("COMMIT")
        (n_answers,) = db.execute("SELECT count(*) FROM answers").fetchone()
    finally:
        db.close()
    partial.rename(path)
    return History(path, sessions, n_answers, users, time.monotonic() - began)


def _per_open(total: int, sessions: int, answers: int) -> int:
    """Answers of each open session: the rest of `answers` after the completed ones."""
    completed = sessions * 3 // 4
    open_count = sessions - completed
    return max(0, min(total - 1, round((answers - completed * total) / max(open_count, 1))))


def planned_answers(q: Questionnaire, sessions: int, answers: int) -> int:
    """How many answers `history_db` writes for these arguments (all sessions in order)."""
    total = len(q.questions)
    completed = sum(1 for sid in range(1, sessions + 1) if sid % 4 != 0)
    return completed * total + (sessions - completed) * _per_open(total, sessions, answers)


def copy_db(source: Path, target: Path) -> Path:
    """A private copy for one run, so the cached file stays untouched.

    Written to disk before it returns (fsync): otherwise the kernel writes the copy's 1.5 GB
    back while the next rounds are measured, and that weighs on the bot alone, the one of the
    two that writes (after a copy, 6 alternating rounds at 10 users gave the bot 0.79× the
    echo bot's throughput and 1.22× its CPU per update; without one, 1.04× and 1.01×).
    """
    for suffix in ("", "-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    shutil.copyfile(source, target)
    with target.open("rb+") as copied:
        os.fsync(copied.fileno())
    return target


@dataclass(frozen=True)
class GroupRound:
    group_id: int
    participants: int
    answers: int


def add_group_round(path: Path, q: Questionnaire, participants: int, seed: int = 1) -> GroupRound:
    """A group whose current round has `participants` completed checks (all questions
    answered, some skipped) spread over the perspectives, plus its coordinator."""
    rng = random.Random(seed)
    questions = sorted(question.id for question in q.questions)
    options = [option.id for option in q.scale.options]
    perspectives = [p.id for p in q.perspectives] or [None]
    db = _open_bulk(path)
    try:
        db.execute("BEGIN")
        token = hashlib.sha256(f"{path}{seed}{time.time()}".encode()).hexdigest()
        cursor = db.execute(
            "INSERT INTO groups (name, join_token, coordinator_token, created_by, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            ("Stadt Benchhausen", token[:32], token[32:], FIRST_BENCH_USER - 1, LONG_AGO),
        )
        group_id = cursor.lastrowid
        db.execute(
            "INSERT INTO group_coordinators (group_id, user_id, added_at) VALUES (?, ?, ?)",
            (group_id, FIRST_BENCH_USER - 1, LONG_AGO),
        )
        (top,) = db.execute("SELECT coalesce(max(user_id), 0) FROM users").fetchone()
        (top_session,) = db.execute("SELECT coalesce(max(id), 0) FROM sessions").fetchone()
        first_user = max(top, FIRST_BENCH_USER * 2) + 1
        people = range(first_user, first_user + participants)
        db.executemany(
            "INSERT INTO users (user_id, chat_id, username, first_name, created_at, last_seen_at)"
            " VALUES (?, ?, NULL, 'Gruppe', ?, ?)",
            ((u, u, LONG_AGO, LONG_AGO) for u in people),
        )
        sessions = [(top_session + 1 + i, u) for i, u in enumerate(people)]
        db.executemany(
            "INSERT INTO sessions (id, user_id, content_hash, screen, revision, started_at,"
            " updated_at, completed_at, group_id, group_round, perspective)"
            " VALUES (?, ?, ?, 'results', ?, ?, ?, ?, ?, 1, ?)",
            (
                (
                    sid,
                    u,
                    q.content_hash,
                    len(questions) + 2,
                    LONG_AGO,
                    RECENTLY,
                    RECENTLY,
                    group_id,
                    perspectives[i % len(perspectives)],
                )
                for i, (sid, u) in enumerate(sessions)
            ),
        )
        rows = [
            (sid, question_id, None if rng.random() < 0.05 else rng.choice(options), RECENTLY)
            for sid, _ in sessions
            for question_id in questions
        ]
        db.executemany(
            "INSERT INTO answers (session_id, question_id, option_id, answered_at)"
            " VALUES (?, ?, ?, ?)",
            rows,
        )
        db.execute("COMMIT")
    finally:
        db.close()
    return GroupRound(group_id, participants, len(rows))


def open_sessions(path: Path, q: Questionnaire, users: range, message_id: int) -> None:
    """People who said /start earlier and chose their municipality type (the questionnaire's
    own): a welcome screen whose message is `message_id`, so "Los geht's" opens question 1."""
    chosen = q.municipality_type.id if q.municipality_type else None
    db = _open_bulk(path)
    try:
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO users (user_id, chat_id, username, first_name, created_at, last_seen_at)"
            " VALUES (?, ?, NULL, 'Bench', ?, ?)",
            ((u, u, RECENTLY, RECENTLY) for u in users),
        )
        db.executemany(
            "INSERT INTO sessions (user_id, content_hash, screen, revision, message_id,"
            " started_at, updated_at, municipality_type) VALUES (?, ?, 'welcome', 0, ?, ?, ?, ?)",
            ((u, q.content_hash, message_id, RECENTLY, RECENTLY, chosen) for u in users),
        )
        db.execute("COMMIT")
    finally:
        db.close()
