"""The example's briefing and reports pages at phone (390 px) and desktop (1280 px) width, in headless Chromium.

Each page must fit its viewport (a table too wide scrolls in its own box), keep chart text legible,
draw a chart only where two values compare, carry one legend, and name its checks in words. A
screenshot of each is saved and must be a real picture; SUMMARIZE_SCREENSHOT_DIR keeps copies.
"""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import CASSETTES, EXAMPLES
from test_browser import CHROMEDRIVER, CHROMIUM, FLAGS, browser_or_skip

from summarize.cli.main import cli
from summarize.models.briefing import Briefing
from summarize.models.report import ExtractionOutput
from summarize.render.html import briefing_html, reports_html

SIZES = [(390, 844), (1280, 900)]

# What a reader of the page would notice: sideways scrolling, cut-off or tiny text, tables running off the screen.
LAYOUT = """
const vw = document.documentElement.clientWidth;
const scroller = el => { for (let p = el.parentElement; p; p = p.parentElement) {
  if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX)) return p; } return null; };
const box = el => { const r = el.getBoundingClientRect(); return {left: Math.round(r.left), right: Math.round(r.right), width: Math.round(r.width)}; };
const wide = [...document.body.querySelectorAll('*')].filter(el => {
  const r = el.getBoundingClientRect(), s = scroller(el);
  return r.width > 0 && r.right > vw + 1 && !(s && s !== document.documentElement && s.tagName !== 'ASIDE');
}).map(el => el.tagName + '.' + el.className + ' ' + JSON.stringify(box(el)));
const tables = [...document.querySelectorAll('main table')].map(t => {
  const s = scroller(t), wrap = t.parentElement;
  return {fits: t.getBoundingClientRect().right <= wrap.getBoundingClientRect().right + 1, box: box(t), wrap: box(wrap),
          scrolls: s === wrap && wrap.scrollWidth > wrap.clientWidth, named: (wrap.getAttribute('aria-label') || '').length > 0,
          focusable: wrap.tabIndex === 0};
});
const charts = [...document.querySelectorAll('figure.chart svg[role="img"]')].map(svg => {
  const frame = svg.getBoundingClientRect();
  return {markers: svg.querySelectorAll('circle, rect').length, width: frame.width, text: [...svg.querySelectorAll('text')].map(t => {
    const r = t.getBoundingClientRect();
    return {text: t.textContent, px: parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a, height: r.height,
            inside: r.left >= frame.left - 1 && r.right <= frame.right + 1};
  })};
});
return {
  innerWidth: window.innerWidth, clientWidth: vw, scrollWidth: document.documentElement.scrollWidth, wide, tables, charts,
  legends: document.querySelectorAll('.legend').length, captions: document.querySelectorAll('figure.chart figcaption').length,
  legendBeforeCharts: [...document.querySelectorAll('figure.chart')].every(f => document.querySelector('.legend')
    && document.querySelector('.legend').compareDocumentPosition(f) & Node.DOCUMENT_POSITION_FOLLOWING),
  checks: [...document.querySelectorAll('.checks > li')].map(li => ({shown: li.querySelector('strong').textContent, text: li.innerText})),
  bodyFont: parseFloat(getComputedStyle(document.body).fontSize),
};
"""


