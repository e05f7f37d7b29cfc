"""The dashboard end to end in real headless Chromium (Debian's chromium and chromedriver,
driven by Selenium): an operator signs in, finds a parked message among the failures, clicks
replay and sees it delivered; a viewer sees on the overview the figures the API gives, and a
chart that is drawn (its bars' colours in the screenshot)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.common.by import By

from gateway.app import Gateway
from gateway.config import Settings
from gateway.envelope import Direction, Envelope
from gateway.ledger import Status
from tests.integration.helpers import wait_for
from tests.ops.browser import chromium, painted, serve, sign_in
from tests.ops.helpers import (
    AANBIEDER,
    KEYS,
    as_,
    block_delivery,
    ops_settings,
    seed_overview,
    toewijzing,
    unblock_delivery,
    wait_status,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    with chromium(tmp_path / "chromium") as driver:
        yield driver


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[Gateway, str]]:
    with serve(ops_settings(settings)) as found:
        yield found


def test_an_operator_replays_a_parked_message_in_the_browser(
    served: tuple[Gateway, str], browser: webdriver.Chrome, tmp_path: Path
) -> None:
    gateway, base = served
    block_delivery(gateway.settings)
    receipt = gateway.receiver.receive_mapped(
        Envelope(body=toewijzing(8101), direction=Direction.OUTBOUND), "iwmo", "toewijzing"
    )
    wait_status(gateway, receipt.message_id, Status.PARKED)
    unblock_delivery(gateway.settings)

    browser.get(f"{base}/ui/")
    assert browser.current_url.endswith("/ui/login")  # not signed in
    browser.find_element(By.ID, "key").send_keys(KEYS["op"])
    browser.find_element(By.ID, "sign-in").click()
    wait_for(lambda: browser.current_url.endswith("/ui/"), 10, "the overview")
    browser.find_element(By.LINK_TEXT, "Failures").click()
    row = browser.find_element(
        By.CSS_SELECTOR, f'#parked ~ table tr[data-id="{receipt.message_id}"]'
    )
    assert "WMO301" in row.text and "parked" in row.text
    assert "999990019" not in browser.page_source  # no BSN on a list page
    row.find_element(By.TAG_NAME, "a").click()

    assert browser.find_element(By.ID, "status").text == "parked"
    assert not browser.find_elements(By.ID, "payload")  # an operator is no payload-viewer
    browser.find_element(By.ID, "replay").click()
    assert browser.find_element(By.ID, "notice").text == "replayed"

    def delivered() -> bool:
        browser.refresh()
        return browser.find_element(By.ID, "status").text == "awaiting-answer"

    wait_for(delivered, 30, "the replayed message to be delivered")
    events = [
        e.text for e in browser.find_elements(By.CSS_SELECTOR, "table.history tr td:nth-child(2)")
    ]
    # (the worker may record `delivered` before the replay records the broker's confirm)
    assert events[-4:-2] == ["parked", "replayed"]
    assert sorted(events[-2:]) == ["delivered", "published"]
    assert "by op" in browser.find_element(By.CSS_SELECTOR, "tr.event-replayed").text
    browser.save_screenshot(str(tmp_path / "replayed.png"))
    assert (gateway.settings.outbox_dir / "12345678").is_dir()


def test_the_overview_in_the_browser_shows_the_api_figures_and_a_chart(
    served: tuple[Gateway, str], browser: webdriver.Chrome, tmp_path: Path
) -> None:
    gateway, base = served
    seeded = seed_overview(gateway.settings, gateway)
    sign_in(browser, base, KEYS["viewer"], "/ui/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Overview"
    found = requests.get(f"{base}/v1/overview", headers=as_("viewer"), timeout=10).json()

    shown = 0
    for kind, name in (("route", "route"), ("counterpart", "counterpart")):
        for row in found[f"{kind}s"]:
            for window, counts in row["counts"].items():
                for outcome, n in counts.items():
                    selector = (
                        f'#by-{kind} td[data-row="{row[name]}"]'
                        f'[data-window="{window}"][data-outcome="{outcome}"]'
                    )
                    assert browser.find_element(By.CSS_SELECTOR, selector).text == str(n)
                    shown += n
    assert shown == 2 * 3 * 11  # the 11 outcomes seeded, in every window, in both tables
    [waiting] = found["unanswered"]
    table = browser.find_element(By.ID, "unanswered").text
    assert waiting["oldest_message_id"][:8] in table and AANBIEDER in table
    assert waiting["oldest_message_id"] == seeded["delivered"][0]  # type: ignore[index]
    for queue in found["queues"]:
        cell = browser.find_element(By.CSS_SELECTOR, f'td[data-queue="{queue["queue"]}"]')
        assert cell.text == str(queue["messages"])

    colours = painted(browser, tmp_path / "overview.png", browser.find_element(By.ID, "chart"))
    assert colours.get((47, 111, 173), 0) > 10, "no volume bar in the chart"  # #2f6fad
    assert colours.get((192, 57, 43), 0) > 2, "no failures bar in the chart"  # #c0392b

    browser.find_element(By.CSS_SELECTOR, "#by-route a.fig-parked").click()
    wait_for(lambda: "/ui/messages?" in browser.current_url, 10, "the messages behind it")
    assert seeded["parked"] in browser.page_source
