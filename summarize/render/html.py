"""Render a briefing or extraction output as one self-contained HTML page. Pure functions of the models.

The page loads nothing: CSS and script (``data/report.css``, ``data/report.js``) are inlined, and a
Content-Security-Policy allows only those two blocks, by hash, so the page works offline and an
injected tag could neither run nor fetch. Article text and model output are untrusted: every string
is escaped, and only http(s) URLs become links.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Sequence
from functools import cache
from html import escape
from pathlib import Path

from summarize.models.briefing import Briefing, FigureComparison, Sentence, TerminologyNote
from summarize.models.report import CheckResult, Evidence, ExtractionOutput, Provenance, Source, SourceReport
from summarize.reconcile.common import DESIGNATION_RENDERING, and_list
from summarize.render.briefing_md import glossed, shown_ids
from summarize.render.chart import chart_svg, legend_html
from summarize.render.marks import marked_text
from summarize.render.reports import cost_text, entry_flags, figure_scope, figure_value, format_value
from summarize.words import counted

_DATA = Path(__file__).resolve().parents[1] / "data"
# what each check verifies, in words a reader of the report knows; a check not listed shows its name with spaces
_CHECK_WORDS = {
    "citations_exist": "every sentence cites a source",
    "numbers_traceable": "every number traces to a cited figure",
    "quotes_in_sources": "every quotation is in a cited source",
    "loaded_terms_attributed": "loaded terms appear only in attributed quotes",
    "contested_figures_attributed": "contested figures say who gives them",
    "sources_cited": "every source is cited",
    "attribution_verbs_neutral": "every party gets the same neutral verbs",
    "sentences_removed": "every sentence passed the checks",
    "evidence_in_sources": "every quote matches its source text",
    "reconciliation_reproduced": "the tables re-derive from the sources",
    "quotes_grounded": "every quote is found in the article",
    "figure_numbers_in_quotes": "every figure's number is in its quote",
    "items_consistent": "events, places and actors match the article",
    "reask_budget": "the model's answer passed within its re-asks",
    "no_injected_text": "nothing quotes text addressed to the model",
}


def _e(text: object) -> str:
    return escape("" if text is None else str(text), quote=True)


def _safe_url(url: str | None) -> str | None:
    # header fields are untrusted: javascript:, data: or file: URLs must never become links
    return url if url and re.fullmatch(r"https?://[^\s<>\"'`]+", url, re.IGNORECASE) else None


def _ul(items: Iterable[str], cls: str = "") -> str:
    return (f'<ul class="{cls}">' if cls else "<ul>") + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], caption: str, name: str) -> str:
    head = "".join(f'<th scope="col">{_e(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    # too wide for a phone, the table scrolls in its own box (focusable, so a keyboard can scroll it) and the page does not
    table = f"<table>{f'<caption>{_e(caption)}</caption>' if caption else ''}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="table-wrap" role="region" tabindex="0" aria-label="{_e(name)}">{table}</div>'


def _check_words(name: str) -> str:
    """What a check verifies, in words."""
    return _CHECK_WORDS.get(name, name.replace("_", " "))


def _section(sid: str, title: str, html: str) -> str:
    return f'<section id="{sid}" aria-labelledby="{sid}-h"><h2 id="{sid}-h">{_e(title)}</h2>\n{html}</section>'


def _meta(*parts: str | None) -> str:
    return " · ".join(p for p in parts if p and p != "unknown")


@cache
def _asset(name: str) -> tuple[str, str]:
    """A bundled file's text and its CSP source expression (the page allows exactly these blocks)."""
    text = (_DATA / name).read_text(encoding="utf-8")
    return text, "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


