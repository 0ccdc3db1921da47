"""End-to-end conversations: a simulated person works through the real self-check.

Every test drives the real bot over real HTTP against the local Bot API server and checks two
things: what the person sees in the chat, and what the bot stored in its SQLite file (read
with a separate connection through `tests/stored.py`, as an operator or an export would).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import yaml

from bot.cli.config import DEFAULT_QUESTIONNAIRE
from bot.ui.texts import LOCALE_DIR
from flows.loading import parse_questionnaire
from flows.scoring import assess_all
from tests.harness import BotProcess, InProcessBot, bot_env, wait_for
from tests.stored import Row, rows
from tests.telegram_server import BotApiServer, CallbackRecord, SimulatedUser, StoredMessage

Q = parse_questionnaire(DEFAULT_QUESTIONNAIRE.read_text(encoding="utf-8"))
TEXTS = yaml.safe_load((LOCALE_DIR / "de.yaml").read_text(encoding="utf-8"))
OPTIONS = [option.id for option in Q.scale.options]  # full, mostly, partly, none
LABELS = {option.id: option.label for option in Q.scale.options}
FIELDS = list(Q.fields)
TOTAL = len(Q.questions)
FIRST = len(Q.field_questions(Q.fields[0].id))  # questions in field 1

HINT = "Bitte nutzen Sie die Schaltflächen"
TOAST_STALE = TEXTS["toast_stale"]
TOAST_UNKNOWN = TEXTS["toast_unknown"]
TOAST_SKIPPED = TEXTS["toast_skipped"]


# -- reading the database ------------------------------------------------------------------


def current_session(database: Path, user_id: int) -> Row:
    current = rows(
        database, "SELECT * FROM sessions WHERE user_id = ? AND archived_at IS NULL", user_id
    )
    assert len(current) == 1, f"expected one current session for {user_id}, got {len(current)}"
    return current[0]


def stored_answers(database: Path, session_id: int) -> dict[str, str | None]:
    stored = rows(
        database, "SELECT question_id, option_id FROM answers WHERE session_id = ?", session_id
    )
    return {row["question_id"]: row["option_id"] for row in stored}


def answers_of(database: Path, user_id: int) -> dict[str, str | None]:
    return stored_answers(database, current_session(database, user_id)["id"])


def snapshot(database: Path, user_id: int) -> tuple[object, ...]:
    """Everything about a person's session that a stray update must not change."""
    session = current_session(database, user_id)
    position = (session["screen"], session["field_id"], session["question_id"], session["review"])
    return session["id"], position, session["revision"], answers_of(database, user_id)


# -- acting and waiting --------------------------------------------------------------------


def text_of(message: StoredMessage | None) -> str:
    return (message.visible_text or "") if message else ""


def live_message(user: SimulatedUser) -> StoredMessage:
    """The latest bot message with an inline keyboard (where the person would tap)."""
    with_keyboard = [m for m in user.messages if m.inline_buttons]
    assert with_keyboard, "no bot message with buttons"
    return with_keyboard[-1]


def data_of(message: StoredMessage, pattern: str) -> str:
    """The callback data of the single button whose data fully matches `pattern`."""
    found = [
        b["callback_data"]
        for b in message.inline_buttons
        if re.fullmatch(pattern, b.get("callback_data", ""))
    ]
    assert len(found) == 1, (
        f"{pattern!r} in {[b.get('callback_data') for b in message.inline_buttons]}"
    )
    return found[0]


async def settle(user: SimulatedUser, *records: CallbackRecord) -> None:
    """All given presses answered, then nothing more going on in the chat."""
    await wait_for(lambda: all(r.answered for r in records), what="callback answers")
    await user.wait_until_idle(quiet=0.05)


async def press_in_place(
    user: SimulatedUser, button: str | re.Pattern[str] | Callable[[dict], bool]
) -> tuple[CallbackRecord, StoredMessage]:
    """Press on the live message and wait for that message to be edited."""
    target = live_message(user)
    user.mark_seen()
    record = await user.press(button, target)
    edited = await user.wait_for_message(lambda m: m.message_id == target.message_id)
    await wait_for(lambda: record.answered, what="callback answer")
    return record, edited