def png_colours(path: Path) -> tuple[int, int, int]:
    """Width, height and the number of distinct colours (over every 7th pixel) of an 8-bit, non-interlaced RGB(A) PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, head, idat = 8, b"", b""
    while pos < len(data):
        length, kind = struct.unpack(">I", data[pos : pos + 4])[0], data[pos + 4 : pos + 8]
        head = data[pos + 8 : pos + 8 + length] if kind == b"IHDR" else head
        idat += data[pos + 8 : pos + 8 + length] if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", head)
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, (depth, colour_type, interlace)
    bpp = 3 if colour_type == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    prev, colours = bytearray(stride), set()
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        if kind == 2:  # "up", the commonest filter, needs no running state
            line, kind = bytearray((x + p) & 255 for x, p in zip(line, prev, strict=True)), 0
        for i in range(stride) if kind else ():
            a, b, c = (line[i - bpp] if i >= bpp else 0), prev[i], (prev[i - bpp] if i >= bpp else 0)
            if kind == 4:
                p = a + b - c
                a = a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c) else b if abs(p - b) <= abs(p - c) else c
            line[i] = (line[i] + (a, b, (a + b) // 2, a)[kind - 1]) & 255
        colours.update(bytes(line[i : i + bpp]) for i in range(0, stride, bpp * 7))
        prev = line
    return width, height, len(colours)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tmp_path_factory.mktemp("chromium")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SE_OFFLINE", "true")
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            env.delenv(name, raising=False)
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in (*FLAGS, f"--user-data-dir={profile / 'profile'}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER), log_output=str(profile / "chromedriver.log")), options=options)
        try:
            yield driver
        finally:
            driver.quit()


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Briefing | ExtractionOutput]]:
    out = tmp_path_factory.mktemp("pages")
    story = str(EXAMPLES / "aleppo")
    assert cli(["brief", story, "--replay", str(CASSETTES / "aleppo-brief.yaml"), "--format", "json", "-q", "-o", str(out / "b.json")]) == 0
    assert cli(["extract", story, "--replay", str(CASSETTES / "aleppo-extract.yaml"), "--format", "json", "-q", "-o", str(out / "r.json")]) == 0
    briefing = Briefing.model_validate_json((out / "b.json").read_text(encoding="utf-8"))
    reports = ExtractionOutput.model_validate_json((out / "r.json").read_text(encoding="utf-8"))
    (out / "briefing.html").write_text(briefing_html(briefing), encoding="utf-8")
    (out / "reports.html").write_text(reports_html(reports), encoding="utf-8")
    return {"briefing": (out / "briefing.html", briefing), "reports": (out / "reports.html", reports)}


def _load(driver: Any, page: Path, width: int, height: int) -> dict[str, Any]:
    # a phone, not a narrow desktop window: a page wider than the screen would make Chromium zoom out and widen innerWidth
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    driver.get(page.as_uri())
    state: dict[str, Any] = driver.execute_script(LAYOUT)
    return state


def _screenshot(driver: Any, shot: Path, width: int, height: int) -> None:
    assert driver.save_screenshot(str(shot))
    w, h, colours = png_colours(shot)
    assert (w, h) == (width, height) and shot.stat().st_size > 15_000 and colours >= 50, (w, h, shot.stat().st_size, colours)
    if os.environ.get("SUMMARIZE_SCREENSHOT_DIR"):
        keep = Path(os.environ["SUMMARIZE_SCREENSHOT_DIR"])
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy2(shot, keep / shot.name)


@pytest.mark.parametrize(("width", "height"), SIZES, ids=["phone", "desktop"])
@pytest.mark.parametrize("name", ["briefing", "reports"])
def test_page_fits_the_screen_and_tables_scroll_in_their_own_box(browser: Any, pages: dict[str, Any], name: str, width: int, height: int) -> None:
    page, _ = pages[name]
    state = _load(browser, page, width, height)
    assert state["innerWidth"] == width, "the page is wider than the screen, so the browser zoomed out"
    assert state["scrollWidth"] <= state["clientWidth"] <= width, ("the page scrolls sideways", state["scrollWidth"], state["wide"])
    assert state["wide"] == [], "elements run off the screen outside any scrolling box"
    assert state["tables"], "the example has tables"
    for table in state["tables"]:
        assert table["fits"] or table["scrolls"], table
        assert table["wrap"]["left"] >= 0 and table["wrap"]["right"] <= width, table
        assert table["named"] and table["focusable"], "a keyboard reaches, and a screen reader names, the scrolling box"
    if width < 600:
        # a table too wide for a phone keeps readable columns and scrolls, rather than squeezing every cell
        assert any(t["scrolls"] for t in state["tables"]), state["tables"]
    else:
        assert all(t["fits"] and not t["scrolls"] for t in state["tables"]), "at desktop width every table fits"
    assert state["bodyFont"] >= 16
    _screenshot(browser, page.parent / f"{name}-{width}.png", width, height)


@pytest.mark.parametrize(("width", "height"), SIZES, ids=["phone", "desktop"])
def test_chart_text_stays_legible_and_inside_the_chart(browser: Any, pages: dict[str, Any], width: int, height: int) -> None:
    page, _ = pages["briefing"]
    state = _load(browser, page, width, height)
    assert state["charts"]
    for chart in state["charts"]:
        assert chart["width"] <= width - 16
        for text in chart["text"]:
            assert text["px"] >= 11 and text["height"] >= 11, (width, text)
            assert text["inside"], ("chart text cut off at the edge", text)
        if width >= 1280:
            assert min(t["px"] for t in chart["text"]) >= 14, "at desktop width the chart is drawn at full size"
    labels = " ".join(t["text"] for chart in state["charts"] for t in chart["text"])
    assert "SOHR: ≥ 153" in labels and "local sources: 238" in labels and "Russian reports: ~400" in labels
    browser.execute_script("document.getElementById('figures').scrollIntoView()")
    _screenshot(browser, page.parent / f"charts-{width}.png", width, height)


def test_a_chart_only_where_two_values_compare_under_one_legend(browser: Any, pages: dict[str, Any]) -> None:
    page, briefing = pages["briefing"]
    state = _load(browser, page, *SIZES[0])
    comparisons = briefing.reconciled.comparisons
    numbered = [c for c in comparisons if sum(1 for e in c.entries if e.bounds() is not None) >= 2]
    assert 0 < len(numbered) < len(comparisons), "the example has single-value scopes and comparisons"
    assert len(state["charts"]) == len(numbered), "a chart only where two or more values compare"
    assert all(chart["markers"] >= 2 for chart in state["charts"])
    assert state["legends"] == 1 and state["captions"] == 0 and state["legendBeforeCharts"], state


@pytest.mark.parametrize("name", ["briefing", "reports"])
def test_checks_are_named_in_words(browser: Any, pages: dict[str, Any], name: str) -> None:
    page, model = pages[name]
    state = _load(browser, page, *SIZES[0])
    names = [c.name for c in model.checks] if isinstance(model, Briefing) else [c.name for r in model.reports for c in r.checks]
    assert len(state["checks"]) == len(names)
    for check, identifier in zip(state["checks"], names, strict=True):
        assert "_" not in check["shown"] and len(check["shown"].split()) >= 3 and identifier not in check["text"], (identifier, check)
    shown = dict(zip(names, (c["shown"] for c in state["checks"]), strict=True))
    check, words = ("citations_exist", "every sentence cites a source") if name == "briefing" else ("quotes_grounded", "every quote is found in the article")
    assert shown[check] == words
    browser.execute_script("document.querySelector('.checks').scrollIntoView()")
    _screenshot(browser, page.parent / f"checks-{name}.png", *SIZES[0])