class _Anchors:
    """Claim ids, the evidence span each one cites, and the unique HTML id of that span."""

    def __init__(self, reports: Sequence[SourceReport], refs: dict[str, str], wanted: set[str] | None = None) -> None:
        self.refs = refs
        self.outlets = {r.source.id: r.source.outlet or r.source.id for r in reports}
        self.evidence: dict[str, Evidence] = {}
        self.html_id: dict[str, str] = {}
        self._taken: set[str] = set()
        lengths = {r.source.id: len(r.source.text) for r in reports}
        for r in reports:
            items = [(f.id, f.evidence) for f in r.figures] + [(c.id, c.evidence) for c in r.claims]
            for event in r.events:
                items += [(_event_key(event.id, i), ev) for i, ev in enumerate(event.evidence)]
            for cid, ev in items:
                # a hand-edited briefing may carry offsets outside its text: such a citation shows as not found
                valid = ev.source_id in lengths and 0 <= ev.start <= ev.end <= lengths[ev.source_id]
                if valid and (wanted is None or cid in wanted) and cid not in self.evidence:
                    self.evidence[cid] = ev
                    self.html_id[cid] = self.unique("ev-" + cid)

    def unique(self, base: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_-]+", "-", base).strip("-") or "x"
        hid, n = base, 1
        while hid in self._taken:
            n += 1
            hid = f"{base}-{n}"
        self._taken.add(hid)
        return hid

    def ref(self, sid: str) -> str:
        return self.refs.get(sid, sid)

    def link(self, cid: str, *, with_ref: bool = False) -> str:
        sid, _, local = cid.partition(":")
        local = local or cid
        shown = f"{self.ref(sid)} {local}" if with_ref else local
        hid = self.html_id.get(cid)
        if hid is None:
            return f'<span class="cite-missing">{_e(shown)} (not found)</span>'
        label, quote = f"{self.ref(sid)} {local}, {self.outlets.get(sid, sid)}", self.evidence[cid].quote
        return f'<a class="cite" href="#{hid}" aria-label="{_e(label)}" title="{_e(quote[:240])}">{_e(shown)}</a>'

    def cites(self, ids: Iterable[str]) -> str:
        groups: dict[str, list[str]] = {}
        for cid in ids:
            groups.setdefault(cid.partition(":")[0], []).append(cid)
        order = sorted(groups, key=lambda s: (s not in self.refs, int(self.refs.get(s, "S0")[1:]), s))
        parts = (f'<span class="cite-group">[{_e(self.ref(sid))}: ' + ", ".join(self.link(cid) for cid in groups[sid]) + "]</span>" for sid in order)
        return f' <span class="cites">{" ".join(parts)}</span>' if groups else ""


def _event_key(event_id: str, i: int) -> str:
    # an event may rest on several passages; citations of the event go to the first
    return event_id if i == 0 else f"{event_id}.{i + 1}"


def _pane(src: Source, a: _Anchors) -> str:
    mine = [(cid, ev) for cid, ev in a.evidence.items() if ev.source_id == src.id]
    spans = [(ev.start, ev.end, a.html_id[cid]) for cid, ev in mine]
    titles = {a.html_id[cid]: f"{a.ref(src.id)} {cid.partition(':')[2] or cid}" for cid, _ in mine}
    hid, url = a.unique("src-" + src.id), _safe_url(src.url)
    meta = _e(_meta(src.outlet_type, src.affiliation, f"published {src.published}" if src.published else "no publication date"))
    link = f' · <a href="{_e(url)}">original article</a>' if url else ""
    lang = f' lang="{_e(src.language)}"' if src.language else ""
    heading = f"[{_e(a.ref(src.id))}] {_e(src.outlet or src.id)}: {_e(src.title or src.id)}"
    return (
        f'<section class="source" id="{hid}" aria-labelledby="{hid}-h"><h3 id="{hid}-h">{heading}</h3><p class="meta">{meta}{link}</p>'
        f'<div class="text"{lang} dir="auto">{marked_text(src.text, spans, titles)}</div></section>'
    )


def _document(title: str, main: str, sources: Iterable[Source], a: _Anchors, what: str, lang: str) -> str:
    (css, css_hash), (js, js_hash) = _asset("report.css"), _asset("report.js")
    csp = f"default-src 'none'; style-src {css_hash}; script-src {js_hash}; base-uri 'none'; form-action 'none'"
    panes = "\n".join(_pane(s, a) for s in sources)
    intro = f"Highlighted: {what}. A citation link jumps to its passage here; Back returns to it."
    return (
        f'<!DOCTYPE html>\n<html lang="{_e(lang)}">\n<head>\n<meta charset="utf-8">\n<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{_e(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n'
        '<a class="skip" href="#sources-pane">Skip to the source texts</a>\n<div class="page">\n'
        f'<main id="content">\n{main}\n</main>\n<aside id="sources-pane" aria-labelledby="sources-pane-h">\n<h2 id="sources-pane-h">Source texts</h2>\n'
        f'<p class="meta">{_e(intro)}</p>\n{panes}\n</aside>\n</div>\n<script>{js}</script>\n</body>\n</html>\n'
    )