async def answer(
    user: SimulatedUser, question_id: str, option: str | None
) -> tuple[CallbackRecord, StoredMessage]:
    """Tap an option (or skip) for `question_id` on the live question message."""
    number = Q.question_number(question_id)
    skip = option is None
    pattern = rf"s:\d+:{number}" if skip else rf"a:\d+:{number}:{OPTIONS.index(option)}"
    return await press_in_place(user, lambda b: bool(re.fullmatch(pattern, b["callback_data"])))


async def command(user: SimulatedUser, name: str, expect: str) -> StoredMessage:
    """Send a command, wait for the reply containing `expect`, let the bot finish tidying."""
    user.mark_seen()
    await user.send_command(name)
    reply = await user.wait_for_message(lambda m: expect in text_of(m))
    await user.wait_until_idle(quiet=0.05)
    return reply


async def begin(user: SimulatedUser) -> StoredMessage:
    """/start, the municipality type (the default) and "Los geht’s": the first question.

    The type is chosen with one tap on the welcome, which the bot then edits in place into the
    welcome of that type (its own number of questions) with "Los geht’s".
    """
    welcome = await command(user, "/start", "Willkommen")
    types = [t.label for t in Q.document.municipality_types]
    assert welcome.button_texts == types
    assert Q.municipality_type is not None
    _, welcome = await press_in_place(user, Q.municipality_type.label)
    assert f"Art der Kommune: {Q.municipality_type.label}" in text_of(welcome)
    assert f"für {len(Q.questions)} Aussagen" in text_of(welcome)
    assert "▶️ Los geht’s" in welcome.button_texts
    _, first = await press_in_place(user, "▶️ Los geht’s")
    assert_question(first, Q.questions[0].id)
    return first


def assert_question(message: StoredMessage, question_id: str) -> None:
    """The message shows exactly this question, with its own answer buttons."""
    question = Q.question(question_id)
    field = Q.field(question.field)
    in_field = [x.id for x in Q.field_questions(field.id)]
    text = text_of(message)
    assert f"{Q.field_number(field.id) + 1}. {field.title}" in text, text
    assert f"Frage {in_field.index(question_id) + 1} von {len(in_field)}" in text, text
    assert question.text in text, text
    number = Q.question_number(question_id)
    data = [b.get("callback_data", "") for b in message.inline_buttons]
    for index in range(len(OPTIONS)):
        assert any(re.fullmatch(rf"a:\d+:{number}:{index}", d) for d in data), data
    assert any(re.fullmatch(rf"s:\d+:{number}", d) for d in data), data
    assert "◀️ zurück" in message.button_texts and "📋 Menü" in message.button_texts


def assert_telegram_limits(server: BotApiServer, *users: SimulatedUser) -> None:
    """Nothing the bot sent broke Telegram's limits, and Telegram refused nothing.

    The harmless refusals are "message is not modified" (400) when the bot re-shows a message
    exactly as it is (such an edit carries a text the message already had), or removes the
    buttons of an old message that has none left.
    """
    for call in server.calls():
        if call.method == "getUpdates":
            continue
        assert call.status is not None, f"{call.method} got no answer"
        if call.status == 400:
            message = server.chat(int(call.params["chat_id"])).messages[
                int(call.params["message_id"])
            ]
            if call.method == "editMessageReplyMarkup":
                # Removing the buttons of a pressed old message that has none left.
                assert "reply_markup" not in call.params, call.params
                continue
            assert call.method == "editMessageText", f"400 for {call.method}: {call.params}"
            versions = [message.raw_text, *(v["raw_text"] for v in message.edits)]
            assert call.params["text"] in versions, f"400 for a real edit: {call.params}"
        else:
            assert call.status == 200, f"{call.status} for {call.method}: {call.params}"
        markup = call.params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                assert 1 <= len(button["callback_data"].encode()) <= 64, button
    for user in users:
        for message in user.messages:
            versions = [message.visible_text, *(v["text"] for v in message.edits)]
            assert all(len(v or "") <= 4096 for v in versions), message.message_id


# -- 1. the whole check ----------------------------------------------------------------------


