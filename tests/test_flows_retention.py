"""Retention's calendar arithmetic: whole calendar months, the day clamped to the month."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from flows.retention import add_months, deleted_on, deletion_cutoff, notice_cutoff


def test_month_ends_are_clamped() -> None:
    assert add_months(datetime(2026, 3, 31, tzinfo=UTC), -1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2028, 3, 31, tzinfo=UTC), -1) == datetime(2028, 2, 29, tzinfo=UTC)
    assert add_months(datetime(2026, 1, 15, 9, tzinfo=UTC), 24) == datetime(
        2028, 1, 15, 9, tzinfo=UTC
    )


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    st.integers(1, 120),
    st.integers(1, 90),
)
def test_nobody_is_deleted_before_their_date_and_notices_come_first(
    moment: datetime, months: int, notice_days: int
) -> None:
    now = moment.replace(tzinfo=UTC)
    cutoff = deletion_cutoff(now, months)
    # Whoever the store finds inactive since before the cutoff is due now (if unreachable);
    # month ends only ever clamp backwards, so the date never lies after `now`.
    assert deleted_on(cutoff, None, months, notice_days) <= now
    assert deleted_on(cutoff - timedelta(days=1), None, months, notice_days) <= now
    # A notice sent now never leads to a deletion before the notice period is over.
    assert deleted_on(cutoff, now, months, notice_days) == now + timedelta(days=notice_days)
    # The notice cutoff never lies before the deletion cutoff: a notice before the deletion
    # (at a month end both may clamp to the same day, e.g. 29 March − 1 month = 29 February).
    assert notice_cutoff(now, months, notice_days) >= cutoff
