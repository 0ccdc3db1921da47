"""The audit: which published sums together would single someone out.

Every figure is a sum over a group of markers; an attacker adds and subtracts them, so what
can be learned is the sum over each *cell* (`cells`). Each audit here asks of a candidate
figure, next to the earlier ones: does every cell hold `k` people, and does no cell's sum pin
anyone's value (`_narrowest`), also for a member who knows their own (`_extremes`)?
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

from flows.disclosure.model import Reason

H = TypeVar("H", bound=Hashable)


def cells(groups: Iterable[Iterable[H]]) -> list[frozenset[H]]:
    """The finest pieces that sums over `groups` can be cut into by adding and subtracting.

    Two people are in the same cell when they are counted in exactly the same published groups;
    every sum an attacker can form from the groups is a sum over whole cells, so a cell of one
    is that person's own value.
    """
    listed = [frozenset(g) for g in groups]
    signature: dict[H, list[int]] = {}
    for index, group in enumerate(listed):
        for token in group:
            signature.setdefault(token, []).append(index)
    pieces: dict[tuple[int, ...], set[H]] = {}
    for token, where in signature.items():
        pieces.setdefault(tuple(where), set()).add(token)
    return [frozenset(p) for p in pieces.values()]


def _audit(
    history: Sequence[Iterable[str]],
    candidate: Sequence[frozenset[str]],
    value: Mapping[str, int],
    low: int,
    high: int,
    k: int,
    protection: int,
) -> Reason | None:
    """None if `candidate` may be published next to `history`; else the reason it may not.

    Each cell must hold at least `k` people; and within each cell whose values are all current,
    the cell's sum must not pin anyone's value to fewer than `protection` points — neither for an
    outsider nor for a member who knows their own value.
    """
    for cell in cells([*history, *candidate]):
        if len(cell) < k:
            return Reason.DIFFERENCING if history else Reason.COMPLEMENT
        if not all(token in value for token in cell):
            continue
        total = sum(value[t] for t in cell)
        if _narrowest(total, {(low, high): len(cell)}) < protection:
            return Reason.EXTREME
        for token in _extremes(cell, value, key=lambda _: ""):
            if _narrowest(total - value[token], {(low, high): len(cell) - 1}) < protection:
                return Reason.EXTREME
    return None


def _absence_audit(
    history: Sequence[Iterable[str]], population: frozenset[str], absent: frozenset[str], k: int
) -> Reason | None:
    """None if a field's n (checks with a score, of the release's `population`) may be shown.

    n is a published count of the yes/no "has a score here", so across releases the attacker
    gets it for every cell of the populations (e.g. "the three newcomers all have none": they
    skipped the field). Every cell needs `k` checks, and in a cell of current checks not all,
    nor all but one, may be without a score (`absent`). Having a score is what a field figure
    stands on anyway, so only its absence is protected.
    """
    for cell in cells([*history, population]):
        if len(cell) < k:
            return Reason.DIFFERENCING if history else Reason.COMPLEMENT
        if not cell <= population:
            continue  # mixes unknowns: only the count rule applies
        missing = len(cell & absent)
        if missing and missing >= len(cell) - 1:
            return Reason.DIFFERENCING if history else Reason.EXTREME
    return None


def _extremes(
    group: Iterable[str], value: Mapping[str, int], key: Callable[[str], str]
) -> set[str]:
    """Per `key` class, the members with the lowest and the highest value.

    For fixed counts, the width `_narrowest` gives is concave in the total, so over all members
    who might subtract their own value the narrowest result comes from one of these two.
    """
    lowest: dict[str, str] = {}
    highest: dict[str, str] = {}
    for token in group:
        kind = key(token)
        if kind not in lowest or value[token] < value[lowest[kind]]:
            lowest[kind] = token
        if kind not in highest or value[token] > value[highest[kind]]:
            highest[kind] = token
    return {*lowest.values(), *highest.values()}


def _narrowest(total: int, categories: Mapping[tuple[int, int], int]) -> int:
    """Width of the tightest interval an attacker gets for one person from a sum and counts.

    `categories` maps a value range (inclusive) to how many people are in it. A person in range
    [lo, hi] has a value v with lo <= v <= hi, and the others must make up `total - v` within
    their own ranges, so v >= total - (sum of the others' highs) and v <= total - (sum of their
    lows). An empty group pins nobody.
    """
    people = sum(categories.values())
    if people == 0:
        return max(hi - lo for lo, hi in categories) if categories else 10**9
    lows = sum(lo * c for (lo, _), c in categories.items())
    highs = sum(hi * c for (_, hi), c in categories.items())
    widths = []
    for (lo, hi), count in categories.items():
        if count == 0:
            continue
        least = max(lo, total - (highs - hi))
        most = min(hi, total - (lows - lo))
        widths.append(most - least)
    return min(widths)