def planned_choice(field_index: int, index: int) -> str | None:
    """Varied answers per field; `None` skips. Field 7 gets too few answers for a band."""
    if field_index == 0:  # nearly all "voll": gut aufgestellt
        return None if index == 5 else "full"
    if field_index == 1:
        return ("mostly", "partly")[index % 2]
    if field_index == 2:
        return None if index % 7 == 6 else ("none", "none", "partly")[index % 3]
    if field_index == 3:
        return OPTIONS[index % 4]
    if field_index == 4:
        return None if index % 4 == 3 else "mostly"
    if field_index == 5:
        return ("full", "mostly")[index % 2]
    return None if index < 8 else OPTIONS[index % 4]


async def test_whole_check_with_buttons_gives_all_field_assessments(
    bot: InProcessBot, server: BotApiServer, database: Path
) -> None:
    user = bot.user(1001)
    message = await begin(user)
    pressed: dict[str, str | None] = {}

    for field_index, field in enumerate(FIELDS):
        questions = Q.field_questions(field.id)
        for index, question in enumerate(questions):
            assert_question(message, question.id)
            choice = planned_choice(field_index, index)
            record, message = await answer(user, question.id, choice)
            pressed[question.id] = choice
            expected_toast = TOAST_SKIPPED if choice is None else f"Gespeichert: {LABELS[choice]}"
            assert record.answer is not None and record.answer["text"] == expected_toast
        # The question message has become the field's result.
        text = text_of(message)
        result = assess_all(Q, pressed)[field_index]
        assert f"Handlungsfeld {field_index + 1}: {field.title}" in text
        if result.too_few_answers:
            assert "Für eine Einschätzung reicht das noch nicht" in text
        else:
            assert f"Einschätzung: {result.band.label}" in text
            assert "Anregungen zur Weiterarbeit" in text
        if field_index + 1 < len(FIELDS):
            next_title = FIELDS[field_index + 1].title
            assert f"▶️ Weiter: {next_title}" in message.button_texts
            _, message = await press_in_place(user, f"▶️ Weiter: {next_title}")
        else:
            assert not any(b.startswith("▶️ Weiter:") for b in message.button_texts)
            assert "🎉 Sie haben alle Handlungsfelder bearbeitet" in text

    # After the last field, the overview and the skipped questions arrive as new messages.
    last_question_message = message.message_id
    await user.wait_for_message(lambda m: "Übersprungene Fragen" in text_of(m))
    await user.wait_until_idle(quiet=0.05)
    sent = [m for m in user.messages if m.message_id > last_question_message]
    overview = "\n".join(text_of(m) for m in sent)
    assert "Ihr Ergebnis" in text_of(sent[0])
    skipped_ids = [qid for qid, value in pressed.items() if value is None]
    assert f"7 von 7 Handlungsfeldern abgeschlossen · {TOTAL - len(skipped_ids)} beantwortet" in (
        overview
    )
    bands_seen = set()
    for number, result in enumerate(assess_all(Q, pressed), start=1):
        line = next(x for x in overview.splitlines() if x.startswith(f"{number}. {result.title}:"))
        if result.too_few_answers:
            assert "zu wenige Antworten" in line
        else:
            assert f": {result.band.label} · " in line, line
            bands_seen.add(result.band.id)
        assert f"Handlungsfeld {number}: {result.title}" in overview
    assert len(bands_seen) >= 2  # the varied answers really give different assessments
    assert f"Übersprungene Fragen ({len(skipped_ids)})" in overview
    for question_id in skipped_ids:
        assert Q.question(question_id).text in overview

    # Stored: exactly what was pressed, skipped as NULL, and the session is complete.
    session = current_session(database, user.chat_id)
    assert session["completed_at"] is not None
    assert stored_answers(database, session["id"]) == pressed
    assert len(pressed) == TOTAL == 114

    # Answer the skipped questions from the review button.
    assert "🤔 Übersprungene jetzt beantworten" in live_message(user).button_texts
    _, message = await press_in_place(user, "🤔 Übersprungene jetzt beantworten")
    for question_id in skipped_ids:
        assert "Übersprungene Frage" in text_of(message)
        assert_question(message, question_id)
        _, message = await answer(user, question_id, "mostly")
        pressed[question_id] = "mostly"
    assert "Ihr Ergebnis" in text_of(message)
    assert f"7 von 7 Handlungsfeldern abgeschlossen · {TOTAL} beantwortet, 0 übersprungen" in (
        text_of(message)
    )
    after = current_session(database, user.chat_id)
    assert stored_answers(database, after["id"]) == pressed
    assert None not in pressed.values()
    assert after["completed_at"] == session["completed_at"]
    assert_telegram_limits(server, user)


