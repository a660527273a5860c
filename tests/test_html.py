"""The HTML report without a browser: self-contained, every citation lands on its quote, escaped, accessible."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from helpers import CASSETTES, EXAMPLES

from summarize.cli.main import cli
from summarize.models.briefing import Briefing
from summarize.models.report import CheckResult, Dropped, ExtractionOutput, FailedItem, SourceReport
from summarize.render.html import _marked_text, briefing_html, reports_html

CSS = (Path(__file__).resolve().parent.parent / "summarize" / "data" / "report.css").read_text(encoding="utf-8")
HOSTILE = "<script>alert(1)</script>"


class Page(HTMLParser):
    """What the tests look at: ids, links, marked text per span, headings, landmarks, chart text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: dict[str, dict[str, str]] = {}
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.marked: dict[str, str] = {}
        self.headings: list[int] = []
        self.text_by_id: dict[str, str] = {}
        self._open: list[tuple[str, dict[str, str]]] = []
        self.feed(html)
        self.close()
        assert not self._open, f"unclosed elements: {[t for t, _ in self._open]}"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        if "id" in a:
            assert a["id"] not in self.ids, f"duplicate id {a['id']}"
            self.ids[a["id"]] = {"tag": tag, **a}
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag not in ("meta", "br", "circle", "line", "path", "rect"):
            self._open.append((tag, a))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("circle", "line", "path", "rect"):
            return
        open_tag, _ = self._open.pop()
        assert open_tag == tag, f"</{tag}> closes <{open_tag}>"

    def handle_data(self, data: str) -> None:
        for tag, a in self._open:
            if tag == "mark" and "data-ev" in a:
                self.marked[a["data-ev"]] = self.marked.get(a["data-ev"], "") + data
            if "id" in a:
                self.text_by_id[a["id"]] = self.text_by_id.get(a["id"], "") + data


