"""Shared by the browser tests: headless Chromium (Debian's chromium and chromedriver, driven by
Selenium), a gateway served by uvicorn on a free port, signing in, and the colours a screenshot
shows where an element is drawn."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from gateway.app import Gateway
from gateway.config import Settings
from gateway.ingress.http import make_app
from tests.integration.busutil import free_port
from tests.integration.helpers import wait_for
from tests.ops.helpers import running

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@contextmanager
def chromium(profile: Path, size: str = "1280,900") -> Iterator[webdriver.Chrome]:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail("needs Debian's chromium and chromium-driver (./dev test installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--window-size={size}",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


@contextmanager
def serve(settings: Settings) -> Iterator[tuple[Gateway, str]]:
    """A running gateway (workers, operations) and its HTTP API at the returned base URL."""
    port = free_port()
    with running(settings) as gateway:
        server = uvicorn.Server(
            uvicorn.Config(make_app(gateway), "127.0.0.1", port, log_config=None, access_log=False)
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        wait_for(lambda: server.started, 20, "uvicorn")
        try:
            yield gateway, f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(10)


def sign_in(browser: webdriver.Chrome, base: str, key: str, lands_on: str) -> None:
    browser.get(f"{base}/ui/login")
    browser.find_element(By.ID, "key").send_keys(key)
    browser.find_element(By.ID, "sign-in").click()
    wait_for(lambda: browser.current_url.endswith(lands_on), 10, lands_on)


def painted(
    browser: webdriver.Chrome, screenshot: Path, element: WebElement
) -> dict[tuple[int, ...], int]:
    """Pixels per colour in ``screenshot`` (saved now) where ``element`` is drawn."""
    browser.save_screenshot(str(screenshot))
    box = element.rect
    ratio = browser.execute_script("return window.devicePixelRatio") or 1
    with Image.open(screenshot) as image:
        area = image.convert("RGB").crop(
            (
                int(box["x"] * ratio),
                int(box["y"] * ratio),
                int((box["x"] + box["width"]) * ratio),
                int((box["y"] + box["height"]) * ratio),
            )
        )
        colours = area.getcolors(maxcolors=1 << 20) or []
    return {colour: n for n, colour in colours}