# -- 2. pause and resume -----------------------------------------------------------------------


async def test_pause_and_resume_across_a_restart(
    bot: InProcessBot, server: BotApiServer, database: Path
) -> None:
    user = bot.user(1002)
    await begin(user)
    first_field = Q.field_questions(FIELDS[0].id)
    given = dict(
        zip(
            [q.id for q in first_field[:5]],
            ["full", None, "partly", "none", "mostly"],
            strict=True,
        )
    )
    for question_id, option in given.items():
        await answer(user, question_id, option)
    assert answers_of(database, user.chat_id) == given

    await bot.restart()

    welcome = await command(user, "/start", "Schön, dass Sie wieder da sind")
    assert f"5 von {TOTAL} Aussagen bearbeitet" in text_of(welcome)
    _, question = await press_in_place(user, "▶️ Weitermachen")
    assert_question(question, first_field[5].id)
    assert answers_of(database, user.chat_id) == given
    # And the resumed question is answerable as usual.
    await answer(user, first_field[5].id, "full")
    assert answers_of(database, user.chat_id) == {**given, first_field[5].id: "full"}
    assert_telegram_limits(server, user)


async def test_pause_and_resume_after_the_process_is_killed(
    server: BotApiServer, database: Path, tmp_path: Path
) -> None:
    env = bot_env(server, database)
    log = tmp_path / "bot.log"
    first = BotProcess(server, env, log=log)
    second = BotProcess(server, env, log=log)
    try:
        await first.start()
        user = SimulatedUser(server, 1003)
        await begin(user)
        questions = Q.field_questions(FIELDS[0].id)
        given = {questions[0].id: "mostly", questions[1].id: None, questions[2].id: "none"}
        for question_id, option in given.items():
            await answer(user, question_id, option)
        first.kill()  # SIGKILL: no shutdown, no clean-up

        await second.start()
        welcome = await command(user, "/start", "Schön, dass Sie wieder da sind")
        assert f"3 von {TOTAL} Aussagen bearbeitet" in text_of(welcome)
        _, question = await press_in_place(user, "▶️ Weitermachen")
        assert_question(question, questions[3].id)
        assert answers_of(database, user.chat_id) == given
        await answer(user, questions[3].id, "full")
        assert answers_of(database, user.chat_id) == {**given, questions[3].id: "full"}
        assert_telegram_limits(server, user)
    finally:  # never leave a bot process behind, whatever happened above
        first.kill()
        second.kill()


# -- 3. going back ---------------------------------------------------------------------------


async def test_going_back_and_changing_answers(
    bot: InProcessBot, server: BotApiServer, database: Path
) -> None:
    user = bot.user(1004)
    await begin(user)
    q1, q2, q3, q4, q5 = (q.id for q in Q.field_questions(FIELDS[0].id)[:5])
    await answer(user, q1, "full")
    await answer(user, q2, "mostly")
    _, message = await answer(user, q3, "partly")
    assert_question(message, q4)

    _, message = await press_in_place(user, "◀️ zurück")
    assert_question(message, q3)
    assert "Ihre bisherige Antwort: trifft eher nicht zu" in text_of(message)
    assert "✅ trifft eher nicht zu" in message.button_texts
    assert sum(b.startswith("✅") for b in message.button_texts) == 1

    record, message = await answer(user, q3, "none")
    assert record.answer["text"] == "Gespeichert: trifft nicht zu"
    assert_question(message, q4)  # on to the next open question
    assert "Gespeichert – Frage 3: trifft nicht zu" in text_of(message)
    assert answers_of(database, user.chat_id) == {q1: "full", q2: "mostly", q3: "none"}

    # Two steps back, change, and the flow skips the answered q3 to the open q4.
    await press_in_place(user, "◀️ zurück")
    _, message = await press_in_place(user, "◀️ zurück")
    assert_question(message, q2)
    assert "✅ trifft eher zu" in message.button_texts
    _, message = await answer(user, q2, None)
    assert_question(message, q4)
    assert answers_of(database, user.chat_id) == {q1: "full", q2: None, q3: "none"}

    # A skipped answer is marked too, and can become a real one.
    await press_in_place(user, "◀️ zurück")
    _, message = await press_in_place(user, "◀️ zurück")
    assert "Ihre bisherige Antwort: weiß nicht / überspringen" in text_of(message)
    assert "✅ 🤔 weiß nicht / überspringen" in message.button_texts
    _, message = await answer(user, q2, "full")
    assert_question(message, q4)
    _, message = await answer(user, q4, "partly")
    assert_question(message, q5)
    stored = answers_of(database, user.chat_id)
    assert stored == {q1: "full", q2: "full", q3: "none", q4: "partly"}
    assert rows(database, "SELECT count(*) AS n FROM answers")[0]["n"] == 4

    # Back from the first question of a field leads to the menu.
    for _ in range(4):
        _, message = await press_in_place(user, "◀️ zurück")
    assert_question(message, q1)
    _, message = await press_in_place(user, "◀️ zurück")
    assert "Handlungsfelder" in text_of(message)
    assert f"1. Management und Steuerung (4/{FIRST})" in message.button_texts
    assert_telegram_limits(server, user)


