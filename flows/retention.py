"""Retention: how long the bot keeps a person's data after their last activity.

Checks and people inactive for longer than the retention time (default 24 months) are
deleted; a notice goes out `notice_days` before, so a person who still wants their data can
say so by simply using the bot again (which counts as activity). Months are calendar months:
31 March minus one month is the last day of February.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` shifted by whole calendar months (negative: back), the day clamped to the month."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def deletion_cutoff(now: datetime, months: int) -> datetime:
    """Whoever was last active before this moment is due for deletion now."""
    return add_months(now, -months)


def notice_cutoff(now: datetime, months: int, notice_days: int) -> datetime:
    """Whoever was last active before this moment is deleted within `notice_days`: tell them."""
    return add_months(now + timedelta(days=notice_days), -months)


def deleted_on(
    last_active: datetime, noticed_at: datetime | None, months: int, notice_days: int
) -> datetime:
    """When a person is deleted: `months` after their last activity, but for someone the bot
    can reach never sooner than `notice_days` after the notice (`noticed_at`; None for someone
    who cannot be reached). In normal operation the notice goes out `notice_days` before, so
    this is simply `months` after; it matters when the notice came late (first start-up with
    old data, a long outage): the person still gets the full notice period.
    """
    due = add_months(last_active, months)
    if noticed_at is None:
        return due
    return max(due, noticed_at + timedelta(days=notice_days))
