"""The monitor: per peildatum (a list of them, usually quarter ends) and per authority x category
(x product on request) x funding, the figures a gemeente reports to its council, computed from
the fact table (``facts.py``) by pure functions. Only aggregates leave; small counts are hidden.

The period of a peildatum is its calendar quarter up to and including it (2026-06-30: April 1
to June 30). For each group and peildatum:

- ``active``: provisions running on the peildatum (begin <= peildatum <= end, or no end);
- ``clients``, ``households``: distinct clients and households among them;
- ``inflow``: provisions beginning in the period; ``outflow``: provisions whose last day is
  before the peildatum and whose next day falls in the period (so active at the quarter's end =
  active the day before the quarter + inflow - outflow);
- ``days_to_start_median``, ``days_to_start_p90``: days from the decision to the start of
  delivery, over the provisions starting in the period (nearest-rank percentiles);
- ``granted_volume``, ``granted_cents``: what was granted on the provisions running at some day
  in the period (volume in the product's own unit: compare per product code);
  ``billed_volume``, ``billed_cents``: what was billed for periods beginning in the period;
- ``decision_lag_median``: days between the decision date and the arrival of its message, over
  the decisions dated in the period; ``start_lag_median`` the same for starts.

Privacy (:func:`suppress`): a count of 1 to 4 is shown as ``"<5"``; a median or sum that rests
on 1 to 4 provisions is hidden (``"<5"``) too. Secondary suppression, so that a hidden cell
cannot be had back by subtraction: per peildatum, authority and funding, the category rows and
their total row (category ``""``) form one table; in each column, if the hidden category cells
could be had back from the total and the shown cells (exactly one is hidden; or, for counts,
each 1 to 4, all hidden ones are 1 or all are 4, so their known sum pins each), the smallest
other non-zero shown category cell is hidden as well (``"x"``, no upper bound), and if there is
none, the total cell is hidden (``"x"``). Over time, for two consecutive quarter ends of a
group, active before + inflow - outflow = active now; when that pins a ``"<5"`` cell (every
way to fill the hidden 1-to-4 cells gives it one value), the smallest shown cell of the four is
hidden too (``"x"``). Both rules are applied until neither hides more. Totals are computed
from the facts (distinct clients are distinct over the whole total), never by adding shown
cells.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from gateway.provisions import Provision

SMALL = "<5"  # a count of 1 to 4, or a figure resting on 1 to 4 provisions
HIDDEN = "x"  # hidden so that a small cell cannot be subtracted back
TOTAL = ""  # the category of a total row

Cell = int | str | None

COUNTS = ("active", "clients", "households", "inflow", "outflow")
SUMS = ("granted_volume", "granted_cents", "billed_volume", "billed_cents")
TIMES = ("days_to_start_median", "days_to_start_p90", "decision_lag_median", "start_lag_median")
MEASURES = (*COUNTS, *SUMS, *TIMES)
ADDITIVE = (*COUNTS, *SUMS)


@dataclass(frozen=True, order=True)
class Group:
    authority: str
    funding: str
    category: str  # TOTAL ("") for the total row of an authority and funding
    product: str = ""  # only when products are asked for


@dataclass
class Row:
    peildatum: dt.date
    group: Group
    values: dict[str, Cell] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    peildata: tuple[dt.date, ...]
    products: bool
    rows: list[Row]


def quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def parse_peildata(text: str) -> tuple[dt.date, ...]:
    """``2026-03-31,2026-06-30`` -> the dates, sorted, each at most once."""
    try:
        days = {dt.date.fromisoformat(part.strip()) for part in text.split(",") if part.strip()}
    except ValueError:
        raise ValueError(
            "peildatum: expected ISO dates (YYYY-MM-DD), separated by commas"
        ) from None
    if not days:
        raise ValueError("peildatum: name at least one date")
    if len(days) > 20:
        raise ValueError("peildatum: at most 20 dates")
    return tuple(sorted(days))


def _median(values: list[int]) -> int | None:
    return round(statistics.median(values)) if values else None


def _p90(values: list[int]) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def figures(provisions: Sequence[Provision], peildatum: dt.date) -> dict[str, int | None]:
    """The raw (unsuppressed) figures of one group's provisions, with the counts behind the
    medians and sums under ``n_*`` (for suppression)."""
    start = quarter_start(peildatum)

    def within(day: dt.date | None) -> bool:
        return day is not None and start <= day <= peildatum

    active = [
        p for p in provisions if p.begin <= peildatum and (p.end is None or p.end >= peildatum)
    ]
    running = [p for p in provisions if p.begin <= peildatum and (p.end is None or p.end >= start)]
    starting = [p for p in provisions if p.started_on is not None and within(p.started_on)]
    to_start = [(p.started_on - p.decided_on).days for p in starting if p.started_on]
    decided = [
        p.decided_lag for p in provisions if within(p.decided_on) and p.decided_lag is not None
    ]
    start_lags = [p.start_lag for p in starting if p.start_lag is not None]
    billed = [(p, c) for p in provisions for c in p.claims if within(c.begin)]
    return {
        "active": len(active),
        "clients": len({p.client for p in active}),
        "households": len({p.household for p in active if p.household is not None}),
        "inflow": sum(1 for p in provisions if within(p.begin)),
        "outflow": sum(
            1 for p in provisions if p.end is not None and within(p.end + dt.timedelta(days=1))
        ),
        "granted_volume": sum(p.granted_volume for p in running),
        "granted_cents": sum(p.granted_cents for p in running),
        "billed_volume": sum(c.volume for _, c in billed),
        "billed_cents": sum(c.cents for _, c in billed),
        "days_to_start_median": _median(to_start),
        "days_to_start_p90": _p90(to_start),
        "decision_lag_median": _median(decided),
        "start_lag_median": _median(start_lags),
        "n_running": len(running),
        "n_billed": len({p.key for p, _ in billed}),
        "n_to_start": len(to_start),
        "n_decided": len(decided),
        "n_start_lags": len(start_lags),
    }


# Which count says how many provisions a measure rests on.
_BASIS = {
    "granted_volume": "n_running",
    "granted_cents": "n_running",
    "billed_volume": "n_billed",
    "billed_cents": "n_billed",
    "days_to_start_median": "n_to_start",
    "days_to_start_p90": "n_to_start",
    "decision_lag_median": "n_decided",
    "start_lag_median": "n_start_lags",
}


def _small(n: int | None) -> bool:
    return n is not None and 1 <= n <= 4


def primary(raw: dict[str, int | None]) -> dict[str, Cell]:
    """Hide counts of 1 to 4, and figures resting on 1 to 4 provisions."""
    out: dict[str, Cell] = {}
    for name in MEASURES:
        value = raw[name]
        basis = raw[_BASIS[name]] if name in _BASIS else value
        out[name] = SMALL if _small(basis) else value
    return out


def _exposed(name: str, hidden: list[int]) -> bool:
    """Whether the hidden cells of a column could be had back from the total and the shown
    cells: their sum is then known; one cell is itself, and counts (each 1 to 4) are each pinned
    when the sum is all 1s or all 4s."""
    if len(hidden) == 1:
        return True
    return name in COUNTS and (all(v == 1 for v in hidden) or all(v == 4 for v in hidden))


def secondary(table: list[Row], raw: dict[int, dict[str, int | None]]) -> bool:
    """Secondary suppression in one table (the category rows and the total row of one
    peildatum, authority and funding); ``raw`` by ``id(row)`` gives the unsuppressed figures.
    See the module's docstring for the rule. Whether it hid anything."""
    cells = [r for r in table if r.group.category != TOTAL or r.group.product]
    totals = [r for r in table if r.group.category == TOTAL and not r.group.product]
    changed = False
    for name in ADDITIVE:
        if any(r.values[name] == HIDDEN for r in cells):
            continue  # a cell without an upper bound: the others cannot be had back
        hidden = [raw[id(r)][name] or 0 for r in cells if r.values[name] == SMALL]
        if not hidden or not _exposed(name, hidden):
            continue
        candidates = [r for r in cells if isinstance(r.values[name], int) and r.values[name] != 0]
        if candidates:
            smallest = min(candidates, key=lambda r: (raw[id(r)][name] or 0, r.group))
            smallest.values[name] = HIDDEN
            changed = True
        else:
            for total in totals:
                if isinstance(total.values[name], int):
                    total.values[name] = HIDDEN
                    changed = True
    return changed


