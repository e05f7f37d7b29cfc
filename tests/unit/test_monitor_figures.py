"""The monitor's figures and suppression, computed by hand on a small set of provisions."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.ops.monitor import (
    HIDDEN,
    SMALL,
    TOTAL,
    Group,
    figures,
    parse_peildata,
    quarter_start,
    report,
    wide,
)
from gateway.provisions import Claim, Provision

D = dt.date
Q1, Q2 = D(2026, 3, 31), D(2026, 6, 30)


def provision(
    key: str,
    begin: dt.date,
    end: dt.date | None = None,
    *,
    category: str = "02",
    client: str | None = None,
    household: str | None = "h",
    decided: dt.date | None = None,
    decided_lag: int | None = None,
    started: dt.date | None = None,
    start_lag: int | None = None,
    volume: int = 0,
    cents: int = 0,
    claims: tuple[Claim, ...] = (),
    authority: str = "0363",
    funding: str = "ZIN",
) -> Provision:
    return Provision(
        key=key, authority=authority, provider="12345678", category=category, product="02A01",
        funding=funding, begin=begin, end=end, client=client or key, household=household,
        decided_on=decided or begin, decided_lag=decided_lag, started_on=started,
        start_lag=start_lag, granted_volume=volume, granted_cents=cents, claims=claims,
    )  # fmt: skip


def test_quarter_and_peildata() -> None:
    assert quarter_start(D(2026, 6, 30)) == D(2026, 4, 1)
    assert quarter_start(D(2026, 2, 14)) == D(2026, 1, 1)
    assert parse_peildata("2026-06-30, 2026-03-31,2026-06-30") == (Q1, Q2)
    with pytest.raises(ValueError, match="ISO dates"):
        parse_peildata("31-03-2026")


def test_figures_by_hand() -> None:
    ps = [
        # running all year; started 16 days after the decision; claims in Feb and Apr
        provision(
            "a", D(2026, 1, 1), None, client="c1", household="h1", decided=D(2025, 12, 20),
            decided_lag=3, started=D(2026, 1, 5), start_lag=2, volume=10, cents=0,
            claims=(Claim(D(2026, 2, 1), 8, 1000), Claim(D(2026, 4, 1), 5, 500)),
        ),
        # same client, same household: one client, one household
        provision(
            "b", D(2026, 2, 1), D(2026, 12, 31), client="c1", household="h1",
            decided=D(2026, 1, 20), decided_lag=10, started=D(2026, 2, 11), start_lag=6,
            volume=4, claims=(Claim(D(2026, 3, 1), -2, -200),),
        ),
        # ends on the peildatum: still active on it, no outflow in Q1
        provision("c", D(2025, 6, 1), Q1, client="c2", household="h1", volume=7),
        # ended before the quarter: neither active nor running nor outflow
        provision("d", D(2025, 1, 1), D(2025, 12, 30), client="c3", household="h2", volume=99),
        # ended on Dec 31: the next day is in Q1, so outflow in Q1, not active on Q1
        provision("e", D(2025, 1, 1), D(2025, 12, 31), client="c4", household=None, volume=1),
        # begins after the peildatum
        provision("f", D(2026, 4, 2), None, client="c5", household="h3", decided=D(2026, 3, 30)),
    ]  # fmt: skip
    q1 = figures(ps, Q1)
    assert q1["active"] == 3  # a, b, c
    assert q1["clients"] == 2  # c1, c2
    assert q1["households"] == 1  # h1
    assert q1["inflow"] == 2  # a (Jan 1), b (Feb 1)
    assert q1["outflow"] == 1  # e
    assert q1["granted_volume"] == 10 + 4 + 7  # running some day in Q1: a, b, c (not e)
    assert q1["billed_volume"] == 8 - 2 and q1["billed_cents"] == 1000 - 200
    # starts in Q1: a (Jan 5, decided Dec 20: 16 days), b (Feb 11, decided Jan 20: 22 days)
    assert q1["days_to_start_median"] == 19  # (16 + 22) / 2
    assert q1["days_to_start_p90"] == 22  # nearest rank: the 2nd of 2
    assert q1["decision_lag_median"] == 10  # decided in Q1 with a lag: only b
    assert q1["start_lag_median"] == 4  # (2 + 6) / 2
    q2 = figures(ps, Q2)
    assert (q2["active"], q2["inflow"], q2["outflow"]) == (3, 1, 1)  # a, b, f; f; c (Apr 1)
    assert q2["billed_cents"] == 500 and q2["days_to_start_median"] is None


def _counts(category: str, n: int, authority: str = "0363") -> list[Provision]:
    return [
        provision(f"{authority}{category}{i}", D(2026, 1, 1), category=category,
                  authority=authority, household=f"{authority}{category}{i}")
        for i in range(n)
    ]  # fmt: skip


def _cells(rep: object, measure: str = "active") -> dict[str, object]:
    return {r.group.category: r.values[measure] for r in rep.rows}  # type: ignore[attr-defined]


def test_one_small_cell_hides_the_next_smallest_too() -> None:
    rep = report(_counts("01", 3) + _counts("02", 10) + _counts("04", 20), [Q1])
    assert _cells(rep) == {"01": SMALL, "02": HIDDEN, "04": 20, TOTAL: 33}
    # 33 - 20 = 13 is all one learns of 01 + 02: neither can be had back


def test_two_small_cells_need_nothing_more() -> None:
    rep = report(_counts("01", 3) + _counts("02", 4) + _counts("04", 20), [Q1])
    assert _cells(rep) == {"01": SMALL, "02": SMALL, "04": 20, TOTAL: 27}
    # 27 - 20 = 7: 3 + 4 or 4 + 3, neither known


def test_small_cells_whose_sum_pins_them_hide_one_more() -> None:
    # 28 - 20 = 8 = 4 + 4 would pin both: 20 goes too
    rep = report(_counts("01", 4) + _counts("02", 4) + _counts("04", 20), [Q1])
    assert _cells(rep) == {"01": SMALL, "02": SMALL, "04": HIDDEN, TOTAL: 28}
    rep = report(_counts("01", 1) + _counts("02", 1) + _counts("04", 9), [Q1])
    assert _cells(rep) == {"01": SMALL, "02": SMALL, "04": HIDDEN, TOTAL: 11}


def test_a_small_cell_alone_hides_the_total() -> None:
    # 01 is hidden; its only sibling is 0 (shown: nothing to protect), so the total goes
    both = [*_counts("01", 3), provision("z", D(2027, 1, 1), category="02")]
    rep = report(both, [Q1])
    assert _cells(rep) == {"01": SMALL, "02": 0, TOTAL: SMALL}
    rep = report(_counts("01", 2) + _counts("02", 30, "0599"), [Q1])
    mine = {r.group.category: r.values["active"] for r in rep.rows if r.group.authority == "0363"}
    assert mine == {"01": SMALL, TOTAL: SMALL}


def test_nothing_small_nothing_hidden() -> None:
    rep = report(_counts("01", 5) + _counts("02", 6), [Q1])
    assert _cells(rep) == {"01": 5, "02": 6, TOTAL: 11}
    assert _cells(rep, "clients") == {"01": 5, "02": 6, TOTAL: 11}


def test_figures_resting_on_few_provisions_are_hidden() -> None:
    ps = _counts("01", 6)
    ps[0] = provision("s", D(2026, 1, 1), category="01", started=D(2026, 1, 9), start_lag=1)
    rep = report(ps, [Q1])
    row = next(r for r in rep.rows if r.group.category == "01")
    assert row.values["active"] == 6
    assert row.values["days_to_start_median"] == SMALL  # one start only
    assert row.values["granted_volume"] == 0  # six provisions behind it


def test_wide_puts_quarters_side_by_side() -> None:
    rep = report(_counts("01", 5), [Q1, Q2], products=True)
    header, lines = wide(rep)
    assert header[:4] == ["gemeente", "financiering", "productcategorie", "productcode"]
    assert header[4:6] == ["active 2026-03-31", "active 2026-06-30"]
    assert lines[0][:6] == ["0363", "ZIN", "totaal", "", 5, 5]
    assert lines[1][:6] == ["0363", "ZIN", "01", "02A01", 5, 5]
    assert Group("0363", "ZIN", TOTAL) < Group("0363", "ZIN", "01")


def test_totals_count_distinct_clients_afresh() -> None:
    # five clients each in 01 and in 02: 5 + 5 provisions, but 5 clients in the total
    both = [
        provision(f"{c}{i}", D(2026, 1, 1), category=c, client=f"client{i}", household=f"h{i}")
        for c in ("01", "02")
        for i in range(5)
    ]
    rep = report(both, [Q1])
    assert _cells(rep) == {"01": 5, "02": 5, TOTAL: 10}
    assert _cells(rep, "clients") == {"01": 5, "02": 5, TOTAL: 5}
    assert _cells(rep, "households") == {"01": 5, "02": 5, TOTAL: 5}


def test_a_small_flow_pinned_by_the_quarter_before_hides_one_more() -> None:
    # Q1: 10 active; Q2: 6 of them end in May, 3 begin in April: 10 + 3 - 6 = 7 active.
    # Shown 10, 7 and 6 would give inflow = 3: the smallest of them (outflow 6) goes too.
    ps = [
        provision(f"p{i}", D(2026, 1, 1), D(2026, 5, 15) if i < 6 else None, category="01")
        for i in range(10)
    ] + [provision(f"n{i}", D(2026, 4, 10), category="01") for i in range(3)]
    rep = report(ps, [Q1, Q2])
    row = {(r.group.category, r.peildatum): r.values for r in rep.rows}
    assert row[("01", Q1)]["active"] == 10
    assert (row[("01", Q2)]["active"], row[("01", Q2)]["inflow"]) == (7, SMALL)
    assert row[("01", Q2)]["outflow"] == HIDDEN
    assert row[(TOTAL, Q2)]["outflow"] == HIDDEN
    # without the quarter before, nothing pins it
    alone = report(ps, [Q2])
    assert {r.values["outflow"] for r in alone.rows} == {6}