# -- 4. double taps, old buttons, forged data ---------------------------------------------------


async def test_double_taps_old_buttons_and_forged_data(
    bot: InProcessBot, server: BotApiServer, database: Path
) -> None:
    user = bot.user(1005)
    message = await begin(user)
    q1, q2, q3 = (q.id for q in Q.field_questions(FIELDS[0].id)[:3])
    live_id = message.message_id

    # Double tap: two presses of the same button before the bot could react.
    full_q1 = data_of(message, r"a:\d+:0:0")
    first = await user.press_data(live_id, full_q1)
    second = await user.press_data(live_id, full_q1)
    await settle(user, first, second)
    assert first.answer["text"] == "Gespeichert: trifft voll zu"
    assert second.answer["text"] == TOAST_STALE
    assert answers_of(database, user.chat_id) == {q1: "full"}
    session = current_session(database, user.chat_id)
    assert (session["screen"], session["question_id"]) == ("question", q2)
    current = live_message(user)
    assert current.message_id == live_id
    assert_question(current, q2)

    # An old button of the same message (question 1 at its old revision) changes nothing.
    old_q2_data = data_of(current, r"a:\d+:1:3")
    before = snapshot(database, user.chat_id)
    record = await user.press_data(live_id, full_q1.replace(":0:0", ":0:3"))
    await settle(user, record)
    assert record.answer["text"] == TOAST_STALE
    assert snapshot(database, user.chat_id) == before
    assert_question(live_message(user), q2)

    # The current revision, but another question's number: still not stored.
    revision = current_session(database, user.chat_id)["revision"]
    record = await user.press_data(live_id, f"a:{revision}:5:0")
    await settle(user, record)
    assert record.answer["text"] == TOAST_STALE
    assert snapshot(database, user.chat_id) == before

    # An earlier question message: /start sends a new welcome, "Weitermachen" there shows
    # question 2 again; the first message's old button then only re-shows where one is.
    await command(user, "/start", "Schön, dass Sie wieder da sind")
    _, again = await press_in_place(user, "▶️ Weitermachen")
    assert_question(again, q2)
    assert again.message_id != live_id
    assert not user.server.chat(user.chat_id).messages[live_id].inline_buttons  # tidied up
    before = snapshot(database, user.chat_id)
    user.mark_seen()
    record = await user.press_data(live_id, old_q2_data)
    shown = await user.wait_for_message(lambda m: m.message_id > again.message_id)
    await settle(user, record)
    assert record.answer["text"] == TOAST_STALE
    assert_question(shown, q2)
    assert snapshot(database, user.chat_id) == before

    # The welcome's "Los geht’s" pressed late only shows the current question.
    welcome = user.messages[0]
    record = await user.press_data(welcome.message_id, "c")
    await settle(user, record)
    assert answers_of(database, user.chat_id) == {q1: "full"}
    assert_question(live_message(user), q2)

    # Forged or broken data: nothing stored, a friendly toast, the question still there.
    live_id = live_message(user).message_id
    revision = current_session(database, user.chat_id)["revision"]
    forged = {
        "a:999:0:0": TOAST_STALE,
        f"a:{revision}:1:9": TOAST_UNKNOWN,  # option out of range
        f"a:{revision}:{TOTAL}:0": TOAST_UNKNOWN,  # question out of range
        f"s:{revision}:99999": TOAST_UNKNOWN,
        "f:7": TOAST_UNKNOWN,  # field out of range
        "zzz": TOAST_UNKNOWN,
        "": TOAST_UNKNOWN,
        "a:1:0:0:0": TOAST_UNKNOWN,
        "b:-1": TOAST_UNKNOWN,
    }
    before = snapshot(database, user.chat_id)
    for data, toast in forged.items():
        record = await user.press_data(live_id, data)
        await settle(user, record)
        assert record.answer["text"] == toast, data
        assert not record.answer["show_alert"], data
        assert snapshot(database, user.chat_id) == before, data
        assert_question(live_message(user), q2)

    # Another person's button data only ever acts on the presser's own session.
    other = bot.user(1006)
    other_first = await begin(other)
    _, own_q2 = await answer(user, q2, "mostly")
    assert_question(own_q2, q3)
    copied = data_of(own_q2, r"a:\d+:2:0")  # question 3 at the first person's revision
    before_a = snapshot(database, user.chat_id)
    messages_a = len(user.messages)
    record = await other.press_data(other_first.message_id, copied)
    await settle(other, record)
    assert record.answer["text"] == TOAST_STALE
    assert snapshot(database, user.chat_id) == before_a
    assert len(user.messages) == messages_a
    assert answers_of(database, other.chat_id) == {}
    assert_question(live_message(other), Q.questions[0].id)
    assert_telegram_limits(server, user, other)


