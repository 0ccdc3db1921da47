"""Resilience: what the bot acknowledged survives a SIGKILL; Telegram's failures, a person who
blocked the bot and a locked database are all survived with nothing stored getting lost.

"Acknowledged" is what a person could have seen: the callback answered with "Gespeichert: …"
or the message edited to the next question with "✓ Gespeichert – Frage N: …". Every such
answer must be in the database afterwards. Users here behave like people: they press a button
of the newest message, and when nothing happens for a while they send /start and go on.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
from telegram.error import NetworkError

from bot.app import codec
from bot.app.ports import StoreBusy
from bot.store.content import DEFAULT_QUESTIONNAIRE, load_questionnaire
from bot.store.storage import Storage
from tests.harness import BotProcess, InProcessBot, bot_env, running_bot, wait_for
from tests.stored import assert_intact, exclusive_lock, query
from tests.telegram_server import BotApiServer, SimulatedUser, StoredMessage

Q, _ = load_questionnaire(DEFAULT_QUESTIONNAIRE)
FIRST_FIELD = Q.fields[0].id
FIELD_QUESTIONS = [q.id for q in Q.field_questions(FIRST_FIELD)]
OPTION_IDS = [option.id for option in Q.scale.options]
OPTION_BY_LABEL = {option.label: option.id for option in Q.scale.options}
SAVED_NOTE = re.compile(r"^✓ Gespeichert – Frage (\d+): (.+)$", re.MULTILINE)
ANSWER_DATA = re.compile(r"^a:(\d+):(\d+):(\d+)$")


# -- a person answering the first field --------------------------------------------------------


class Respondent:
    """Answers the first field question by question, pressing a random option of the newest
    keyboard; when the bot stays silent for `patience` seconds, says /start and goes on."""

    def __init__(
        self, user: SimulatedUser, seed: int, patience: float, settle: bool = False
    ) -> None:
        self.user = user
        self.rng = random.Random(seed)
        self.patience = patience
        self.settle = settle
        self.resyncs = 0

    def keyboard(self) -> StoredMessage | None:
        with_buttons = [m for m in self.user.messages if m.inline_buttons]
        return with_buttons[-1] if with_buttons else None

    @property
    def done(self) -> bool:
        """The first field's result is shown, or already a question of a later field (after a
        crash the result can be lost; "Weitermachen" then leads to the next open question)."""
        message = self.keyboard()
        if message is None:
            return False
        data = [b.get("callback_data", "") for b in message.inline_buttons]
        numbers = [int(m[2]) for d in data if (m := ANSWER_DATA.match(d))]
        if numbers:
            return Q.questions[numbers[0]].field != FIRST_FIELD
        return "Handlungsfeld 1:" in (message.visible_text or "") and "f:1" in data

    async def run(self, deadline: float) -> None:
        await self.say_start()
        while not self.done:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"user {self.user.chat_id} did not finish; {self.user.last_text}"
                )
            message = self.keyboard()
            data = self.choose(message) if message else None
            if message is None or data is None:
                await self.say_start()
                continue
            self.user.mark_seen()
            since = len(self.user.server.calls(chat_id=self.user.chat_id))
            await self.user.press_data(message.message_id, data)
            try:
                await self.user.wait_for_message(timeout=self.patience)
            except TimeoutError:
                await self.say_start()
            if self.settle:
                await self.wait_until_settled(since)

    async def wait_until_settled(self, since: int) -> None:
        """Until the bot is done with this chat, including retries after a failed call (its
        back-off is at most 1.6 s, a 429 pause 1.1 s): one update at a time per person."""
        quiet_after_trouble = 1.8
        server, chat_id = self.user.server, self.user.chat_id
        for _ in range(10):
            calls = server.calls(chat_id=chat_id)
            troubled = any(c.fault or c.status != 200 for c in calls[since:])
            with suppress(TimeoutError):
                await self.user.wait_until_idle(
                    timeout=10, quiet=quiet_after_trouble if troubled else 0.3
                )
            if len(server.calls(chat_id=chat_id)) == len(calls):
                return

    def choose(self, message: StoredMessage) -> str | None:
        data = [b.get("callback_data", "") for b in message.inline_buttons]
        options = [d for d in data if ANSWER_DATA.match(d)]
        if options:
            return self.rng.choice(options)
        if "c" in data:  # "▶️ Los geht’s" / "▶️ Weitermachen"
            return "c"
        first_type = codec.municipality_type(0)  # the welcome's one-time type choice
        return first_type if first_type in data else None

    async def say_start(self) -> None:
        self.resyncs += 1
        self.user.mark_seen()
        await self.user.send_command("/start")
        with suppress(TimeoutError):
            await self.user.wait_for_message(timeout=self.patience)


def acknowledged(server: BotApiServer, chat_id: int) -> dict[str, str]:
    """question id → option id of every answer the person saw confirmed."""
    acks: dict[str, str] = {}
    for record in server.callback_queries.values():
        match = ANSWER_DATA.match(record.data or "")
        text = (record.answer or {}).get("text") or ""
        if record.chat_id == chat_id and match and text.startswith("Gespeichert"):
            question = Q.questions[int(match[2])].id
            acks[question] = OPTION_IDS[int(match[3])]
    for shown in server.chat(chat_id).events:  # every version of every bot message
        for position, label in SAVED_NOTE.findall(shown.visible_text or ""):
            if label in OPTION_BY_LABEL:
                question_id = FIELD_QUESTIONS[int(position) - 1]
                acks.setdefault(question_id, OPTION_BY_LABEL[label])
    return acks


# -- what the database holds -------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    session_id: int
    screen: str
    field_id: str | None
    question_id: str | None
    review: bool
    revision: int
    answers: dict[str, str | None]


def stored_sessions(database: Path) -> dict[int, list[Stored]]:
    """Current (not archived) sessions per user, read with a separate connection."""
    sessions: dict[int, list[Stored]] = {}
    current = query(
        database,
        "SELECT id, user_id, screen, field_id, question_id, review, revision FROM sessions "
        "WHERE archived_at IS NULL",
    )
    for sid, user_id, screen, field_id, question_id, review, revision in current:
        answers = dict(
            query(database, "SELECT question_id, option_id FROM answers WHERE session_id = ?", sid)
        )
        sessions.setdefault(user_id, []).append(
            Stored(sid, screen, field_id, question_id, bool(review), revision, answers)
        )
    return sessions


def check_database(database: Path, server: BotApiServer, user_ids: list[int]) -> None:
    """Intact file; one consistent current session per person holding every acknowledged
    answer; everyone finished the first field."""
    assert_intact(database)
    sessions = stored_sessions(database)
    for user_id in user_ids:
        assert len(sessions.get(user_id, [])) == 1, f"user {user_id}: {sessions.get(user_id)}"
        (session,) = sessions[user_id]
        acks = acknowledged(server, user_id)
        assert acks, f"user {user_id} never saw an answer confirmed"
        for question_id, option_id in acks.items():
            assert session.answers.get(question_id, "<missing>") == option_id, (
                f"user {user_id}: acknowledged {question_id}={option_id}, "
                f"stored {session.answers.get(question_id, '<missing>')}"
            )
        assert set(session.answers) == set(FIELD_QUESTIONS), f"user {user_id}: {session}"
        assert all(value in OPTION_IDS for value in session.answers.values())
        assert session.revision >= len(session.answers)
        if session.screen == "question":
            question = Q.question(session.question_id or "")
            assert question.field == session.field_id
            assert question.id not in session.answers, f"user {user_id}: {session}"
        else:
            assert session.screen == "field_result", f"user {user_id}: {session}"
            assert session.field_id == FIRST_FIELD


async def answer_first_fields(
    respondents: list[Respondent], seconds: float
) -> list[BaseException | None]:
    """Everyone answers the first field; `seconds` is a deadline for a machine much busier than
    usual (the suite runs three workers on two cores), not a target."""
    deadline = time.monotonic() + seconds
    return await asyncio.gather(*(r.run(deadline) for r in respondents), return_exceptions=True)


# -- SIGKILL -----------------------------------------------------------------------------------


@pytest.mark.long(seconds=21)
async def test_sigkill_loses_no_acknowledged_answer(
    server: BotApiServer, database: Path, tmp_path: Path
) -> None:
    """20 people answer while `python -m bot` is killed with SIGKILL three times (seeded random
    moments) and restarted; they re-send /start when the bot stays silent."""
    rng = random.Random(20251126)
    log = tmp_path / "bot.log"
    bot = BotProcess(server, bot_env(server, database), log=log)
    user_ids = list(range(9001, 9021))
    respondents = [Respondent(SimulatedUser(server, uid), uid, patience=4.0) for uid in user_ids]
    unfinished_at_kill: list[int] = []
    work: asyncio.Future[list[BaseException | None]] | None = None
    await bot.start()
    try:
        work = asyncio.ensure_future(answer_first_fields(respondents, 90.0))
        for _ in range(3):
            await asyncio.sleep(rng.uniform(0.5, 2.5))
            unfinished_at_kill.append(sum(not r.done for r in respondents))
            bot.kill()
            await asyncio.sleep(rng.uniform(0.0, 0.5))
            await bot.start()
        errors = await work
        assert errors == [None] * len(respondents), (errors, log.read_text()[-3000:])
        assert await bot.terminate() == 0
    finally:
        if work is not None and not work.done():
            work.cancel()
        bot.kill()
    assert all(unfinished_at_kill), f"a kill came after everyone finished: {unfinished_at_kill}"
    check_database(database, server, user_ids)


# -- faults on the Bot API ---------------------------------------------------------------------


def unexpected_errors(caplog: pytest.LogCaptureFixture, allowed: tuple[type, ...]) -> list[str]:
    """ERROR records of the bot and the library, except those caused by `allowed` exceptions
    and PTB's own report of the HTML page Telegram's nginx sends with a 502."""
    problems = []
    for record in caplog.records:
        if record.levelno < logging.ERROR or record.name.split(".")[0] not in ("bot", "telegram"):
            continue
        error = record.exc_info[1] if record.exc_info else None
        bad_gateway_page = record.name.startswith("telegram.request") and (
            "502 Bad Gateway" in record.getMessage()
        )
        if not isinstance(error, allowed) and not bad_gateway_page:
            problems.append(f"{record.name}: {record.getMessage()} ({error!r})")
    return problems


@pytest.mark.long(seconds=28)
async def test_server_faults_are_survived(
    server: BotApiServer, database: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """5xx answers, dropped connections (before and after the call took effect), slow replies
    and 429 flood control: everyone finishes, retry_after is always honoured, and the only
    errors logged are network errors. These people wait until the bot is done with their
    previous press (the next test covers impatient ones)."""
    caplog.set_level(logging.WARNING)
    user_ids = list(range(9101, 9109))
    async with running_bot(server, database) as bot:
        faults = server.faults
        faults.reseed(7)
        faults.rate(0.05)
        faults.drop(0.025)
        faults.drop(0.025, after_effect=True)
        faults.slow(0.04, 1.0)
        faults.too_many_requests(0.04, retry_after=1, times=3)
        faults.rate(0.05, methods=["getUpdates"], status=502, times=2)
        respondents = [
            Respondent(bot.user(uid), uid, patience=6.0, settle=True) for uid in user_ids
        ]
        errors = await answer_first_fields(respondents, 90.0)
        faults.clear()
        assert errors == [None] * len(respondents), errors
    fired = {kind for _, kind in server.faults.log}
    assert fired == {"error", "drop", "slow", "rate_limit"}, fired
    assert server.retry_after_violations == [], call_history(server, server.retry_after_violations)
    assert unexpected_errors(caplog, (NetworkError,)) == []
    check_database(database, server, user_ids)


@pytest.mark.long(seconds=5)
async def test_impatient_person_and_429_keep_retry_after(
    bot: InProcessBot, server: BotApiServer
) -> None:
    """A's edit takes effect but its answer is lost, so the bot will retry it in 0.4 s; A sees
    the next question and presses at once; that press gets 429 (retry after 2 s); B's slow
    request finishing in between lifts AIORateLimiter's pause. Nothing of A's may reach the
    server before A's 2 s are over, and A must end up looking at question 3, not at the
    question 2 the late retry would put back."""
    a, b = bot.user(9501), bot.user(9502)
    await begin_and_answer(a, 0)
    faults = server.faults
    faults.drop(1.0, after_effect=True, methods=["editMessageText"], chat_id=a.chat_id, times=1)
    faults.slow(1.0, 1.0, methods=["sendMessage"], chat_id=b.chat_id, times=1)
    await b.send_command("/start")
    await wait_for(lambda: server.calls("sendMessage", chat_id=b.chat_id), 10, "B's welcome")
    a.mark_seen()
    await a.press("trifft eher zu")
    await a.wait_for_message()  # question 2, from the edit whose answer was lost
    faults.too_many_requests(
        1.0, retry_after=2, methods=["answerCallbackQuery"], chat_id=a.chat_id, times=1
    )
    await a.press("trifft eher zu")
    await a.wait_until_idle(timeout=15, quiet=2.5)
    await b.wait_until_idle(timeout=5)
    assert server.retry_after_violations == [], call_history(server, server.retry_after_violations)


def call_history(server: BotApiServer, violations: list) -> str:
    """The calls around each violation, to see which requests overlapped."""
    lines = []
    for violation in violations:
        lines.append(f"violation {violation}")
        for call in server.calls(chat_id=violation.chat_id):
            if abs(call.time - violation.time) < 8:
                what = call.params.get("callback_query_id") or call.params.get("text")
                lines.append(
                    f"  {call.time - violation.time:+.3f} {call.method} {call.status} {call.fault}"
                    f" {str(what)[:30]!r}"
                )
    return "\n".join(lines)


# -- a person who blocked the bot --------------------------------------------------------------


def blocked_at(database: Path, user_id: int) -> str | None:
    found = query(database, "SELECT blocked_at FROM users WHERE user_id = ?", user_id)
    return found[0][0] if found else None


async def begin_and_answer(user: SimulatedUser, answers: int) -> None:
    await user.send_command("/start")
    await user.wait_for_message()
    await user.press("▶️ Los geht’s")
    await user.wait_for_message()
    for _ in range(answers):
        await user.press("trifft eher zu")
        await user.wait_for_message(lambda m: "✓ Gespeichert" in (m.visible_text or ""))


async def test_blocked_user_is_marked_and_not_retried(
    bot: InProcessBot, server: BotApiServer, database: Path
) -> None:
    blocker, other = bot.user(9201), bot.user(9202)
    await begin_and_answer(blocker, 2)
    await begin_and_answer(other, 1)
    blocker.block_bot()
    before = len(server.calls(chat_id=blocker.chat_id))
    await blocker.send_text("hallo?")  # the bot's answer (a hint) now gets 403
    await wait_for(lambda: blocked_at(database, blocker.chat_id) is not None, 10, "blocked mark")
    await blocker.wait_until_idle()
    await asyncio.sleep(1.0)  # time enough for any retry to show up
    attempts = server.calls(chat_id=blocker.chat_id)[before:]
    assert [(c.method, c.status) for c in attempts] == [("sendMessage", 403)]
    assert len(stored_sessions(database)[blocker.chat_id][0].answers) == 2
    # Everyone else carries on as before.
    await other.press("trifft voll zu")
    shown = await other.wait_for_message()
    assert "✓ Gespeichert – Frage 2: trifft voll zu" in (shown.visible_text or "")


async def test_blocked_user_pressing_a_button_is_marked(
    bot: InProcessBot, server: BotApiServer, database: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    blocker = bot.user(9301)
    await begin_and_answer(blocker, 1)
    blocker.block_bot()
    before = len(server.calls(chat_id=blocker.chat_id))
    await blocker.press("trifft nicht zu")
    await blocker.wait_until_idle()
    await asyncio.sleep(0.5)
    attempts = server.calls(chat_id=blocker.chat_id)[before:]
    assert len(attempts) <= 3, [(c.method, c.status) for c in attempts]  # not retried forever
    assert len(stored_sessions(database)[blocker.chat_id][0].answers) == 2  # the press was saved
    assert unexpected_errors(caplog, ()) == []
    assert blocked_at(database, blocker.chat_id) is not None


# -- a locked database -------------------------------------------------------------------------

BUSY_TIMEOUT_MS = 800


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The product waits 5 s for a lock; the same code path with 0.8 s keeps the test short."""
    original = Storage.open.__func__  # type: ignore[attr-defined]

    async def open_with_short_timeout(cls: type[Storage], path: Path | str) -> Storage:
        storage = await original(cls, path)
        await storage._db.set_busy_timeout(BUSY_TIMEOUT_MS)
        return storage

    monkeypatch.setattr(Storage, "open", classmethod(open_with_short_timeout))
    yield