def _checks(checks: Sequence[CheckResult], refs: dict[str, str] | None = None) -> str:
    refs = refs or {}
    items = []
    for c in checks:
        badge = '<span class="badge">✓ passed</span>' if c.passed else '<span class="badge">✗ FAILED</span>'
        failures = _ul(_e(shown_ids(f, refs)) for f in c.failures) if c.failures else ""
        name = f'<strong title="{_e(c.name)}">{_e(_check_words(c.name))}</strong>'
        items.append(f'<li class="{"pass" if c.passed else "fail"}" data-check="{_e(c.name)}">{badge} {name}: {_e(shown_ids(c.detail, refs))}{failures}</li>')
    return '<ul class="checks">' + "".join(items) + "</ul>"


def _provenance(p: Provenance) -> str:
    u = p.usage
    cost = cost_text(u)
    calls = f"{counted(u.completion_tokens, 'completion token')}, {counted(u.attempts, 'answer')}, {counted(u.requests, 'request')}"
    usage = f"{u.prompt_tokens} prompt + {calls}; cost {cost}"
    prompts = ", ".join(f"{r.name} v{r.version} ({r.sha256[:12]})" for r in p.prompts)
    run = f"model {p.model} via {p.endpoint} ({p.mode}); schema {p.schema_version}; summarize {p.tool_version}; created {p.created_at}"
    return _ul(_e(x) for x in (run, f"prompts: {prompts}", f"usage over all calls and attempts: {usage}"))


# --- briefing -------------------------------------------------------------------------------------


def _cited_ids(b: Briefing) -> set[str]:
    rec = b.reconciled
    ids = {cid for s in b.sentences() for cid in s.claim_ids} | {cid for r in b.removed for cid in r.claim_ids}
    ids |= {fid for c in rec.comparisons for e in c.entries for fid in e.figure_ids + e.derived_from}
    ids |= {cid for d in rec.disagreements for p in d.positions for cid in p.claim_ids}
    ids |= {cid for p in rec.consensus for cid in p.claim_ids} | {cid for t in rec.terminology for cid in t.claim_ids}
    ids |= {fid for nc in rec.not_comparable for fid in nc.figure_ids}
    return ids | {fid for s in rec.sum_checks for fid in [s.total_figure_id, *s.part_figure_ids]}


def _glossed(text: str, glosses: dict[str, str]) -> str:
    """``text`` escaped, with the Markdown's gloss after each quoted non-English loaded term, set in a small span."""
    if not glosses:
        return _e(text)
    # glossed() places the glosses; stand-ins mark them so that only those become spans, whatever the text holds
    terms = list(glosses)
    shown = _e(glossed(text, {t: f"\x00{i}\x00" for i, t in enumerate(terms)}))

    def span(m: re.Match[str]) -> str:
        words = "; ".join(dict.fromkeys(glosses[terms[int(i)]] for i in re.findall(r"\x00(\d+)\x00", m.group(1))))
        return f' <small class="gloss" lang="en">(English: {_e(words)})</small>'

    return re.sub(r" \(English: ((?:\x00\d+\x00(?:; )?)+)\)", span, shown)


def _sentence(s: Sentence, a: _Anchors, glosses: dict[str, str] | None = None) -> str:
    text = _glossed(s.text, glosses or {})
    if s.status != "marked":
        return text + a.cites(s.claim_ids)
    problems = f' <span class="problems">({_e("; ".join(s.problems))})</span>' if s.problems else ""
    return f'<span class="flag">⚠ failed a check:</span> {text}{a.cites(s.claim_ids)}{problems}'


