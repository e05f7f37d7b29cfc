"""The monitor over HTTP: ``GET /v1/monitor`` (JSON, or CSV/XLSX with ``format``) and the
dashboard page ``/ui/monitor`` (quarter-beside-quarter tables and a bar chart drawn on the
server as SVG: no script, nothing from elsewhere). Role ``beleid`` (or admin); every answer is an
export and is recorded in the ledger first (``monitor_export.record_export``)."""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections import defaultdict
from html import escape
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from starlette.templating import Jinja2Templates

from gateway.app import Gateway
from gateway.openapi import Contract
from gateway.ops.auth import Role
from gateway.ops.facts import FactTable, scanner
from gateway.ops.monitor import COUNTS, MEASURES, TOTAL, Cell, Report, parse_peildata, report
from gateway.ops.monitor_export import CONTENT_TYPES, RENDER, record_export
from gateway.ops.runtime import AppGateway, AppOperations

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


class MonitorRow(BaseModel):
    """One group on one peildatum. A figure is a number, ``"<5"`` (1 to 4, or resting on 1 to
    4 provisions), ``"x"`` (hidden so that a small cell cannot be subtracted back) or null (no
    observations)."""

    peildatum: dt.date
    gemeente: str
    financiering: str = Field(description="ZIN or PGB")
    productcategorie: str | None = Field(description="null: the total of the gemeente")
    productcode: str | None = None
    active: int | str | None = None
    clients: int | str | None = None
    households: int | str | None = None
    inflow: int | str | None = None
    outflow: int | str | None = None
    granted_volume: int | str | None = None
    granted_cents: int | str | None = None
    billed_volume: int | str | None = None
    billed_cents: int | str | None = None
    days_to_start_median: int | str | None = None
    days_to_start_p90: int | str | None = None
    decision_lag_median: int | str | None = None
    start_lag_median: int | str | None = None


class MonitorReport(BaseModel):
    peildata: list[dt.date]
    products: bool
    suppression: dict[str, str]
    rows: list[MonitorRow]


def _peildata(text: str) -> tuple[dt.date, ...]:
    try:
        return parse_peildata(text)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


def _default_peildata(today: dt.date) -> str:
    """The last four quarter ends up to today."""
    ends = []
    year, quarter = today.year, (today.month - 1) // 3  # the quarter before this one
    for _ in range(4):
        if quarter == 0:
            year, quarter = year - 1, 4
        month = 3 * quarter
        following = dt.date(year + (month == 12), month % 12 + 1, 1)
        ends.append(following - dt.timedelta(days=1))
        quarter -= 1
    return ",".join(d.isoformat() for d in sorted(ends))


