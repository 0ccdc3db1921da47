"""The finished documents, for any transport: the workshop page and PDF of a round, and a
participant's own result PDF. Rendering runs in a worker thread (matplotlib and WeasyPrint take
a noticeable fraction of a second), so callers on the bot's event loop never stall it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date

from bot.web.model import WorkshopPage, own_result_model, workshop_page_model
from bot.web.render import Renderer, shared_renderer
from bot.web.source import WorkshopData
from flows.questionnaire import Questionnaire
from flows.scoring import FieldResult


def workshop_page(data: WorkshopData, renderer: Renderer) -> WorkshopPage:
    """The page model of one round, from the published report the source delivered."""
    seen = data.seen
    return workshop_page_model(
        seen.report,
        data.questionnaire,
        group_name=data.group_name,
        round=data.round,
        own=seen.own,
        pending=seen.pending,
        held=seen.held,
        texts=renderer.t,
    )


async def workshop_pdf(data: WorkshopData, renderer: Renderer | None = None) -> bytes:
    """The workshop PDF, e.g. for `/workshop pdf` as a Telegram document."""
    renderer = renderer or shared_renderer()
    return await asyncio.to_thread(renderer.workshop_pdf, workshop_page(data, renderer))


async def own_result_pdf(
    results: Sequence[FieldResult],
    questionnaire: Questionnaire,
    *,
    released: date,
    renderer: Renderer | None = None,
) -> bytes:
    """A participant's own result ("📄 Ergebnis als PDF"); send it to that person only."""
    renderer = renderer or shared_renderer()
    page = own_result_model(results, questionnaire, released=released, texts=renderer.t)
    return await asyncio.to_thread(renderer.own_result_pdf, page)