def _term(t: TerminologyNote, a: _Anchors, glosses: dict[str, str]) -> str:
    gloss = f' <small class="gloss" lang="en">(English: {_e(glosses[t.term])})</small>' if t.term in glosses else ""
    via = f", according to {_e(and_list(t.reported_by))}" if t.reported_by else ""
    kind = "is a designation by" if t.neutral_rendering == DESIGNATION_RENDERING else "is used by"
    return f"“{_e(t.term)}”{gloss} {kind} {_e(t.used_by)}{via}{a.cites(t.claim_ids)}; neutral rendering: {_e(t.neutral_rendering)}"


def _comparison(c: FigureComparison, n: int, a: _Anchors) -> str:
    status = "disagreement" if c.disagreement else "agreement" if c.comparable else "single claimant, nothing to compare"
    status = "one claimant, which revised its figure" if not c.comparable and len(c.entries) > 1 else status
    if not c.disagreement and any(e.earlier for e in c.entries):
        status = "later figures supersede earlier counts of a rising toll"
    elif not c.disagreement and any(e.superseded for e in c.entries):
        status = "one claimant, which updated its figure"
    rows = []
    for e in c.entries:
        # "≥ 153" must not break after its sign in a narrow column
        value = format_value(e.value, e.low, e.high, e.qualifier, e.vague_word).replace(" ", "\u00a0")
        value += "".join(f" ({flag})" for flag in entry_flags(e))
        carried = ", ".join(f"{a.outlets.get(s, s)} [{a.ref(s)}]" for s in e.source_ids)
        rows.append([_e(e.claimant), _e(value), _e(e.time_window or "not stated"), _e(carried), a.cites(e.derived_from or e.figure_ids).strip()])
    html = [f"<h3>{_e(c.label)}</h3>", f'<p class="note">{counted(c.claimants, "independent claimant")}; {status}.</p>', chart_svg(c, n)]
    html.append(_table(["claimant", "value", "time window", "carried by", "figures"], rows, "Details per claimant", f"Details per claimant: {c.label}"))
    if c.derived and sum(1 for e in c.entries if not e.derived and e.current) >= 2:
        d = c.derived
        derived = f"Derived, not a verdict: ACLED-style conservative {d.acled_conservative}; UCDP-style low {d.ucdp_low}, high {d.ucdp_high}. {d.rule_text}"
        html.append(f'<p class="note">{_e(derived)}</p>')
    if c.notes:
        html.append(_ul(_e(x) for x in c.notes))
    return "\n".join(html)