# -- 5. anything but a button --------------------------------------------------------------------


async def test_not_applicable_button_over_telegram(
    bot: InProcessBot, server: BotApiServer, database: Path
) -> None:
    """ "entfällt bei uns / nicht zuständig" on a question that declares it: one tap, stored
    as such, acknowledged, and the answer note in the edited message says so."""
    user = bot.user(1010)
    target = next(q for q in Q.questions if q.allow_not_applicable)
    field = Q.field(target.field)
    label = Q.scale.not_applicable_label
    assert label is not None
    await begin(user)
    await command(user, "/menu", "Handlungsfelder")
    number = Q.field_number(field.id) + 1
    _, message = await press_in_place(user, f"{number}. {field.title}")
    for question in Q.field_questions(field.id):
        if question.id == target.id:
            break
        assert not any(label in b for b in message.button_texts)  # only where declared
        _, message = await answer(user, question.id, "mostly")
    assert_question(message, target.id)
    assert f"🚫 {label}" in message.button_texts
    record, edited = await press_in_place(user, f"🚫 {label}")
    assert record.answer is not None and record.answer["text"] == TEXTS["toast_not_applicable"]
    position = Q.field_questions(field.id).index(target) + 1
    assert f"✓ Gespeichert – Frage {position}: {label}" in text_of(edited)
    assert answers_of(database, user.chat_id)[target.id] == "~not_applicable"
    assert_telegram_limits(server, user)


async def test_bad_input_mid_question_gets_a_hint_and_the_question(
    bot: InProcessBot, server: BotApiServer, database: Path
) -> None:
    user = bot.user(1007)
    await begin(user)
    q1, q2, q3 = (q.id for q in Q.field_questions(FIELDS[0].id)[:3])
    await answer(user, q1, "full")
    await answer(user, q2, None)
    before = snapshot(database, user.chat_id)

    inputs = {
        "sticker": user.send_sticker,
        "photo": user.send_photo,
        "voice": user.send_voice,
        "document": user.send_document,
        "text": lambda: user.send_text("trifft voll zu"),
    }
    for kind, send in inputs.items():
        user.mark_seen()
        await send()
        reply = await user.wait_for_message(lambda m: HINT in text_of(m))
        await user.wait_until_idle(quiet=0.05)
        assert_question(reply, q3)
        assert live_message(user).message_id == reply.message_id, kind
        assert snapshot(database, user.chat_id) == before, kind

    # Only the newest copy of the question keeps its buttons, and it works.
    with_buttons = [m for m in user.messages if m.inline_buttons]
    assert len(with_buttons) == 1
    await answer(user, q3, "partly")
    assert answers_of(database, user.chat_id) == {q1: "full", q2: None, q3: "partly"}

    help_text = await command(user, "/foo", "Diesen Befehl kenne ich nicht")
    assert "So funktioniert der Selbstcheck" in text_of(help_text)
    assert "/fortschritt" in text_of(help_text)
    english = await command(user, "/help", "So funktioniert der Selbstcheck")
    assert "Diesen Befehl kenne ich nicht" not in text_of(english)
    assert answers_of(database, user.chat_id) == {q1: "full", q2: None, q3: "partly"}
    assert_telegram_limits(server, user)


