"""A small HTTP proxy on 127.0.0.1 for tests: forwards absolute-URI requests, tunnels CONNECT.

Why: municipal networks often reach the internet only through a proxy; the test must see the
bot's requests arrive there. Host names are mapped (`hosts`) so the bot can be pointed at a
name only this proxy can resolve: then every request that succeeds went through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

_REQUEST_LINE = re.compile(rb"(?:^|\r\n)([A-Z]+) (\S+) HTTP/1\.[01]\r\n")


@dataclass
class ForwardProxy:
    """`async with ForwardProxy({"api.telegram.invalid": "127.0.0.1"}) as proxy: proxy.url`."""

    hosts: dict[str, str] = field(default_factory=dict)
    allow_connect: bool = True
    seen: list[str] = field(default_factory=list)  # "METHOD target" of every request
    port: int = 0
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
        self.seen.append(f"{method} {target}")
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
        else:
            parts = urlsplit(target)
            host, port = parts.hostname or "", str(parts.port or 80)
        if method == "CONNECT" and not self.allow_connect:
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(
                self.hosts.get(host, host), int(port)
            )
        except OSError:
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        if method == "CONNECT":
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            up_writer.write(head)  # aiohttp, like any HTTP/1.1 server, takes absolute URIs
        await asyncio.gather(
            self._pipe(reader, up_writer, record=method != "CONNECT"),
            self._pipe(up_reader, writer, record=False),
        )

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, record: bool
    ) -> None:
        try:
            while data := await reader.read(65536):
                if record:  # later requests on the same kept-alive connection
                    self.seen.extend(
                        f"{m.group(1).decode()} {m.group(2).decode()}"
                        for m in _REQUEST_LINE.finditer(data)
                    )
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
