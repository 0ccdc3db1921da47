"""Deterministic fault injection for the fake Bot API server.

Why: a bot must survive Telegram's 5xx answers, lost connections, slow replies and 429
flood control. Rules are drawn with a seeded ``random.Random`` so a failing test replays
identically.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal["error", "drop", "slow", "rate_limit"]
GET_UPDATES = "getupdates"


@dataclass
class FaultRule:
    """One kind of fault, applied to a fraction of the matching calls.

    ``methods`` are Bot API method names (case-insensitive); ``None`` means every method
    except getUpdates. getUpdates is only faulted when named explicitly, and only with
    ``error`` (a 502 that PTB retries), so polling can never break permanently.
    ``times`` limits how often the rule fires (``None`` = unlimited).
    ``after_effect`` (drop only) performs the call before dropping the connection, i.e. the
    bot loses the *response* of a request that did take effect.
    """

    kind: FaultKind
    probability: float = 1.0
    methods: frozenset[str] | None = None
    chat_id: int | None = None
    times: int | None = None
    status: int | None = None
    seconds: float = 0.0
    retry_after: int = 1
    after_effect: bool = False
    fired: int = 0

    def __post_init__(self) -> None:
        if self.methods is not None:
            self.methods = frozenset(m.lower() for m in self.methods)
            if GET_UPDATES in self.methods and self.kind != "error":
                raise ValueError("getUpdates may only be faulted with kind='error'")

    def matches(self, method: str, chat_id: int | None) -> bool:
        """Whether this rule is eligible for a call (before the random draw)."""
        if self.times is not None and self.fired >= self.times:
            return False
        if self.chat_id is not None and self.chat_id != chat_id:
            return False
        if self.methods is None:
            return method != GET_UPDATES
        return method in self.methods


@dataclass
class Faults:
    """Runtime-configurable fault rules; the first matching rule that fires wins."""

    seed: int = 0
    rules: list[FaultRule] = field(default_factory=list)
    log: list[tuple[str, FaultKind]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)

    def reseed(self, seed: int) -> None:
        """Restart the random sequence (e.g. at the start of a test)."""
        self.seed = seed
        self.random = random.Random(seed)

    def add(self, rule: FaultRule) -> FaultRule:
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    def rate(
        self,
        p: float,
        *,
        status: int | None = None,
        methods: Iterable[str] | None = None,
        chat_id: int | None = None,
        times: int | None = None,
    ) -> FaultRule:
        """Answer a fraction ``p`` of calls with HTTP 500/502 (random unless ``status``)."""
        return self.add(FaultRule("error", p, _set(methods), chat_id, times, status=status))

    def drop(
        self,
        p: float,
        *,
        after_effect: bool = False,
        methods: Iterable[str] | None = None,
        chat_id: int | None = None,
        times: int | None = None,
    ) -> FaultRule:
        """Close the connection without any response."""
        return self.add(
            FaultRule("drop", p, _set(methods), chat_id, times, after_effect=after_effect)
        )

    def slow(
        self,
        p: float,
        seconds: float,
        *,
        methods: Iterable[str] | None = None,
        chat_id: int | None = None,
        times: int | None = None,
    ) -> FaultRule:
        """Delay the answer by ``seconds`` (the call then succeeds normally)."""
        return self.add(FaultRule("slow", p, _set(methods), chat_id, times, seconds=seconds))

    def too_many_requests(
        self,
        p: float,
        retry_after: int = 1,
        *,
        methods: Iterable[str] | None = None,
        chat_id: int | None = None,
        times: int | None = None,
    ) -> FaultRule:
        """Answer 429 with ``parameters.retry_after`` (violations are tracked by the server)."""
        return self.add(
            FaultRule("rate_limit", p, _set(methods), chat_id, times, retry_after=retry_after)
        )

    def pick(self, method: str, chat_id: int | None) -> FaultRule | None:
        """Choose the fault for one call, or ``None``; consumes random numbers deterministically."""
        method = method.lower()
        for rule in self.rules:
            if rule.matches(method, chat_id) and self.random.random() < rule.probability:
                rule.fired += 1
                self.log.append((method, rule.kind))
                return rule
        return None

    def error_status(self, rule: FaultRule) -> int:
        return rule.status or self.random.choice((500, 502))


def _set(methods: Iterable[str] | None) -> frozenset[str] | None:
    return None if methods is None else frozenset(methods)