# -- 6. commands ---------------------------------------------------------------------------------


async def test_commands_menu_progress_results_and_restart(
    bot: InProcessBot, server: BotApiServer, database: Path
) -> None:
    commands = {c["command"]: c["description"] for c in server.commands()}
    assert {"start", "hilfe", "fortschritt", "menu", "ergebnis", "neustart"} <= commands.keys()
    everyone = {
        name: entry["menu"]
        for name, entry in TEXTS["commands"].items()
        if entry["audience"] == "everyone"
    }
    assert commands == everyone
    assert commands["fortschritt"] == "Ihr Fortschritt"

    user = bot.user(1008)
    await begin(user)
    field1 = Q.field_questions(FIELDS[0].id)
    for question, option in zip(field1[:3], ["full", "mostly", None], strict=True):
        await answer(user, question.id, option)

    menu = await command(user, "/menu", "Handlungsfelder")
    assert f"1. {FIELDS[0].title} (3/{FIRST})" in menu.button_texts
    for number, field in enumerate(FIELDS[1:], start=2):
        assert f"{number}. {field.title}" in menu.button_texts
    assert len([b for b in menu.button_texts if re.match(r"(✅ )?\d\. ", b)]) == 7
    assert "📊 Ergebnis" in menu.button_texts

    # Field 4 first, in full.
    _, message = await press_in_place(user, re.compile(r"^4\. "))
    field4 = Q.field_questions(FIELDS[3].id)
    for question in field4:
        assert_question(message, question.id)
        _, message = await answer(user, question.id, "partly")
    assert f"Handlungsfeld 4: {FIELDS[3].title}" in text_of(message)
    assert f"▶️ Weiter: {FIELDS[4].title}" in message.button_texts
    done = 3 + len(field4)

    progress = await command(user, "/fortschritt", "Ihr Fortschritt")
    assert f"{round(100 * done / TOTAL)} %" in text_of(progress)
    assert f"1. {FIELDS[0].title} – 3 von {FIRST} bearbeitet" in text_of(progress)
    assert f"4. {FIELDS[3].title} – erledigt ✅" in text_of(progress)
    assert f"2. {FIELDS[1].title} – noch nicht begonnen" in text_of(progress)
    english = await command(user, "/progress", "Ihr Fortschritt")
    assert f"{round(100 * done / TOTAL)} %" in text_of(english)

    results = await command(user, "/ergebnis", "Ihr Ergebnis")
    text = text_of(results)
    assert "1 von 7 Handlungsfeldern abgeschlossen" in text
    assert f"Handlungsfeld 4: {FIELDS[3].title}" in text
    assert "Einschätzung: am Anfang" in text  # all "trifft eher nicht zu": 33 of 100
    for number in (1, 2, 3, 5, 6, 7):
        assert f"Handlungsfeld {number}:" not in text
    assert f"1. {FIELDS[0].title}: noch offen (3 von {FIRST} bearbeitet)" in text

    # Back to field 1 from the results' menu button: it continues at its open question.
    await press_in_place(user, "📋 Menü")
    _, message = await press_in_place(user, f"1. {FIELDS[0].title} (3/{FIRST})")
    assert_question(message, field1[3].id)
    await answer(user, field1[3].id, "none")
    # And the last field, straight from the menu.
    await command(user, "/menu", "Handlungsfelder")
    _, message = await press_in_place(user, re.compile(r"^7\. "))
    field7 = Q.field_questions(FIELDS[6].id)
    assert_question(message, field7[0].id)
    await answer(user, field7[0].id, "full")
    expected = {
        field1[0].id: "full",
        field1[1].id: "mostly",
        field1[2].id: None,
        field1[3].id: "none",
        field7[0].id: "full",
        **{q.id: "partly" for q in field4},
    }
    assert answers_of(database, user.chat_id) == expected

    # /neustart: "Nein" keeps everything, "Ja" archives the session and starts afresh.
    confirm = await command(user, "/neustart", "Wirklich neu beginnen?")
    assert f"({len(expected)} bearbeitet)" in text_of(confirm)
    _, kept = await press_in_place(user, "Nein, weitermachen")
    assert "Alles bleibt, wie es ist" in text_of(kept)
    assert_question(kept, field7[1].id)
    old = current_session(database, user.chat_id)

    await command(user, "/neustart", "Wirklich neu beginnen?")
    user.mark_seen()
    record = await user.press("Ja, neu beginnen")
    welcome = await user.wait_for_message(lambda m: "Willkommen" in text_of(m))
    await settle(user, record)
    assert "▶️ Los geht’s" in welcome.button_texts
    assert any("neue Runde" in text_of(m) for m in user.messages)

    archived = rows(database, "SELECT * FROM sessions WHERE id = ?", old["id"])[0]
    assert archived["archived_at"] is not None
    assert archived["archived_reason"] == "restart"
    assert stored_answers(database, old["id"]) == expected
    fresh = current_session(database, user.chat_id)
    assert fresh["id"] != old["id"]
    assert stored_answers(database, fresh["id"]) == {}
    assert len(rows(database, "SELECT id FROM sessions WHERE user_id = ?", user.chat_id)) == 2

    # The fresh session starts at the very first question.
    _, message = await press_in_place(user, "▶️ Los geht’s")
    assert_question(message, Q.questions[0].id)
    await answer(user, Q.questions[0].id, "none")
    assert answers_of(database, user.chat_id) == {Q.questions[0].id: "none"}
    assert stored_answers(database, old["id"]) == expected
    assert_telegram_limits(server, user)