def chart_svg(rep: Report, measure: str = "active") -> str:
    """Grouped bars: per gemeente and funding (their totals), one bar per peildatum."""
    series: dict[tuple[str, str], list[Cell]] = defaultdict(lambda: [None] * len(rep.peildata))
    index = {d: i for i, d in enumerate(rep.peildata)}
    for row in rep.rows:
        if row.group.category == TOTAL and not row.group.product:
            series[(row.group.authority, row.group.funding)][index[row.peildatum]] = row.values[
                measure
            ]
    numbers = [v for values in series.values() for v in values if isinstance(v, int)]
    top = max(numbers, default=0) or 1
    width, height, bar, gap = 560, 220, 12, 14
    colours = ("#17324d", "#3d6f99", "#79a6cc", "#b7d0e6", "#dde8f2", "#e9b949")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
        f'height="{height + 60}" aria-label="{escape(measure)} per gemeente en peildatum">',
        f'<line x1="40" y1="{height}" x2="{width}" y2="{height}" stroke="#5b6672"/>',
        f'<text x="40" y="14" font-size="12">{escape(measure)} (max {top})</text>',
    ]
    x = 50
    for (authority, funding), values in sorted(series.items()):
        for i, value in enumerate(values):
            if isinstance(value, int):
                h = round((height - 30) * value / top)
                parts.append(
                    f'<rect class="bar" x="{x + i * bar}" y="{height - h}" width="{bar - 2}" '
                    f'height="{h}" fill="{colours[i % len(colours)]}">'
                    f"<title>{escape(authority)} {escape(funding)} "
                    f"{rep.peildata[i].isoformat()}: {value}</title></rect>"
                )
        label_x = x + len(values) * bar / 2
        parts.append(
            f'<text x="{label_x}" y="{height + 16}" font-size="11" text-anchor="middle">'
            f"{escape(authority)}</text>"
            f'<text x="{label_x}" y="{height + 30}" font-size="10" text-anchor="middle">'
            f"{escape(funding)}</text>"
        )
        x += len(values) * bar + gap
    for i, day in enumerate(rep.peildata):
        parts.append(
            f'<rect x="{50 + i * 100}" y="{height + 40}" width="10" height="10" '
            f'fill="{colours[i % len(colours)]}"/><text x="{64 + i * 100}" '
            f'y="{height + 49}" font-size="11">{day.isoformat()}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _tables(rep: Report) -> list[dict[str, Any]]:
    """Per gemeente and funding: rows (category or product) x (measure, peildatum) cells."""
    grouped: dict[tuple[str, str], dict[tuple[str, str], dict[str, list[Cell]]]] = defaultdict(
        lambda: defaultdict(lambda: {m: [None] * len(rep.peildata) for m in MEASURES})
    )
    index = {d: i for i, d in enumerate(rep.peildata)}
    for row in rep.rows:
        g = row.group
        line = grouped[(g.authority, g.funding)][(g.category or "totaal", g.product)]
        for name, value in row.values.items():
            line[name][index[row.peildatum]] = value
    return [
        {
            "authority": authority,
            "funding": funding,
            "lines": sorted(lines.items(), key=lambda kv: (kv[0][0] != "totaal", kv[0])),
        }
        for (authority, funding), lines in sorted(grouped.items())
    ]


_fact_tables: weakref.WeakKeyDictionary[Gateway, FactTable] = weakref.WeakKeyDictionary()
_fact_tables_lock = threading.Lock()


def fact_table(gateway: Gateway) -> FactTable:
    """The gateway's fact table, made on first use and brought up to date by each request."""
    with _fact_tables_lock:
        table = _fact_tables.get(gateway)
        if table is None:
            table = _fact_tables[gateway] = FactTable(
                scanner(gateway.ledger), gateway.registry, gateway.settings.bsn_hash_key
            )
        return table


def _figures(gateway: Gateway, peildata: tuple[dt.date, ...], products: bool) -> Report:
    return report(fact_table(gateway).provisions(), peildata, products)


def router(contract: Contract) -> APIRouter:
    api = APIRouter()
    figures_doc = {
        "model": MonitorReport,
        "content": {
            CONTENT_TYPES["csv"]: {"schema": {"type": "string"}},
            CONTENT_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
        },
    }

    @api.get(
        "/v1/monitor",
        tags=["monitor"],
        **contract.route(400, 503, bodies={200: ("the figures (JSON, CSV or XLSX)", figures_doc)}),
    )
    def monitor(
        request: Request,
        gateway: AppGateway,
        runtime: AppOperations,
        peildatum: str = Query(
            ..., description="ISO dates, comma-separated (quarter ends)", examples=["2026-03-31"]
        ),
        products: bool = Query(False, description="split by product code too"),
        format: Literal["json", "csv", "xlsx"] = Query("json"),
    ) -> Any:
        """Social-domain figures per gemeente x productcategorie x ZIN/PGB for each peildatum
        (aggregates only; small counts hidden, see ``gateway/ops/monitor.py``). Recorded in the
        ledger as an export."""
        who = runtime.auth.require(request, Role.POLICY)
        days = _peildata(peildatum)
        rep = _figures(gateway, days, products)
        record_export(gateway.ledger, who.name, rep, format, "api")
        if format == "json":
            return Response(RENDER["json"](rep), media_type=CONTENT_TYPES["json"])
        name = f"monitor-{days[-1].isoformat()}.{format}"
        return Response(
            RENDER[format](rep),
            media_type=CONTENT_TYPES[format],
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @api.get("/ui/monitor", include_in_schema=False)
    async def monitor_page(
        request: Request,
        gateway: AppGateway,
        runtime: AppOperations,
        peildatum: str = "",
        products: bool = False,
    ) -> HTMLResponse:
        who = runtime.auth.identify(request)
        if who is None:
            return HTMLResponse("", status_code=303, headers={"Location": "/ui/login"})
        if not who.has(Role.POLICY):
            raise HTTPException(403, f"{who.name} lacks the role {Role.POLICY.value}")
        text = peildatum or _default_peildata(dt.date.today())
        days = _peildata(text)
        rep = await run_in_threadpool(_figures, gateway, days, products)
        await run_in_threadpool(record_export, gateway.ledger, who.name, rep, "html", "page")
        return TEMPLATES.TemplateResponse(
            request,
            "monitor.html",
            {
                "who": who,
                "open": runtime.auth.open,
                "policy_only": not who.has(Role.VIEWER),
                "peildatum": text,
                "products": products,
                "peildata": [d.isoformat() for d in days],
                "measures": MEASURES,
                "counts": COUNTS,
                "tables": _tables(rep),
                "charts": [
                    (chart_svg(rep, m), text)
                    for m, text in (
                        ("active", "Active voorzieningen per gemeente (total), per peildatum"),
                        ("inflow", "Instroom in the quarter up to each peildatum"),
                        ("outflow", "Uitstroom in the quarter up to each peildatum"),
                    )
                ],
            },
        )

    return api
