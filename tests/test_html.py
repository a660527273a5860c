"""The HTML report without a browser: self-contained, every citation lands on its quote, escaped, accessible."""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from helpers import CASSETTES, EXAMPLES

from summarize.api import brief_files
from summarize.cli.main import cli
from summarize.config import load_settings
from summarize.gate.gates import GATES
from summarize.models.briefing import Briefing, TerminologyNote
from summarize.models.report import CheckResult, Dropped, ExtractionOutput, FailedItem, SourceReport
from summarize.reconcile.common import DESIGNATION_RENDERING
from summarize.render.briefing_md import briefing_markdown
from summarize.render.html import _CHECK_WORDS, briefing_html, reports_html
from summarize.render.marks import marked_text

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
    page = Page("<div>" + marked_text(text, spans, {}) + "</div>")
    for start, end, hid in spans:
        assert page.marked.get(hid, "") == text[start:end], hid
        assert page.ids[hid]["tag"] == "mark"
    assert "&lt;q&gt;" in marked_text(text, spans, {})


def test_chart_is_an_image_described_in_words(briefing: Briefing) -> None:
    html = briefing_html(briefing)
    page = Page(html)
    svgs = [a for t, a in page.tags if t == "svg" and a.get("role") == "img"]
    assert len(svgs) == 2 and len(briefing.reconciled.comparisons) == 6, "a chart only for the two scopes with two values"
    first = svgs[0]
    assert first["role"] == "img"
    title_id, desc_id = first["aria-labelledby"].split()
    assert page.ids[title_id]["tag"] == "title" and page.ids[desc_id]["tag"] == "desc"
    assert "killed — all" in page.text_by_id[title_id]
    assert page.text_by_id[desc_id] == "SOHR: at least 153; local sources: 238."
    derived = next(i for i, c in enumerate(briefing.reconciled.comparisons, 1) if any(e.derived for e in c.entries))
    assert "SOHR: 99 (derived: sum of SOHR's figures for HTS (80) and SNA (19))" in page.text_by_id[f"chart-{derived}-desc"]
    chart = re.search(rf'aria-labelledby="chart-{derived}-title.*?</svg>', html, re.DOTALL)
    assert chart and 'fill="#ffffff"' in chart.group(0) and ">99 derived</tspan>" in chart.group(0), "derived: hollow marker and a word, not a colour"
    assert ">Russian reports: <tspan" in chart.group(0) and ">~400</tspan>" in chart.group(0)


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
    chart = html[html.index("<svg role") : html.index("</svg>", html.index("<svg role"))]
    assert chart.count("<rect") == 1 and chart.count("<circle") == 1 and ">dozens (no number)</tspan>" in chart
    assert ">12–20</tspan>" in chart and ">≤ 5</tspan>" in chart
    legend = html[html.index('<div class="legend"') : html.index("</div>", html.index('<div class="legend"'))]
    assert "a range" in legend and "open-ended" in legend and "one number" in legend and "derived" not in legend, "the legend lists the markers drawn"
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
    assert "✗ FAILED every number traces to a cited figure: 1 of 23 numbers untraceable" in " ".join(panel.split())
    assert "'1,000' is in no cited figure" in panel and panel.count("✓ passed") == len(checks) - 1
    assert 'class="alert" role="status"' in html and "Checks failed: every number traces to a cited figure." in html
    assert "numbers_traceable" not in panel and "numbers_traceable" not in page.text_by_id["content"]
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


def test_single_value_scopes_get_a_table_but_no_chart_and_the_page_one_legend(briefing: Briefing) -> None:
    html = briefing_html(briefing)
    figures = html[html.index('<section id="figures"') : html.index('<section id="key-points"')]
    scopes = re.split(r"<h3>", figures)[1:]
    assert len(scopes) == len(briefing.reconciled.comparisons) == 6
    drawn = [("<svg role" in scope, scope.count("<table>")) for scope in scopes]
    assert drawn == [(True, 1), (False, 1), (False, 1), (False, 1), (True, 1), (False, 1)], "SOHR's lone HTS, SNA, army and SANA's lone civilian count"
    assert html.count('class="legend"') == 1 and "<figcaption" not in html and figures.index('class="legend"') < figures.index("<svg role")
    legend = figures[figures.index('class="legend"') : figures.index("</div>")]
    assert "one number" in legend and "open-ended" in legend and "derived by summing parts" in legend and "a range" not in legend


def test_tables_scroll_in_their_own_named_box(briefing: Briefing, extraction: ExtractionOutput) -> None:
    for html in (briefing_html(briefing), reports_html(extraction)):
        page = Page(html)
        wraps = [a for t, a in page.tags if t == "div" and a.get("class") == "table-wrap"]
        assert len(wraps) == html.count("<table>") > 0 and html.count('<div class="table-wrap"') == html.count("<table>")
        assert all(w["role"] == "region" and w["tabindex"] == "0" for w in wraps), "a keyboard can scroll a table too wide for the screen"
        names = [w["aria-label"] for w in wraps]
        assert all(names) and len(set(names)) == len(names), "each scrolling region has a name of its own"
    assert re.search(r"\.table-wrap \{[^}]*overflow-x: auto", CSS) and re.search(r"figure\.chart svg \{[^}]*max-width: 100%", CSS)


