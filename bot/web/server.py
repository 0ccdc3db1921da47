"""The workshop web server: an aiohttp application that runs in the bot's event loop.

Routes (all relative, so the server works behind a reverse proxy under any path prefix):
- GET  /w/<token>           the workshop page of the token's group and round
- GET  /w/<token>.pdf       the same page as PDF
- GET  /app/<group>/<round> Mini App entry: posts Telegram's initData back to the server
- POST /app/<group>/<round> checks initData and the coordinator, then redirects to a fresh link
- GET  /static/workshop.css the page's stylesheet
Every refusal is a German page with the fitting status (403, 404, 410: revoked, expired, or
the round is over), every failure a German
500 page; no stack trace or token ever reaches a browser or the access log. Rendering runs in a
worker thread, at most two at a time, so a PDF never stalls the bot's replies.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.cli.config import Settings
from bot.web.documents import workshop_page
from bot.web.initdata import DEFAULT_MAX_AGE_SECONDS, InitDataRefused, verify_init_data
from bot.web.render import STYLESHEET, Renderer, shared_renderer
from bot.web.source import WorkshopData, WorkshopSource
from bot.web.tokens import (
    LinkProblem,
    LinkRefused,
    LinkSigner,
    WorkshopLink,
    derive_secret,
    mini_app_path,
)

log = logging.getLogger(__name__)

TOKEN_ROUTE = r"{token:[A-Za-z0-9_\-.]{1,400}}"
PDF_SUFFIX = ".pdf"
PAGE_CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'none'; base-uri 'none'"
)


class Refusal(Exception):
    """A request the server answers with a German error page instead of content."""

    def __init__(self, status: int, message_key: str, **values: object) -> None:
        super().__init__(message_key)
        self.status = status
        self.message_key = message_key
        self.values = values


_LINK_REFUSALS = {
    LinkProblem.INVALID: (404, "error_not_found"),
    LinkProblem.EXPIRED: (410, "error_expired"),
    LinkProblem.REVOKED: (410, "error_revoked"),
}


class WorkshopServer:
    """Serves workshop pages; `start()` and `stop()` follow the bot's own life cycle."""

    def __init__(
        self,
        source: WorkshopSource,
        signer: LinkSigner,
        *,
        bot_token: str,
        host: str = "127.0.0.1",
        port: int = 8080,
        renderer: Renderer | None = None,
        init_data_max_age: int = DEFAULT_MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.source = source
        self.signer = signer
        self.host = host
        self.port = port
        self.renderer = renderer or shared_renderer()
        self._bot_token = bot_token
        self._init_data_max_age = init_data_max_age
        self._clock = clock
        self._renders = asyncio.Semaphore(2)
        self._runner: web.AppRunner | None = None
        self.app = self._build_app()

    # -- life cycle --------------------------------------------------------------------------

    async def start(self) -> None:
        # No access log: its lines would contain the link tokens, which are credentials.
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:  # tests bind any free port; learn which one
            self.port = self._runner.addresses[0][1]
        log.info("Workshop pages served on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def link_path(self, group_id: int, round: int, generation: int) -> str:
        """The path (append it to WEB_BASE_URL) of a new link to a group's round."""
        return "/w/" + self.signer.make(WorkshopLink(group_id, round, generation))

    @staticmethod
    def mini_app_path(group_id: int, round: int) -> str:
        """The path (after WEB_BASE_URL) for the Mini App button (`WebAppInfo`)."""
        return mini_app_path(group_id, round)

    # -- application -------------------------------------------------------------------------

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._errors], client_max_size=64 * 1024)
        app.add_routes(
            [
                web.get("/w/" + TOKEN_ROUTE, self._page),
                web.get(r"/app/{group:\d{1,18}}/{round:\d{1,9}}", self._app_entry),
                web.post(r"/app/{group:\d{1,18}}/{round:\d{1,9}}", self._app_login),
                web.get("/static/workshop.css", self._stylesheet),
            ]
        )
        return app

    @web.middleware
    async def _errors(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Turn every refusal and failure into a German page; never a trace to the browser."""
        try:
            response = await handler(request)
        except Refusal as refusal:
            log.info("Workshop request refused: %s (%s)", refusal.message_key, refusal.status)
            response = self._error_page(
                request, refusal.status, refusal.message_key, refusal.values
            )
        except web.HTTPException as error:
            if error.status < 400:
                raise
            key = "error_method" if error.status == 405 else "error_not_found"
            response = self._error_page(request, error.status, key, {})
        except Exception:
            log.exception("Workshop page failed")
            response = self._error_page(request, 500, "error_internal", {})
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"  # the URL is the credential
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def _error_page(
        self, request: web.Request, status: int, key: str, values: dict[str, object]
    ) -> web.Response:
        t = self.renderer.t
        values = {"days": self.signer.days, **values}
        hint = t("error_back") if status in (403, 404, 410) and key != "error_forbidden" else None
        html = self.renderer.error_html(status, t(key, **values), hint, css_href=_css_href(request))
        return web.Response(status=status, text=html, content_type="text/html", charset="utf-8")

    # -- handlers ----------------------------------------------------------------------------

    async def _page(self, request: web.Request) -> web.StreamResponse:
        """The workshop page or its PDF for a valid, current link."""
        token = request.match_info["token"]
        pdf = token.endswith(PDF_SUFFIX)
        if pdf:
            token = token[: -len(PDF_SUFFIX)]
        link = await self._open_link(token)
        data = await self._data(link.group_id, link.round)
        page = workshop_page(data, self.renderer)
        async with self._renders:
            if pdf:
                body = await asyncio.to_thread(self.renderer.workshop_pdf, page)
                return web.Response(
                    body=body,
                    content_type="application/pdf",
                    headers={
                        "Content-Disposition": f'inline; filename="workshop-runde-{data.round}.pdf"'
                    },
                )
            html = await asyncio.to_thread(
                self.renderer.workshop_html,
                page,
                css_href=_css_href(request),
                pdf_href=token + PDF_SUFFIX,
            )
        return web.Response(text=html, content_type="text/html", charset="utf-8")

    async def _open_link(self, token: str) -> WorkshopLink:
        try:
            link = self.signer.read(token)
        except LinkRefused as refused:
            raise Refusal(*_LINK_REFUSALS[refused.problem]) from refused
        state = await self.source.group_link(link.group_id)
        if state is None:
            raise Refusal(404, "error_not_found")
        if link.generation != state.generation:
            raise Refusal(*_LINK_REFUSALS[LinkProblem.REVOKED])
        if link.round < state.current_round:
            # A new round has begun: its page shows the new round, the old one is over.
            raise Refusal(410, "error_round_over", round=link.round, current=state.current_round)
        return link

    async def _data(self, group_id: int, round: int) -> WorkshopData:
        data = await self.source.page_data(group_id, round)
        if data is None:
            raise Refusal(404, "error_not_found")
        return data

    async def _app_entry(self, request: web.Request) -> web.Response:
        """Inside Telegram: a tiny page whose one script posts initData back (see app.html.j2)."""
        nonce = secrets.token_urlsafe(16)
        html = self.renderer.app_html(action="", nonce=nonce, css_href=_css_href(request))
        return web.Response(
            text=html,
            content_type="text/html",
            charset="utf-8",
            headers={
                "Content-Security-Policy": (
                    f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'self' "
                    "'unsafe-inline'; form-action 'self'; base-uri 'none'"
                )
            },
        )

    async def _app_login(self, request: web.Request) -> web.Response:
        """A coordinator signed in through Telegram gets a fresh link to the page."""
        group_id = int(request.match_info["group"])
        round = int(request.match_info["round"])
        form = await request.post()
        init_data = form.get("init_data")
        if not isinstance(init_data, str) or not init_data:
            raise Refusal(403, "error_login")
        try:
            user = verify_init_data(
                init_data,
                self._bot_token,
                max_age=self._init_data_max_age,
                clock=self._clock,
            )
        except InitDataRefused as refused:
            log.info("Mini App sign-in refused: %s", refused)
            raise Refusal(403, "error_login") from refused
        state = await self.source.group_link(group_id)
        if state is None:
            raise Refusal(404, "error_not_found")
        if not await self.source.is_coordinator(user.user_id, group_id):
            raise Refusal(403, "error_forbidden")
        if round < state.current_round:
            raise Refusal(410, "error_round_over", round=round, current=state.current_round)
        await self._data(group_id, round)
        token = self.signer.make(WorkshopLink(group_id, round, state.generation))
        # Relative to /app/<group>/<round>: correct behind any path prefix.
        raise web.HTTPSeeOther(location=f"../../w/{token}")

    async def _stylesheet(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(
            STYLESHEET,
            headers={"Cache-Control": "public, max-age=3600", "Content-Type": "text/css"},
        )


def _css_href(request: web.Request) -> str:
    """The stylesheet relative to the request's path, so a proxy's path prefix is kept."""
    return "../" * (request.path.count("/") - 1) + "static/workshop.css"


def workshop_server(
    settings: Settings, source: WorkshopSource, signer: LinkSigner | None = None
) -> WorkshopServer | None:
    """The server as configured, or None when no WEB_BASE_URL (or no bot token) is set.

    `signer` is the one the bot's links are made with (the same key either way).
    """
    if settings.web_base_url is None or settings.token is None:
        return None
    return WorkshopServer(
        source,
        signer or LinkSigner(derive_secret(settings.token), days=settings.web_link_days),
        bot_token=settings.token,
        host=settings.web_listen,
        port=settings.web_port,
    )