def _briefing_sections(b: Briefing, a: _Anchors) -> list[tuple[str, str, str]]:
    rec = b.reconciled
    gl = b.glosses
    out: list[tuple[str, str, str]] = []

    def add(sid: str, title: str, items: list[str]) -> None:
        if items:
            out.append((sid, title, _ul(items)))

    if rec.comparisons:
        intro = '<p class="note">Figures are compared only within one scope (what is counted, whose dead, which side).</p>' + legend_html(rec.comparisons)
        out.append(("figures", "Figures by scope", intro + "\n".join(_comparison(c, n, a) for n, c in enumerate(rec.comparisons, 1))))
    add("key-points", "Key points", [_sentence(s, a, gl) for s in b.key_points])
    if rec.disagreements:
        parts = []
        for d in rec.disagreements:
            cards = "".join(f'<div class="position"><h4>{_e(p.claimant)}</h4><p>{_e(p.statement)}</p><p>{a.cites(p.claim_ids)}</p></div>' for p in d.positions)
            parts.append(f'<h3>{_e(d.topic)} ({_e(d.kind)}, {_e(d.status)})</h3><div class="positions">{cards}</div>')
            parts.append(_ul(f"Possible explanation: {_e(x)}" for x in d.possible_explanations) if d.possible_explanations else "")
        out.append(("disagreements", "Disagreements", "\n".join(parts)))
    add(
        "not-comparable",
        "Not comparable",
        [f"{_e(', '.join(n.claimants))}: {_e(n.reason)}{a.cites(n.figure_ids)}" for n in rec.not_comparable],
    )
    add(
        "consistency",
        "Internal consistency",
        [f"{'✓ consistent' if s.consistent else '✗ INCONSISTENT'}: {_e(s.claimant)}: {_e(s.note)}" for s in rec.sum_checks],
    )
    claimants = [
        f" — {counted(p.n_independent_claimants, 'independent claimant')} ({_e(', '.join(p.claimants))}), carried by {counted(len(p.source_ids), 'source')}"
        for p in rec.consensus
    ]
    add("consensus", "Consensus", [f"{_e(p.text)}{who}{a.cites(p.claim_ids)}" for p, who in zip(rec.consensus, claimants, strict=True)])
    add("timeline", "Timeline", [f"<strong>{_e(s.when)}</strong>: {_sentence(s, a, gl)}" for s in b.timeline])
    add("context", "Context", [_sentence(s, a, gl) for s in b.context])
    add("terminology", "Terminology", [_term(t, a, gl) for t in rec.terminology])
    add("gaps", "Gaps: what no source establishes", [_e(f"{g.question} {g.why_unknown}".strip()) for g in rec.gaps])
    out.append(("checks", "Checks", _checks(b.checks, a.refs)))
    if b.removed:
        items = (f"<s>{_e(r.text)}</s>{a.cites(r.claim_ids)} — {_e(shown_ids('; '.join(r.problems), a.refs))}" for r in b.removed)
        out.append(("removed", "Removed sentences (failed the checks; not part of the briefing)", _ul(items, "removed")))
    sources = []
    for src in b.sources:
        url = _safe_url(src.url)
        meta = _meta(src.outlet_type, src.affiliation, str(src.published) if src.published else "no publication date").replace(" · ", ", ")
        title = f'<a href="{_e(url)}">{_e(src.title or src.id)}</a>' if url else _e(src.title or src.id)
        cited = "" if src.cited else ' — <strong class="flag">not cited in the text</strong>'
        counts = f"{counted(src.claims, 'claim')}, {counted(src.figures, 'figure')}"
        sources.append(f"[{_e(a.ref(src.id))}] <strong>{_e(src.outlet or src.id)}</strong>: {title} ({_e(meta)}; {counts}){cited}")
    add("sources", "Sources", sources)
    out.append(("provenance", "Provenance", _provenance(b.provenance)))
    return out


def briefing_html(b: Briefing, *, lang: str = "en") -> str:
    """The briefing on the left, its sources' texts on the right with every cited passage highlighted."""
    refs = {s.id: f"S{i}" for i, s in enumerate(b.sources, 1)}
    a = _Anchors(b.reports, refs, wanted=_cited_ids(b))
    dates = sorted(s.published.isoformat() for s in b.sources if s.published)
    span = f", published {dates[0]} to {dates[-1]}" if dates else ""
    head = [f"<header><h1>{_sentence(b.headline, a, b.glosses) if b.headline else '(headline withheld: it failed the checks)'}</h1>"]
    head.append(
        f'<p class="meta">Briefing from {counted(len(b.sources), "source")}{span}. Every sentence cites the claims it rests on; '
        "[S2: f1] is figure f1 of source S2 and links to its passage in the source text.</p></header>"
    )
    if not b.verified:
        failed = _e("; ".join(_check_words(c.name) for c in b.checks if not c.passed))
        head.append(
            f'<p class="alert" role="status"><strong>✗ Checks failed: {failed}.</strong> Failing sentences were removed; see <a href="#checks">Checks</a>.</p>'
        )
    sections = _briefing_sections(b, a)
    nav = "".join(f'<li><a href="#{sid}">{_e(re.split(r"[(:]", title)[0].strip())}</a></li>' for sid, title, _ in sections)
    head.append(f'<nav aria-label="Sections"><ul><li><a href="#sources-pane">Source texts</a></li>{nav}</ul></nav>')
    head.append('<section class="lead" id="lead" aria-label="Lead">' + "".join(f"<p>{_sentence(s, a, b.glosses)}</p>" for s in b.lead) + "</section>")
    main = "\n".join(head + [_section(*s) for s in sections])
    by_id = {r.source.id: r.source for r in b.reports}
    panes = [by_id[s.id] for s in b.sources if s.id in by_id] + [r.source for r in b.reports if r.source.id not in refs]
    return _document(b.headline.text if b.headline else "Briefing", main, panes, a, "every passage the briefing cites", lang)


# --- extraction output ------------------------------------------------------------------------------


