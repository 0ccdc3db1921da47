"""Python's garbage collector around start-up: off while the long-lived objects are made, then
those objects frozen out of every later collection.

Why (issue 15, measured on the 2-core machine): start-up makes about 70 000 objects that live
as long as the process (modules, the questionnaire models, python-telegram-bot's classes). With
the collector on, it scanned them again and again while they were being made – about 160 ms of
collections in a start-up of 0.8 s (the echo bot, with fewer objects, spends about 40 ms) – and
afterwards every full collection scanned all of them once more: 55–70 ms in which the event
loop stood still, the longest stalls behind a press's p99. `gc.freeze()` moves them into a
permanent generation that no collection visits; what is made later is collected as before.

The price: the little cyclic garbage start-up leaves (about 700 objects, 170 kB) is frozen
with the rest and never freed. A start-up attempt that fails (Telegram unreachable, retried)
thaws everything and collects, so an abandoned attempt's objects are not kept. Only the
process's own entry point uses this (`bot.cli.run`): a test that runs the bot in its own
process keeps its collector as it is.
"""

from __future__ import annotations

import gc


def pause() -> None:
    """No collections until `resume_frozen`: start-up only makes objects that stay."""
    gc.disable()


def resume_frozen() -> int:
    """Freeze every object made so far and collect as usual from now on; returns how many
    objects are frozen. Cheap (no collection): it only moves them into another list."""
    gc.freeze()
    gc.enable()
    return gc.get_freeze_count()


def thaw() -> None:
    """Everything back under collection, collected now: after a start-up attempt failed, its
    objects (frozen or made while collections were off) are garbage."""
    gc.unfreeze()
    gc.enable()
    gc.collect()