async def test_locked_database_asks_to_try_again_and_loses_nothing(
    server: BotApiServer,
    database: Path,
    short_busy_timeout: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    async with running_bot(server, database) as bot:
        user, newcomer = bot.user(9401), bot.user(9402)
        await begin_and_answer(user, 2)
        before = stored_sessions(database)[user.chat_id][0]
        assert len(before.answers) == 2
        with exclusive_lock(database):  # held longer than the bot's busy_timeout
            press = await user.press("trifft voll zu")
            await newcomer.send_command("/start")
            await wait_for(lambda: press.answered, 10, "the press to be answered")
            reply = await newcomer.wait_for_message(timeout=10)
        assert press.answer is not None and press.answer.get("show_alert") is True
        for text in (press.answer.get("text") or "", reply.visible_text or ""):
            assert re.search(r"bitte versuchen Sie es .*noch einmal", text, re.IGNORECASE), text
        after_lock = stored_sessions(database)[user.chat_id][0]
        assert after_lock.answers == before.answers
        assert after_lock.revision == before.revision
        # Once the lock is gone the very same button works.
        user.mark_seen()
        await user.press("trifft voll zu")
        shown = await user.wait_for_message()
        assert "✓ Gespeichert – Frage 3: trifft voll zu" in (shown.visible_text or "")
    final = stored_sessions(database)[user.chat_id][0]
    assert final.answers == {
        **before.answers,
        FIELD_QUESTIONS[2]: OPTION_BY_LABEL["trifft voll zu"],
    }
    locked = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert locked, "the lock should have been reported in the log"
    # The store reports a lock as its own StoreBusy; no sqlite3 error leaks out of it.
    assert unexpected_errors(caplog, (StoreBusy,)) == []
