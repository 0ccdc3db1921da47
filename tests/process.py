"""Run `python -m bot …` to its end as an operator would, with a deadline.

Why: start-up defects show as a process that never ends; `subprocess.run(timeout=…)` in an
async test would block the local Bot API server running in the same event loop, so this
waits asynchronously and fails the test (after killing the process) when the deadline passes.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import dataclass

from tests.harness import ROOT

# Root ignores file modes; without these capabilities it obeys them like any user.
AS_ORDINARY_USER = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner"]


@dataclass(frozen=True)
class Exited:
    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


async def run_to_exit(
    env: dict[str, str], *args: str, timeout: float = 20.0, obey_file_modes: bool = False
) -> Exited:
    """`obey_file_modes`: even when the tests run as root, read-only files stay read-only."""
    started = time.monotonic()
    prefix = AS_ORDINARY_USER if obey_file_modes and os.geteuid() == 0 else []
    process = await asyncio.create_subprocess_exec(
        *prefix,
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=ROOT,
        env={**os.environ, **env},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        stdout, stderr = await process.communicate()
        raise AssertionError(
            f"python -m bot {' '.join(args)} still running after {timeout} s; stderr:\n"
            + stderr.decode(errors="replace")[-3000:]
        ) from None
    assert process.returncode is not None
    return Exited(
        process.returncode,
        stdout.decode(errors="replace"),
        stderr.decode(errors="replace"),
        time.monotonic() - started,
    )