@pytest.fixture(scope="module")
def briefing(tmp_path_factory: pytest.TempPathFactory) -> Briefing:
    out = tmp_path_factory.mktemp("brief") / "aleppo.json"
    args = ["brief", str(EXAMPLES / "aleppo"), "--replay", str(CASSETTES / "aleppo-brief.yaml"), "--format", "json", "-q", "-o", str(out)]
    assert cli(args) == 0
    return Briefing.model_validate_json(out.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def extraction(tmp_path_factory: pytest.TempPathFactory) -> ExtractionOutput:
    out = tmp_path_factory.mktemp("extract") / "reports.json"
    args = ["extract", str(EXAMPLES / "aleppo"), "--replay", str(CASSETTES / "aleppo-extract.yaml"), "--format", "json", "-q", "-o", str(out)]
    assert cli(args) == 0
    return ExtractionOutput.model_validate_json(out.read_text(encoding="utf-8"))


def _quotes(reports: list[SourceReport]) -> dict[str, str]:
    quotes = {f.id: f.evidence.quote for r in reports for f in r.figures} | {c.id: c.evidence.quote for r in reports for c in r.claims}
    return quotes | {e.id: e.evidence[0].quote for r in reports for e in r.events}


def _anchor(claim_id: str) -> str:
    return "ev-" + re.sub(r"[^A-Za-z0-9_-]+", "-", claim_id)


def test_briefing_page_loads_nothing_from_outside(briefing: Briefing) -> None:
    html = briefing_html(briefing)
    page = Page(html)
    assert not [a for _, a in page.tags if "src" in a], "no element may load a resource"
    assert not [a for t, a in page.tags if t == "link"] and "@import" not in html and "url(" not in html
    outside = {a["href"] for _, a in page.tags if re.match(r"(?i)\s*(https?:)?//", a.get("href", ""))}
    assert outside and outside <= {s.url for s in briefing.sources}, "the only links out are the articles themselves"
    csp = next(a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert csp.startswith("default-src 'none';")
    for block in ("style", "script"):
        body = re.search(rf"<{block}>(.*?)</{block}>", html, re.DOTALL)
        assert body, block
        digest = base64.b64encode(hashlib.sha256(body.group(1).encode("utf-8")).digest()).decode("ascii")
        assert f"{block}-src 'sha256-{digest}'" in csp, f"the inline {block} must be the one the policy allows"


def test_every_citation_lands_on_a_mark_holding_exactly_its_quote(briefing: Briefing) -> None:
    page = Page(briefing_html(briefing))
    internal = [a["href"][1:] for _, a in page.tags if a.get("href", "").startswith("#")]
    assert internal and not [h for h in internal if h not in page.ids], "every in-page link resolves"
    quotes = _quotes(briefing.reports)
    cited = {cid for s in briefing.sentences() for cid in s.claim_ids}
    cite_hrefs = {a["href"][1:] for t, a in page.tags if t == "a" and a.get("class") == "cite"}
    for cid in cited:
        hid = _anchor(cid)
        assert hid in cite_hrefs, f"{cid} is not linked"
        target = page.ids[hid]
        assert target["tag"] == "mark" and target["data-ev"] == hid
        assert page.marked[hid] == quotes[cid], f"mark for {cid} does not hold its quote"
    lead = briefing.lead[0]
    assert lead.text in page.text_by_id["lead"]


def test_extraction_page_highlights_every_quote(extraction: ExtractionOutput) -> None:
    page = Page(reports_html(extraction))
    quotes = _quotes(extraction.reports)
    assert len(quotes) > 40
    for cid, quote in quotes.items():
        assert page.marked[_anchor(cid)] == quote, cid
    assert "monitor-digest:f1" not in page.ids and "≥\u00a0153" in page.text_by_id["report-monitor-digest"]
    assert page.headings.count(1) == 1


def test_crossing_and_nested_spans_are_cut_into_pieces_that_nest() -> None:
    text = "abcdefghijklmnop & <q>"
    spans = [(0, 6, "a"), (3, 9, "b"), (3, 9, "c"), (4, 5, "d"), (8, 14, "e"), (14, 14, "z"), (10, 22, "f")]
    page = Page("<div>" + _marked_text(text, spans, {}) + "</div>")
    for start, end, hid in spans:
        assert page.marked.get(hid, "") == text[start:end], hid
        assert page.ids[hid]["tag"] == "mark"
    assert "&lt;q&gt;" in _marked_text(text, spans, {})


def test_chart_is_an_image_described_in_words(briefing: Briefing) -> None:
    html = briefing_html(briefing)
    page = Page(html)
    svgs = [a for t, a in page.tags if t == "svg"]
    assert len(svgs) == len(briefing.reconciled.comparisons)
    first = svgs[0]
    assert first["role"] == "img"
    title_id, desc_id = first["aria-labelledby"].split()
    assert page.ids[title_id]["tag"] == "title" and page.ids[desc_id]["tag"] == "desc"
    assert "killed — all" in page.text_by_id[title_id]
    assert page.text_by_id[desc_id] == "SOHR: at least 153; local sources: 238."
    derived = next(i for i, c in enumerate(briefing.reconciled.comparisons, 1) if any(e.derived for e in c.entries))
    assert "SOHR: 99 (derived: sum of SOHR's figures for HTS (80) and SNA (19))" in page.text_by_id[f"chart-{derived}-desc"]
    chart = re.search(rf'aria-labelledby="chart-{derived}-title.*?</svg>', html, re.DOTALL)
    assert chart and 'fill="#ffffff"' in chart.group(0) and ">99 derived</text>" in chart.group(0), "derived: hollow marker and a word, not a colour"
    assert ">~400</text>" in chart.group(0)


def test_chart_draws_ranges_open_bounds_and_missing_numbers(briefing: Briefing) -> None:
    total = briefing.reconciled.comparisons[0]
    base = total.entries[0]
    entries = [
        base.model_copy(update={"claimant": "UN", "value": None, "low": 12, "high": 20, "qualifier": "range"}),
        base.model_copy(update={"claimant": "Ministry", "value": 5, "qualifier": "up_to"}),
        base.model_copy(update={"claimant": "Rescuers", "value": None, "qualifier": "vague_word", "vague_word": "dozens"}),
    ]
    html = briefing_html(
        briefing.model_copy(update={"reconciled": briefing.reconciled.model_copy(update={"comparisons": [total.model_copy(update={"entries": entries})]})})
    )
    page = Page(html)
    assert page.text_by_id["chart-1-desc"] == "UN: 12 to 20; Ministry: up to 5; Rescuers: dozens (no number given)."
    chart = html[html.index("<svg") : html.index("</svg>")]
    assert chart.count("<rect") == 1 and chart.count("<circle") == 1 and ">dozens (no number)</text>" in chart
    assert ">12–20</text>" in chart and ">≤ 5</text>" in chart
    ticks = re.findall(r'text-anchor="middle" font-size="14">(\d+)</text>', chart)
    assert ticks == ["0", "5", "10", "15", "20"]


def test_extraction_page_lists_dropped_and_failed_items(extraction: ExtractionOutput) -> None:
    first = extraction.reports[0].model_copy(update={"dropped": [Dropped(kind="figure", reason="quote not found in the article", item={})]})
    failed = FailedItem(item="broken.txt", stage="read", error="InputError", message="empty file")
    html = reports_html(ExtractionOutput(reports=[first, *extraction.reports[1:]], failed=[failed]))
    page = Page(html)
    assert "Verification was partial" in html and "figure: quote not found in the article" in html
    assert "broken.txt (read, InputError): empty file" in page.text_by_id["failed"]


def test_article_text_and_model_output_are_escaped(briefing: Briefing) -> None:
    report = briefing.reports[0]
    source = report.source.model_copy(update={"text": report.source.text + "\n" + HOSTILE, "title": HOSTILE, "outlet": HOSTILE, "url": "javascript:alert(1)"})
    lead = briefing.lead[0].model_copy(update={"text": f'{HOSTILE} <img src=x onerror="alert(2)">'})
    summaries = [briefing.sources[0].model_copy(update={"url": "javascript:alert(1)", "title": HOSTILE}), *briefing.sources[1:]]
    hostile = briefing.model_copy(
        update={"reports": [report.model_copy(update={"source": source}), *briefing.reports[1:]], "lead": [lead], "sources": summaries}
    )
    for html in (briefing_html(hostile), reports_html(ExtractionOutput(reports=hostile.reports, failed=[]))):
        assert html.count("<script") == 1 and "<img" not in html and "javascript:" not in html.replace("&lt;", "")
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert not [a for _, a in Page(html).tags if a.get("href", "").lower().startswith("javascript")]


def test_failed_checks_marked_and_removed_sentences_are_visible(briefing: Briefing) -> None:
    failed = CheckResult(name="numbers_traceable", passed=False, detail="1 of 23 numbers untraceable", failures=["lead 2: '1,000' is in no cited figure"])
    checks = [failed if c.name == "numbers_traceable" else c for c in briefing.checks]
    marked = briefing.lead[1].model_copy(update={"status": "marked", "problems": ["'1,000' is in no cited figure"], "claim_ids": ["regional-wire:f99"]})
    broken = briefing.model_copy(update={"checks": checks, "lead": [briefing.lead[0], marked]})
    html = briefing_html(broken)
    page = Page(html)
    panel = page.text_by_id["checks"]
    assert "✗ FAILED numbers_traceable: 1 of 23 numbers untraceable" in " ".join(panel.split())
    assert "'1,000' is in no cited figure" in panel and panel.count("✓ passed") == len(checks) - 1
    assert 'class="alert" role="status"' in html and "Checks failed: numbers_traceable" in html
    assert "⚠ failed a check:" in page.text_by_id["lead"] and "f99 (not found)" in page.text_by_id["lead"]
    assert 'href="#ev-regional-wire-f99"' not in html


def test_structure_headings_and_landmarks(briefing: Briefing) -> None:
    page = Page(briefing_html(briefing, lang="en"))
    assert page.tags[0] == ("html", {"lang": "en"})
    assert page.headings[0] == 1 and page.headings.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(page.headings, page.headings[1:], strict=False)), "no skipped heading level"
    tags = {t for t, _ in page.tags}
    assert {"main", "nav", "aside", "header", "title"} <= tags
    assert page.ids["sources-pane"]["tag"] == "aside" and page.ids["checks"]["tag"] == "section"
    panes = [i for i, a in page.ids.items() if a.get("class") == "source"]
    assert len(panes) == len(briefing.sources)


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


PAIRS = [("ink", "paper"), ("muted", "paper"), ("link", "paper"), ("ink", "pane"), ("muted", "pane"), ("link", "pane"), ("ink", "mark"), ("link", "mark")]


@pytest.mark.parametrize(
    ("text", "background"), [*PAIRS, ("ink", "mark-active"), ("pass", "paper"), ("fail", "paper"), ("fail", "fail-bg"), ("fail-ink", "fail-bg")]
)
def test_text_contrast_is_at_least_4_5(text: str, background: str) -> None:
    colours = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-f]{6})", CSS))
    hi, lo = sorted((_luminance(colours[text]), _luminance(colours[background])), reverse=True)
    assert (hi + 0.05) / (lo + 0.05) >= 4.5, f"{text} on {background}"


def test_print_rules_keep_everything_and_show_link_targets() -> None:
    print_css = CSS[CSS.index("@media print") :]
    assert "position: static" in print_css and "overflow: visible" in print_css and "attr(href)" in print_css
    assert "position: fixed" not in CSS
    hidden = re.findall(r"([^{}]+)\{[^}]*display:\s*none", print_css)
    assert [h.strip() for h in hidden] == ["nav, .skip"], "print hides only navigation aids"