def test_checks_are_named_in_words_on_both_pages(briefing: Briefing, extraction: ExtractionOutput) -> None:
    assert set(GATES) <= _CHECK_WORDS.keys(), "every gate has words"
    shown_as = re.compile(r'<strong title="([a-z_]+)">([^<]+)</strong>')
    new = CheckResult(name="some_new_check", passed=True, detail="fine", failures=[])
    pages = [(briefing_html(briefing.model_copy(update={"checks": [*briefing.checks, new]})), [*briefing.checks, new])]
    pages.append((reports_html(extraction), [c for r in extraction.reports for c in r.checks]))
    for html, checks in pages:
        shown = shown_as.findall(html)
        assert [name for name, _ in shown] == [c.name for c in checks]
        assert all(" " in words and "_" not in words for _, words in shown), shown
        assert not [c.name for c in checks if c.name in Page(html).text_by_id["content"]], "identifiers only in a tooltip, not in the text"
    words = dict(shown_as.findall(pages[0][0]))
    assert words["citations_exist"] == "every sentence cites a source" and words["some_new_check"] == "some new check"
    assert dict(shown_as.findall(pages[1][0]))["quotes_grounded"] == "every quote is found in the article"


def test_source_list_counts_in_the_singular_for_one(briefing: Briefing) -> None:
    one = briefing.sources[0].model_copy(update={"claims": 1, "figures": 1})
    text = Page(briefing_html(briefing.model_copy(update={"sources": [one, *briefing.sources[1:]]}))).text_by_id["sources"]
    assert "; 1 claim, 1 figure)" in text and "1 figures" not in text and "1 claims" not in text
    assert f"; {briefing.sources[1].claims} claims, {briefing.sources[1].figures} figures)" in text


# --- every bundled briefing, worded as the Markdown words it ----------------------------------------------

STORIES = ("aleppo", "floods", "multilingual", "web", "quake-flood", "clinic-blast", "ridge-offensive")
PLURALS = ("sources", "claims", "figures", "claimants", "items", "answers", "requests", "tokens")


@functools.cache
def _story(story: str) -> Briefing:
    b, out = brief_files([str(EXAMPLES / story)], load_settings({"replay": str(CASSETTES / f"{story}-brief.yaml")}, env={}))
    assert b is not None and not out.failed
    return b


@pytest.mark.parametrize("story", STORIES)
def test_bundled_briefing_counts_in_number_and_cites_one_way(story: str) -> None:
    b = _story(story)
    text = Page(briefing_html(b)).text_by_id["content"]
    assert "(s)" not in text
    assert not re.findall(rf"(?<![\d.,])1 (?:independent )?(?:{'|'.join(PLURALS)})\b", text)
    raw = "|".join(re.escape(s.id) for s in b.sources)
    assert not re.findall(rf"(?<![\w:-])(?:{raw}):[a-z]+\d+\b", text), "claim ids are shown as [S2: f1], never as source-id:f1"
    assert not re.findall(r"\bS\d+ [a-z]+\d+\b", text), "ids are grouped as [S2: f1], not listed as 'S2 f1'"


@pytest.mark.parametrize("story", STORIES)
def test_bundled_briefing_glosses_the_terms_the_markdown_glosses(story: str) -> None:
    b = _story(story)
    html = briefing_html(b)
    glosses = re.findall(r"\(English: ([^()]+)\)", briefing_markdown(b))
    if story == "multilingual":
        assert glosses, "the Arabic and French sources quote loaded terms the Markdown glosses"
    for gloss in set(glosses):
        assert f'<small class="gloss" lang="en">(English: {escape(gloss.replace(chr(92), ""))})</small>' in html


def test_terminology_names_who_relayed_the_term_and_designations(briefing: Briefing) -> None:
    refs = {s.id: f"S{i}" for i, s in enumerate(briefing.sources, 1)}
    sid = briefing.sources[0].id
    notes = [
        TerminologyNote(term="martyrs", used_by="a speaker", source_ids=[sid], claim_ids=[f"{sid}:c1"], neutral_rendering="killed", reported_by=["Wire A"]),
        TerminologyNote(term="terrorist group", used_by="Ministry X", source_ids=[sid], claim_ids=[], neutral_rendering=DESIGNATION_RENDERING),
    ]
    b = briefing.model_copy(update={"reconciled": briefing.reconciled.model_copy(update={"terminology": notes}), "glosses": {"martyrs": "people killed"}})
    text = Page(briefing_html(b)).text_by_id["terminology"]
    assert f"“martyrs” (English: people killed) is used by a speaker, according to Wire A [{refs[sid]}: c1]" in text
    assert "“terrorist group” is a designation by Ministry X;" in text
