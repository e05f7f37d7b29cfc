"""The counts the overview reads: kept as entries are appended, rebuildable, verified."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.envelope import Direction
from gateway.ledger import OPERATIONS, Event, Query, Record, counts
from gateway.ledger.audit import verify_derived
from gateway.ledger.sql import SqlLedger
from tests.ledger.conftest import Backend
from tests.ledger.ledger_helpers import description, message

GEMEENTE, AANBIEDER, OTHER = "0363", "12345678", "87654321"


def _mix(ledger: SqlLedger) -> None:
    """Received and accepted, rejected by the rules, refused before them, delivered, retried,
    parked, overdue, answered late: outbound to two aanbieders, inbound from one; and one
    message imported (exchanged before Ketenpoort) and one record of the gateway's own
    operations (a replay job): no flow, not counted."""
    ok = message("WMO301")
    ledger.append_many(
        [
            Record(ok, Event.RECEIVED),
            Record(ok, Event.VALIDATED, {"publish": True}, description=description()),
            Record(ok, Event.PUBLISHED),
        ]
    )
    ledger.append(ok, Event.DELIVERED)
    bad = message("WMO301")
    ledger.append_many(
        [
            Record(bad, Event.RECEIVED),
            Record(
                bad,
                Event.REJECTED,
                {"stage": "rules"},
                description=description(receiver=OTHER, bericht="B-2"),
            ),
        ]
    )
    junk = message("WMO301")
    ledger.append(junk, Event.RECEIVED)
    ledger.append(junk, Event.REJECTED, detail={"stage": "schema"})
    tries = message("WMO301")
    ledger.append_many(
        [
            Record(tries, Event.RECEIVED),
            Record(tries, Event.VALIDATED, {"publish": True}, description=description(bericht="3")),
        ]
    )
    ledger.append(tries, Event.RETRIED, detail={"attempt": 1})
    ledger.append(tries, Event.PARKED, detail={"reason": "x"})
    heen = message("WMO315", Direction.INBOUND)
    ledger.append_many(
        [
            Record(heen, Event.RECEIVED),
            Record(
                heen,
                Event.VALIDATED,
                {"publish": True},
                description=description(AANBIEDER, GEMEENTE, "B-4", expects_answer=True),
            ),
        ]
    )
    ledger.append(heen, Event.OVERDUE, detail={"rule": "OP090"})
    ledger.append(heen, Event.ANSWERED_LATE, detail={"rule": "OP090"})
    old = message("WMO301")
    ledger.append_many(
        [
            Record(old, Event.RECEIVED),
            Record(old, Event.IMPORTED, {"stage": "import"}, description=description(bericht="5")),
        ]
    )
    job = message("WMO301")
    ledger.append(job, Event.RECEIVED, detail={"direction": OPERATIONS})


def _by_route_party_outcome(ledger: SqlLedger) -> dict[tuple[str, str, str], int]:
    out: dict[tuple[str, str, str], int] = {}
    for (span, _, route, party, what), n in counts.stored(ledger).items():
        if span == "hour":
            out[route, party, what] = out.get((route, party, what), 0) + n
    return out


def test_counts_follow_a_mix_of_messages(ledger: SqlLedger) -> None:
    _mix(ledger)
    out = "outbound.iwmo.WMO301"
    assert _by_route_party_outcome(ledger) == {
        (out, AANBIEDER, "received"): 2,  # counted with the parties its verdict named
        (out, AANBIEDER, "accepted"): 2,
        (out, AANBIEDER, "delivered"): 1,
        (out, AANBIEDER, "retrying"): 1,
        (out, AANBIEDER, "parked"): 1,
        (out, OTHER, "received"): 1,
        (out, OTHER, "rejected"): 1,
        (out, "", "received"): 1,  # refused before anyone was named
        (out, "", "refused"): 1,
        ("inbound.iwmo.WMO315", AANBIEDER, "received"): 1,
        ("inbound.iwmo.WMO315", AANBIEDER, "accepted"): 1,
        ("inbound.iwmo.WMO315", AANBIEDER, "overdue"): 1,
        ("inbound.iwmo.WMO315", AANBIEDER, "late"): 1,
    }
    kept = counts.stored(ledger)
    assert all(len(k[1]) == 13 and k[1][10] == "T" for k in kept if k[0] != "day")
    for span in ("day", "total"):  # the same entries, summed by day, and by hour alone
        assert sum(n for k, n in kept.items() if k[0] == span) == 15
    assert {k[2:4] for k in kept if k[0] == "total"} == {("", "")}


def test_rebuilt_counts_equal_the_kept_ones_and_verify_agrees(ledger: SqlLedger) -> None:
    _mix(ledger)
    kept = counts.stored(ledger)
    rebuilt = counts.rebuilt(ledger)
    assert rebuilt.counts == kept and not rebuilt.skipped
    assert verify_derived(ledger).ok
    counts.rebuild(ledger)
    assert counts.stored(ledger) == kept


def test_verify_finds_a_tampered_count_and_recount_repairs_it(
    backend: Backend, ledger: SqlLedger
) -> None:
    _mix(ledger)
    backend.raw("UPDATE counts SET n = n + 5 WHERE outcome = 'parked'")
    backend.raw(
        "INSERT INTO counts (span, bucket, route, counterpart, outcome, n) "
        "VALUES ('hour', '2020-01-01T00', 'outbound.iwmo.WMO301', 'X', 'delivered', 3)"
    )
    report = verify_derived(ledger)
    assert not report.ok
    parked = [p for p in report.problems if "parked: stored 6 where the entries give 1" in p]
    assert len(parked) == 3  # hour, day and total
    assert any("2020-01-01T00" in p and "stored 3" in p for p in report.problems)
    counts.rebuild(ledger)
    assert verify_derived(ledger).ok


def test_a_redacted_message_leaves_its_hours_unjudged(ledger: SqlLedger) -> None:
    _mix(ledger)
    kept = counts.stored(ledger)
    gone = ledger.search(Query(code="WMO315"))
    ledger.redact(gone[0].message_id)
    assert verify_derived(ledger).ok
    counts.rebuild(ledger)
    assert counts.stored(ledger) == kept  # its hours kept as they were counted


def test_ledger_recount_restores_counts_verify_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ledger whose counts are missing (as after an upgrade that added them): ``ledger
    verify`` exits 1 naming them, ``ledger recount`` rebuilds them, and verify passes."""
    from gateway.cli import main
    from gateway.config import load_settings
    from gateway.ledger import ledger_from_settings

    config = tmp_path / "ketenpoort.toml"
    config.write_text(f'var_dir = "{tmp_path / "var"}"\n')
    ledger = ledger_from_settings(load_settings(env={}, path=config))
    _mix(ledger)
    kept = len(counts.stored(ledger))
    ledger._writer.execute("DELETE FROM counts")  # type: ignore[attr-defined]
    ledger._writer.commit()  # type: ignore[attr-defined]
    ledger.close()
    args = ["--config", str(config), "ledger"]
    assert main([*args, "verify", "--no-payloads"]) == 1
    assert "count hour/" in capsys.readouterr().out
    assert main([*args, "recount"]) == 0
    assert f"counts rebuilt: {kept} rows" in capsys.readouterr().out
    assert main([*args, "verify", "--no-payloads"]) == 0