# active on the peildatum = active on the one before + inflow - outflow (consecutive quarters)
_FLOW = ("active", "active", "inflow", "outflow")
_SIGNS = (1, -1, 1, -1)  # active before - active now + inflow - outflow = 0


def _pinned(values: list[Cell], truth: list[int]) -> bool:
    """Whether a ``"<5"`` cell of the flow identity is the one value that makes it hold."""
    small = [i for i, v in enumerate(values) if v == SMALL]
    if not small or any(v == HIDDEN for v in values):
        return False
    known = sum(s * truth[i] for i, s in enumerate(_SIGNS) if i not in small)
    solutions = [
        combo
        for combo in itertools.product(range(1, 5), repeat=len(small))
        if known + sum(_SIGNS[i] * v for i, v in zip(small, combo, strict=True)) == 0
    ]
    return any(len({combo[k] for combo in solutions}) == 1 for k in range(len(small)))


def across_quarters(rows: list[Row], raw: dict[int, dict[str, int | None]]) -> bool:
    """Suppression over time: for a group on two consecutive quarter ends, active before,
    active now, inflow and outflow obey one identity; when it pins a ``"<5"`` cell, the
    smallest shown cell of the four is hidden too (``"x"``). Whether it hid anything."""
    by_group: dict[Group, dict[dt.date, Row]] = defaultdict(dict)
    for row in rows:
        by_group[row.group][row.peildatum] = row
    changed = False
    for days in by_group.values():
        for day, now in days.items():
            before = days.get(quarter_start(day) - dt.timedelta(days=1))
            if before is None:
                continue
            cells = [before, now, now, now]
            values = [r.values[name] for r, name in zip(cells, _FLOW, strict=True)]
            truth = [raw[id(r)][name] or 0 for r, name in zip(cells, _FLOW, strict=True)]
            if not _pinned(values, truth):
                continue
            shown = [k for k, v in enumerate(values) if isinstance(v, int)]
            if shown:
                k = min(shown, key=lambda k: (truth[k] == 0, truth[k]))
                cells[k].values[_FLOW[k]] = HIDDEN
                changed = True
    return changed


