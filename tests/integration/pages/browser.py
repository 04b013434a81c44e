"""Debian's chromium driven by Selenium through /usr/bin/chromedriver: nothing is downloaded
(Selenium Manager is never asked, as both paths are given)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# Runs before any page script: counts alert() calls instead of blocking on a dialog.
ALERT_PROBE = "window.__alerts = 0; window.alert = function () { window.__alerts += 1; };"


def chromium(width: int = 1280, height: int = 900) -> webdriver.Chrome:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists():
            pytest.fail(f"{path} is missing: install Debian's chromium and chromium-driver with "
                        "`make bootstrap` (infra/bootstrap.sh)", pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-extensions", f"--window-size={width},{height}",
                "--lang=en-US"):
        options.add_argument(arg)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # chromium refuses to run as root otherwise
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": ALERT_PROBE})
    return driver
