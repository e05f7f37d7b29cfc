"""The monitor page in real headless Chromium: on a gateway filled with a small region's year
(``examples/region.py``, imported as ``ketenpoort demo --region`` does), someone of the beleid
role sees, quarter beside quarter, exactly the figures ``GET /v1/monitor`` gives (every cell,
suppressed ones included), and charts that are drawn (their bars' colours in the screenshot)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from selenium.webdriver.common.by import By

from examples.region import GEMEENTEN, Region
from gateway.app import Gateway
from gateway.commands.monitor import REGION_ADAPTERS
from gateway.config import Settings
from gateway.imports import IMPORTED, import_messages
from gateway.ops.monitor import MEASURES, SMALL
from tests.ops.browser import chromium, painted, serve, sign_in
from tests.ops.helpers import KEYS, as_, ops_settings

pytestmark = pytest.mark.integration
PEILDATA = "2026-03-31,2026-06-30,2026-09-30,2026-12-31"
# The charts' bar colours, one per peildatum (``monitor_web.chart_svg``).
BARS = ((0x17, 0x32, 0x4D), (0x3D, 0x6F, 0x99), (0x79, 0xA6, 0xCC), (0xB7, 0xD0, 0xE6))

# Every figure cell on the page: gemeente, financiering, categorie, measure, peildatum -> text.
CELLS = """
return Array.from(document.querySelectorAll('table.monitor td[data-measure]')).map(td => [
  td.closest('table').dataset.gemeente, td.closest('table').dataset.financiering,
  td.closest('tr').dataset.categorie, td.dataset.measure, td.dataset.peildatum, td.textContent]);
"""


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[Gateway, str]]:
    adapters = tuple(dict.fromkeys((*settings.adapters, *REGION_ADAPTERS)))
    with serve(ops_settings(dataclasses.replace(settings, adapters=adapters))) as found:
        gateway = found[0]
        done = import_messages(
            gateway.ledger,
            gateway.registry,
            gateway.schemas,
            Region(clients=400, aanbieders=8, seed=5).messages(),
            frozenset(GEMEENTEN),
            gateway.settings.max_message_bytes,
        )
        assert {d.status for d in done} == {IMPORTED}
        yield found


def test_the_monitor_in_the_browser_shows_the_api_figures_and_charts(
    served: tuple[Gateway, str], tmp_path: Path
) -> None:
    _, base = served
    found = requests.get(
        f"{base}/v1/monitor", params={"peildatum": PEILDATA}, headers=as_("policy"), timeout=60
    ).json()
    expected = {
        (
            r["gemeente"],
            r["financiering"],
            r["productcategorie"] or "totaal",
            measure,
            r["peildatum"],
        ): "" if r[measure] is None else str(r[measure])
        for r in found["rows"]
        for measure in MEASURES
    }
    assert {k[1] for k in expected} == {"ZIN", "PGB"} and {k[0] for k in expected} <= set(GEMEENTEN)
    assert SMALL in expected.values()  # small cells are there to hide
    assert any(v.isdigit() and int(v) >= 5 for v in expected.values())

    with chromium(tmp_path / "chromium", size="1400,1000") as browser:
        sign_in(browser, base, KEYS["policy"], "/ui/monitor")
        browser.get(f"{base}/ui/monitor?peildatum={PEILDATA}")
        assert browser.find_element(By.TAG_NAME, "h1").text == "Monitor sociaal domein"
        shown = {tuple(cell[:5]): cell[5] for cell in browser.execute_script(CELLS)}
        assert shown == expected  # every figure, and no other
        assert "999" not in "".join(k[2] for k in shown)  # categories only, no person

        chart = browser.find_element(By.CSS_SELECTOR, "figure.chart svg")
        colours = painted(browser, tmp_path / "monitor.png", chart)
        for i, colour in enumerate(BARS):
            assert colours.get(colour, 0) > 50, f"no bar for peildatum {i + 1} in the chart"
        assert len(browser.find_elements(By.CSS_SELECTOR, "figure.chart rect.bar")) >= 8