def _report(r: SourceReport, hid: str, a: _Anchors) -> str:
    s, url = r.source, _safe_url(r.source.url)
    meta = _meta(s.id, s.outlet, s.outlet_type, f"published {s.published}" if s.published else "no publication date", f"sha256 {s.sha256[:16]}…")
    link = f' · <a href="{_e(url)}">original article</a>' if url else ""
    html = [
        f'<section id="{hid}" aria-labelledby="{hid}-h"><h2 id="{hid}-h">[{_e(a.ref(s.id))}] {_e(s.title or s.id)}</h2>',
        f'<p class="meta">{_e(meta)}{link}</p>',
    ]
    if r.figures:
        rows = ([a.link(f.id), _e(figure_value(f).replace(" ", "\u00a0")), _e(figure_scope(f)), _e(f.attributed_to), _e(f.reported_by)] for f in r.figures)
        html.append("<h3>Figures</h3>" + _table(["id", "value", "scope", "said by", "reported by"], rows, "", f"Figures of {s.outlet or s.id}"))
    if r.events:
        items = []
        for e in r.events:
            links = ", ".join(a.link(_event_key(e.id, i)) for i in range(len(e.evidence))) or _e(e.id)
            when = f"“{e.date_as_written}” (unresolved)" if e.date_as_written else "date not stated"
            if e.date_start:
                when = f"{e.date_start}" + (f" – {e.date_end}" if e.date_end and e.date_end != e.date_start else "")
            facts = [f"{e.event_type} / {e.sub_event_type}", when, "; ".join(x.name for x in e.locations), e.status]
            items.append(f"{links}: {_e('; '.join(x for x in facts if x))}. {_e(e.summary)}")
        html.append("<h3>Events</h3>" + _ul(items))
    if r.claims:
        terms = {c.id: f" (loaded terms: {', '.join(c.loaded_terms)})" if c.loaded_terms else "" for c in r.claims}
        html.append("<h3>Claims</h3>" + _ul(f"{a.link(c.id)}: {_e(c.text)}{_e(terms[c.id])}" for c in r.claims))
    if r.actors:
        html.append("<h3>Actors</h3>" + _ul(f"{_e(x.name)} → {_e(x.canonical_name)} ({_e(x.actor_type)})" for x in r.actors))
    html.append("<h3>Checks</h3>" + _checks(r.checks))
    if r.dropped:
        html.append("<h3>Dropped (not verified, not shown above)</h3>" + _ul(f"{_e(d.kind)}: {_e(d.reason)}" for d in r.dropped))
    html.append("<h3>Provenance</h3>" + _provenance(r.provenance) + "</section>")
    return "\n".join(html)


def reports_html(out: ExtractionOutput, *, lang: str = "en") -> str:
    """Each source report beside its source text, with every grounded quote highlighted."""
    refs = {r.source.id: f"S{i}" for i, r in enumerate(out.reports, 1)}
    a = _Anchors(out.reports, refs)
    n = counted(len(out.reports), "source")
    head = [f'<header><h1>Source reports</h1><p class="meta">{n}. Each id links to its quote in the source text.</p></header>']
    partial = [r.source.id for r in out.reports if not r.verified]
    if partial or out.failed:
        which = _e(", ".join(partial) or "none of the reports")
        head.append(f'<p class="alert" role="status"><strong>✗ Verification was partial</strong> for {which}; {counted(len(out.failed), "item")} failed.</p>')
    hids = [a.unique("report-" + r.source.id) for r in out.reports]
    nav = "".join(f'<li><a href="#{h}">[{_e(refs[r.source.id])}] {_e(r.source.outlet or r.source.id)}</a></li>' for r, h in zip(out.reports, hids, strict=True))
    head.append(f'<nav aria-label="Reports"><ul><li><a href="#sources-pane">Source texts</a></li>{nav}</ul></nav>')
    body = [_report(r, h, a) for r, h in zip(out.reports, hids, strict=True)]
    if out.failed:
        body.append(_section("failed", "Failed items", _ul(f"{_e(f.item)} ({_e(f.stage)}, {_e(f.error)}): {_e(f.message)}" for f in out.failed)))
    main = "\n".join(head + body)
    return _document("Source reports", main, [r.source for r in out.reports], a, "every quote the reports rest on", lang)
