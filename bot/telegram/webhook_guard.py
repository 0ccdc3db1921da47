"""Limits of the webhook server that hold before the secret token is checked.

Why: PTB's webhook handler checks the secret only after Tornado has read the whole request
body, and Tornado's default reads bodies up to 100 MB into memory, so anyone who can reach the
port could fill the bot's memory with a few parallel requests. Telegram's updates are a few
kilobytes; a larger body is refused by Tornado from its Content-Length (or while reading a
chunked body) with "400 Bad Request", before the rest is read.

PTB builds its `tornado.httpserver.HTTPServer` itself and has no parameter for this; Tornado's
documented way to set defaults for every server it creates is `Configurable.configure`.
"""

from __future__ import annotations

MAX_BODY_BYTES = 2 * 1024 * 1024


def limit_request_bodies(max_bytes: int = MAX_BODY_BYTES) -> None:
    """Make every HTTPServer created from now on refuse bodies larger than `max_bytes`."""
    from tornado.httpserver import HTTPServer

    HTTPServer.configure(None, max_body_size=max_bytes)