def report(
    provisions: Iterable[Provision], peildata: Sequence[dt.date], products: bool = False
) -> Report:
    """The suppressed figures of every group on every peildatum, with a total row per
    authority and funding."""
    by_group: dict[Group, list[Provision]] = defaultdict(list)
    for p in provisions:
        by_group[Group(p.authority, p.funding, p.category, p.product if products else "")].append(p)
        by_group[Group(p.authority, p.funding, TOTAL)].append(p)
    rows: list[Row] = []
    tables: dict[tuple[dt.date, str, str], list[Row]] = defaultdict(list)
    raw: dict[int, dict[str, int | None]] = {}
    for peildatum in peildata:
        for group in sorted(by_group):
            figures_ = figures(by_group[group], peildatum)
            row = Row(peildatum, group, primary(figures_))
            raw[id(row)] = figures_
            tables[(peildatum, group.authority, group.funding)].append(row)
            rows.append(row)
    changed = True
    while changed:  # each hidden cell may expose another: until nothing more is hidden
        changed = False
        for table in tables.values():
            changed |= secondary(table, raw)
        changed |= across_quarters(rows, raw)
    return Report(tuple(peildata), products, rows)


def wide(rep: Report) -> tuple[list[str], list[list[Cell]]]:
    """Quarter beside quarter: one line per group, a column per measure and peildatum."""
    keys = ["gemeente", "financiering", "productcategorie"]
    if rep.products:
        keys.append("productcode")
    header = keys + [f"{m} {d.isoformat()}" for m in MEASURES for d in rep.peildata]
    lines: dict[Group, dict[tuple[str, dt.date], Cell]] = defaultdict(dict)
    for row in rep.rows:
        for name, value in row.values.items():
            lines[row.group][(name, row.peildatum)] = value
    out: list[list[Cell]] = []
    for group in sorted(lines):
        named: list[Cell] = [group.authority, group.funding, group.category or "totaal"]
        if rep.products:
            named.append(group.product)
        named += [lines[group].get((m, d)) for m in MEASURES for d in rep.peildata]
        out.append(named)
    return header, out


def as_json(rep: Report) -> dict[str, object]:
    return {
        "peildata": [d.isoformat() for d in rep.peildata],
        "products": rep.products,
        "suppression": {"small": SMALL, "hidden": HIDDEN},
        "rows": [
            {
                "peildatum": r.peildatum.isoformat(),
                "gemeente": r.group.authority,
                "financiering": r.group.funding,
                "productcategorie": r.group.category or None,
                "productcode": r.group.product or None,
                **r.values,
            }
            for r in rep.rows
        ],
    }
