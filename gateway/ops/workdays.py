"""Working days in the Netherlands (pure functions).

A working day is a day that is not a Saturday, a Sunday or an "algemeen erkende feestdag" in the
sense of the Algemene termijnenwet (Wet van 25 juli 1964, Stb. 1964, 314), article 3:

- lid 1: Nieuwjaarsdag, Christelijke tweede Paas- en Pinksterdag, beide Kerstdagen,
  Hemelvaartsdag, the day the King's birthday is celebrated (Koningsdag: 27 April, or 26 April
  when the 27th is a Sunday, Wet van 2013 op de viering van de verjaardag van de Koning) and
  5 mei (every year);
- lid 2: Goede Vrijdag counts as one of them;
- lid 3: days the government adds by besluit (published in the Staatscourant, usually for three
  years at a time: e.g. the Friday after Hemelvaartsdag, or a Monday before a Tuesday holiday).
  Those are not computable: give them as ``extra`` (setting ``ops_closed_days``).

Source: Algemene termijnenwet art. 1 and 3, wetten.overheid.nl/BWBR0002448 (text of lid 1 and 2
quoted e.g. on staatsrechtpraktijk.nl, "Nieuwjaarsdag en Kerstmis in het staatsrecht").
Easter Sunday from python-dateutil (Western, Gregorian).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import lru_cache

from dateutil.easter import easter


@lru_cache(maxsize=64)
def holidays(year: int) -> frozenset[dt.date]:
    """The algemeen erkende feestdagen (and Goede Vrijdag) of ``year``."""
    paschen = easter(year)
    koningsdag = dt.date(year, 4, 27)
    if koningsdag.weekday() == 6:  # Sunday: celebrated the day before
        koningsdag = dt.date(year, 4, 26)
    return frozenset(
        {
            dt.date(year, 1, 1),  # Nieuwjaarsdag
            paschen - dt.timedelta(days=2),  # Goede Vrijdag (lid 2)
            paschen + dt.timedelta(days=1),  # tweede Paasdag
            koningsdag,
            dt.date(year, 5, 5),  # vijfde mei
            paschen + dt.timedelta(days=39),  # Hemelvaartsdag
            paschen + dt.timedelta(days=50),  # tweede Pinksterdag
            dt.date(year, 12, 25),
            dt.date(year, 12, 26),
        }
    )


class Calendar:
    def __init__(self, extra: Iterable[dt.date | str] = ()) -> None:
        self.extra = frozenset(
            d if isinstance(d, dt.date) else dt.date.fromisoformat(d) for d in extra
        )

    def is_working_day(self, day: dt.date) -> bool:
        return day.weekday() < 5 and day not in holidays(day.year) and day not in self.extra

    def add(self, day: dt.date, working_days: int) -> dt.date:
        """The ``working_days``-th working day after ``day`` (``day`` itself not counted).

        "Within 3 working days" of something on ``day`` means: by the end of ``add(day, 3)``.
        A count that runs past 9999-12-31 (a message may carry that date) gives that last day.
        """
        current = day
        left = working_days
        while left > 0:
            if current == dt.date.max:
                return current
            current += dt.timedelta(days=1)
            if self.is_working_day(current):
                left -= 1
        return current
