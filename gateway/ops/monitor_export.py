"""The monitor's figures leaving the gateway: as CSV, XLSX (openpyxl) or JSON, and each export
recorded in the ledger (who, what, and the exported figures themselves).

An export is an operations record of its own (direction ``operations``, type
``operations/monitor-export``): a ``received`` entry carrying the exported figures (JSON) as
payload, then a ``viewed`` entry naming who and what (peildata, format, products), as a payload
view is recorded. Only aggregates are in it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
from collections.abc import Callable

from openpyxl import Workbook
from openpyxl.styles import Font

from gateway.adapter import Description
from gateway.envelope import MessageType, record_envelope
from gateway.ledger import OPERATIONS, Event, Ledger, Record
from gateway.logs import get_logger
from gateway.ops.facts import FactTable
from gateway.ops.monitor import Report, as_json, report, wide

log = get_logger(__name__)

EXPORT_TYPE = MessageType(OPERATIONS, "monitor-export", "1")
FORMATS = ("csv", "xlsx", "json")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}


def to_csv(rep: Report) -> bytes:
    header, lines = wide(rep)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for line in lines:
        writer.writerow(["" if v is None else v for v in line])
    return out.getvalue().encode("utf-8")


def to_xlsx(rep: Report) -> bytes:
    header, lines = wide(rep)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "monitor"
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for line in lines:
        sheet.append(line)
    sheet.freeze_panes = "D2"
    notes = book.create_sheet("toelichting")
    notes.append(["<5", "a count of 1 to 4, or a figure resting on 1 to 4 provisions"])
    notes.append(["x", "hidden so that a small cell cannot be had back by subtraction"])
    notes.append(["peildata", ", ".join(d.isoformat() for d in rep.peildata)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_json(rep: Report) -> bytes:
    return json.dumps(as_json(rep), sort_keys=True).encode()


RENDER: dict[str, Callable[[Report], bytes]] = {"csv": to_csv, "xlsx": to_xlsx, "json": to_json}


def record_export(ledger: Ledger, who: str, rep: Report, fmt: str, channel: str) -> str:
    """Record an export of ``rep`` (before it leaves); returns the record's id."""
    export_id = str(uuid.uuid4())
    envelope = record_envelope(export_id, EXPORT_TYPE, correlation_id=export_id, source=OPERATIONS)
    what = {
        "peildata": [d.isoformat() for d in rep.peildata],
        "products": rep.products,
        "format": fmt,
        "channel": channel,
        "rows": len(rep.rows),
    }
    ledger.append_many(
        [
            Record(
                envelope,
                Event.RECEIVED,
                detail={
                    "direction": OPERATIONS,
                    "kind": "monitor-export",
                    "by": who,
                    **what,
                    "content_type": "application/json",
                },
                payload=to_json(rep),
                description=Description("", "", keys={"operation": ["monitor-export"]}),
            ),
            Record(envelope, Event.VIEWED, detail={"by": who, "what": "monitor", **what}),
        ]
    )
    log.info("ops.monitor_exported", export=export_id, by=who, format=fmt, channel=channel)
    return export_id


def export(
    ledger: Ledger,
    table: FactTable,
    who: str,
    peildata: tuple[dt.date, ...],
    fmt: str,
    channel: str,
    products: bool = False,
) -> tuple[Report, bytes]:
    """Compute (from ``table``, brought up to date), record and render: the figures and their
    bytes in ``fmt``."""
    rep = report(table.provisions(), peildata, products)
    record_export(ledger, who, rep, fmt, channel)
    return rep, RENDER[fmt](rep)
