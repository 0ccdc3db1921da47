"""First contact: /start over real HTTP shows the welcome with the way to begin."""

from __future__ import annotations

from bot.store.content import DEFAULT_QUESTIONNAIRE
from flows.loading import parse_questionnaire
from tests.harness import InProcessBot

Q = parse_questionnaire(DEFAULT_QUESTIONNAIRE.read_text(encoding="utf-8"))


async def test_start_shows_welcome_and_first_question(bot: InProcessBot) -> None:
    user = bot.user(501)
    await user.send_command("/start")
    welcome = await user.wait_for_message()
    assert "Willkommen" in welcome.visible_text
    assert "kein Ranking" in welcome.visible_text
    await user.press("▶️ Los geht’s")
    question = await user.wait_for_message()
    first_field = len(Q.field_questions(Q.fields[0].id))
    assert f"Frage 1 von {first_field}" in question.visible_text
    assert "trifft voll zu" in user.buttons()


async def test_profile_texts_explain_the_check_before_the_first_start(bot: InProcessBot) -> None:
    """The empty chat already says what the bot is for (Telegram shows the description)."""
    server = bot.server
    description = server.descriptions[("description", "")]
    assert "Selbstcheck „Weltoffene Kommune“" in description and "Kein Ranking" in description
    assert len(server.descriptions[("short_description", "")]) <= 120
