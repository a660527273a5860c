"""The example's HTML report in a real browser: Debian's headless Chromium driven by Selenium.

Nothing is downloaded: the browser and its driver come from the `chromium` and `chromium-driver`
packages, and Selenium is given both paths so Selenium Manager never runs. Outside CI the test is
skipped when they are missing; in CI (CI set) it fails instead, so a broken install cannot pass.
"""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path
from typing import Any

import pytest
from helpers import CASSETTES, EXAMPLES

from summarize.cli.main import cli
from summarize.models.briefing import Briefing
from summarize.render.html import briefing_html

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# the network is closed here: no first-run, sync, component or QUIC traffic, and no proxy from the environment
FLAGS = [
    *("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run", "--disable-background-networking"),
    *("--disable-component-update", "--disable-sync", "--no-proxy-server", "--window-size=1400,1200", "--force-device-scale-factor=1", "--lang=en-US"),
]
ACTIVE_BACKGROUND = "rgb(255, 201, 51)"  # --mark-active in report.css

# Where the span is and whether a reader sees it: inside the window, inside the scrolled source pane, and on top.
SPAN_STATE = """
const el = document.getElementById(arguments[0]);
const r = el.getBoundingClientRect(), line = el.getClientRects()[0], pane = document.getElementById('sources-pane').getBoundingClientRect();
const hit = document.elementFromPoint((line.left + line.right) / 2, (line.top + line.bottom) / 2);
return {
  inWindow: r.top >= 0 && r.bottom <= window.innerHeight && r.left >= 0 && r.right <= window.innerWidth,
  inPane: r.top >= pane.top && r.bottom <= pane.bottom,
  onTop: hit !== null && (el.contains(hit) || hit.contains(el)),
  active: el.classList.contains('is-active'),
  background: getComputedStyle(el).backgroundColor,
  focused: document.activeElement === el,
  paneScroll: document.getElementById('sources-pane').scrollTop,
  hash: location.hash,
};
"""


def browser_or_skip() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package (pip install -e '.[test]')")
    if missing:
        reason = "the browser test needs " + ", ".join(missing) + " (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser test, but " + reason)
        pytest.skip(reason)


@pytest.fixture
def driver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")
    # the driver is on loopback; a proxy from the environment must not sit between Selenium and it
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER), log_output=str(tmp_path / "chromedriver.log")), options=options)
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture
def report(tmp_path: Path) -> Path:
    out = tmp_path / "aleppo.json"
    args = ["brief", str(EXAMPLES / "aleppo"), "--replay", str(CASSETTES / "aleppo-brief.yaml"), "--format", "json", "-q", "-o", str(out)]
    assert cli(args) == 0
    page = tmp_path / "report.html"
    page.write_text(briefing_html(Briefing.model_validate_json(out.read_text(encoding="utf-8"))), encoding="utf-8")
    return page


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_example_report_in_headless_chromium(driver: Any, report: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(report.as_uri())
    assert driver.find_element(By.TAG_NAME, "h1").text.startswith("Fighting spreads across western Aleppo and Idlib")
    chart = driver.find_element(By.CSS_SELECTOR, "figure.chart svg[role='img']")
    assert chart.is_displayed() and chart.size["width"] >= 400 and chart.size["height"] >= 100
    assert "SOHR" in chart.text and "238" in chart.text

    link = driver.find_element(By.CSS_SELECTOR, "#lead a.cite")
    target = link.get_attribute("href").rpartition("#")[2]
    assert driver.execute_script(SPAN_STATE, target)["active"] is False
    link.click()
    WebDriverWait(driver, 5).until(lambda d: d.execute_script("return location.hash") == "#" + target)
    state = driver.execute_script(SPAN_STATE, target)
    assert state["inWindow"] and state["inPane"] and state["onTop"], state
    assert state["active"] and state["background"] == ACTIVE_BACKGROUND and state["focused"], state
    label = driver.execute_script("return getComputedStyle(document.getElementById(arguments[0]), '::before').content", target)
    assert "cited" in label, "the active span is labelled in words, not only tinted"

    # the view a reader gets after the first click: headline, lead, the first chart and the cited span
    shot = tmp_path / "report.png"
    assert driver.save_screenshot(str(shot))
    width, height = _png_size(shot)
    assert shot.stat().st_size > 20_000 and width >= 1000 and height >= 700, (shot.stat().st_size, width, height)
    if os.environ.get("SUMMARIZE_SCREENSHOT_DIR"):
        keep = Path(os.environ["SUMMARIZE_SCREENSHOT_DIR"])
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy2(shot, keep / "report.png")

    # a passage near the end of the last source: the pane has to scroll to it, and the first span is no longer marked
    last = driver.find_elements(By.CSS_SELECTOR, "#context a.cite")[-1]
    far = last.get_attribute("href").rpartition("#")[2]
    last.click()
    WebDriverWait(driver, 5).until(lambda d: d.execute_script("return location.hash") == "#" + far)
    moved = driver.execute_script(SPAN_STATE, far)
    assert moved["inWindow"] and moved["inPane"] and moved["onTop"] and moved["active"], moved
    assert moved["paneScroll"] != state["paneScroll"] and not driver.execute_script(SPAN_STATE, target)["active"]

    # Back returns to the first citation's span
    driver.back()
    WebDriverWait(driver, 5).until(lambda d: d.execute_script(SPAN_STATE, target)["active"])
    assert driver.execute_script(SPAN_STATE, target)["inPane"]

    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0, "the page fetched something"
    errors = [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    assert not errors, errors

    # printed, the source texts follow the briefing instead of sitting in a fixed-height side pane
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    printed = driver.execute_script(
        "const a = document.getElementById('sources-pane'), m = document.querySelector('main');"
        "return {position: getComputedStyle(a).position, overflow: getComputedStyle(a).overflowY,"
        " below: a.getBoundingClientRect().top >= m.getBoundingClientRect().bottom - 1, nav: getComputedStyle(document.querySelector('nav')).display};"
    )
    assert printed == {"position": "static", "overflow": "visible", "below": True, "nav": "none"}, printed
