"""Working days under the Algemene termijnenwet."""

from __future__ import annotations

import datetime as dt

from gateway.ops.workdays import Calendar, holidays

D = dt.date


def test_the_feestdagen_of_2025_and_2026() -> None:
    assert holidays(2025) == {
        D(2025, 1, 1),
        D(2025, 4, 18),  # Goede Vrijdag (art. 3 lid 2)
        D(2025, 4, 21),  # tweede Paasdag
        D(2025, 4, 26),  # Koningsdag: 27 April 2025 is a Sunday
        D(2025, 5, 5),
        D(2025, 5, 29),  # Hemelvaartsdag
        D(2025, 6, 9),  # tweede Pinksterdag
        D(2025, 12, 25),
        D(2025, 12, 26),
    }
    assert D(2026, 4, 27) in holidays(2026)  # a Monday: celebrated on the day
    assert {D(2026, 4, 3), D(2026, 4, 6), D(2026, 5, 14), D(2026, 5, 25)} <= holidays(2026)


def test_adding_working_days_skips_weekends_and_feestdagen() -> None:
    calendar = Calendar()
    assert calendar.add(D(2025, 3, 3), 3) == D(2025, 3, 6)  # Monday + 3 = Thursday
    assert calendar.add(D(2025, 3, 6), 3) == D(2025, 3, 11)  # over a weekend
    # Thursday 17 April 2025: Goede Vrijdag, the weekend and tweede Paasdag do not count
    assert calendar.add(D(2025, 4, 17), 1) == D(2025, 4, 22)
    # Christmas and New Year 2025: 24 Dec + 3 = 29, 30, 31 Dec
    assert calendar.add(D(2025, 12, 24), 3) == D(2025, 12, 31)
    assert calendar.add(D(2025, 12, 24), 4) == D(2026, 1, 2)
    assert calendar.add(D(2025, 3, 1), 0) == D(2025, 3, 1)
    # a count that would run past the calendar stops at its last day (a message may carry it)
    assert calendar.add(D(9999, 12, 29), 5) == D(9999, 12, 31)
    assert calendar.add(D(9999, 12, 31), 1) == D(9999, 12, 31)


def test_days_added_by_besluit_are_not_working_days() -> None:
    calendar = Calendar(["2025-05-30"])  # the Friday after Hemelvaartsdag
    assert not calendar.is_working_day(D(2025, 5, 30))
    assert calendar.add(D(2025, 5, 28), 1) == D(2025, 6, 2)
    assert Calendar().add(D(2025, 5, 28), 1) == D(2025, 5, 30)