# -- 7. Telegram's limits -------------------------------------------------------------------------


async def test_every_screen_respects_telegram_limits(
    bot: InProcessBot, server: BotApiServer, database: Path
) -> None:
    """Lowest answers (most suggestions) and half of all questions skipped: the longest
    field results, overview and skipped list; every screen and command on top."""
    user = bot.user(1009)
    await command(user, "/hilfe", "So funktioniert der Selbstcheck")
    await command(user, "/fortschritt", "Ihr Fortschritt")
    await command(user, "/ergebnis", "Ihr Ergebnis")
    message = await begin(user)
    pressed: dict[str, str | None] = {}
    for field_index, field in enumerate(FIELDS):
        for index, question in enumerate(Q.field_questions(field.id)):
            choice = None if index % 2 == 0 else "none"
            _, message = await answer(user, question.id, choice)
            pressed[question.id] = choice
        if field_index + 1 < len(FIELDS):
            _, message = await press_in_place(user, "▶️ Weiter:")
    last_question_message = message.message_id
    await user.wait_for_message(lambda m: "Übersprungene Fragen" in text_of(m))
    await user.wait_until_idle(quiet=0.05)
    sent = [m for m in user.messages if m.message_id > last_question_message]
    assert len(sent) >= 4  # overview and skipped list were each too long for one message
    everything = "\n".join(text_of(m) for m in sent)
    for question_id, choice in pressed.items():
        if choice is None:
            assert f"{Q.question(question_id).text}" in everything
    await command(user, "/ergebnis", "Übersprungene Fragen")
    await command(user, "/menu", "Handlungsfelder")
    _, message = await press_in_place(user, re.compile(r"^✅ 3\. "))
    assert f"Handlungsfeld 3: {FIELDS[2].title}" in text_of(message)
    await press_in_place(user, "✏️ Antworten ansehen/ändern")
    await command(user, "/start", "Schön, dass Sie wieder da sind")
    await command(user, "/neustart", "Wirklich neu beginnen?")

    assert answers_of(database, user.chat_id) == pressed
    assert current_session(database, user.chat_id)["completed_at"] is not None
    assert_telegram_limits(server, user)
    refused = [c for c in server.calls() if c.status is not None and c.status >= 400]
    assert refused == []
