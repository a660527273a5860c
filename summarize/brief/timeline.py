"""The timeline an editor expects: every dated incident the event records support, in date order.

The model writes timeline entries from the claims it is given, and may leave dated events out.
Code adds one entry per incident with a dated event that no entry cites, written from the event
record's own summary and dates, and kept only when it passes the same gates as the model's
sentences. The entries are then ordered by date.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from summarize.gate.gates import ClaimIndex, run_gates
from summarize.gate.lexicon import Lexicon
from summarize.ground.numbers import numbers_in
from summarize.models.briefing import BriefDraft, Reconciled, Sentence, SentenceDraft, TimelineDraft
from summarize.models.report import EventRecord

_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
# Precisions finer than a month are written as days, a month as the month, a year as the year: no day or month is invented.
_DAY_PRECISE = frozenset({"day", "2-6_days", "week"})
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")


def _day(d: dt.date, coarsest: str) -> str:
    if coarsest == "day":
        return d.isoformat()
    return f"{_MONTHS[d.month - 1]} {d.year}" if coarsest == "month" else str(d.year)


def _when(events: Sequence[EventRecord]) -> str:
    start = min(e.date_start for e in events if e.date_start)
    end = max((e.date_end or e.date_start) for e in events if e.date_start)
    precisions = {"day" if e.date_precision in _DAY_PRECISE else e.date_precision for e in events}
    coarsest = "year" if precisions - {"day", "month"} else "month" if "month" in precisions else "day"
    first, last = _day(start, coarsest), _day(end, coarsest)
    return first if first == last else f"{first} to {last}"


_QUOTE_MARKS = str.maketrans("", "", '"“”«»')


def _variants(dated: Sequence[EventRecord], index: ClaimIndex) -> list[TimelineDraft]:
    """The entries that could stand for one incident, best first: each source's account of it, then each without quotation marks."""
    when, ids = _when(dated), sorted(e.id for e in dated)
    drafts = []
    for event in sorted(dated, key=lambda e: (e.date_start, index.source_of.get(e.id, ""), e.id)):
        stated = numbers_in(event.summary)
        # cite the event's figures whose numbers its summary states, so those numbers trace
        figures = [f for f in event.figure_ids if (fig := index.figures.get(f)) and {fig.value, fig.low, fig.high} & stated]
        drafts.append(TimelineDraft(when=when, text=" ".join(event.summary.split()), claim_ids=[*ids, *figures]))
    # a quotation the event's own passage does not hold fails the quote check; the words unquoted may pass
    drafts += [d.model_copy(update={"text": d.text.translate(_QUOTE_MARKS)}) for d in drafts if d.text.translate(_QUOTE_MARKS) != d.text]
    return drafts


def _candidates(entries: Sequence[Sentence], rec: Reconciled, index: ClaimIndex) -> list[list[TimelineDraft]]:
    """Per dated incident no entry cites, the entries that could stand for it."""
    cited = {i for s in entries for i in s.claim_ids}
    out = []
    for incident in rec.incidents:
        dated = [index.events[e] for e in incident.event_ids if e in index.events and index.events[e].date_start and index.events[e].status != "denied"]
        if dated and not cited.intersection(incident.event_ids):
            out.append(_variants(dated, index))
    return out


def _date_of(s: Sentence, index: ClaimIndex) -> dt.date | None:
    if s.when and (m := _ISO.search(s.when)):
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            pass
    starts = [e.date_start for i in s.claim_ids if (e := index.events.get(i)) and e.date_start]
    return min(starts) if starts else None


def _passing(options: Sequence[TimelineDraft], index: ClaimIndex, lexicon: Lexicon) -> TimelineDraft | None:
    empty = SentenceDraft(text="", claim_ids=[])
    problems = run_gates(BriefDraft(headline=empty, lead=[], key_points=[], timeline=list(options), context=[]), index, lexicon).sentence_problems
    return next((t for n, t in enumerate(options) if not problems.get(("timeline", n))), None)


def complete_timeline(entries: Sequence[Sentence], rec: Reconciled, index: ClaimIndex, lexicon: Lexicon) -> list[Sentence]:
    """The model's timeline entries plus an entry for each dated incident they leave out, in date order.

    An added entry is the first account of the incident that passes every gate; an incident none
    of whose accounts passes is left out rather than shown unchecked."""
    chosen = [t for options in _candidates(entries, rec, index) if (t := _passing(options, index, lexicon))]
    added = [
        Sentence(
            section="timeline",
            text=t.text,
            claim_ids=t.claim_ids,
            when=t.when,
            source_ids=sorted({index.source_of[c] for c in t.claim_ids if c in index.source_of}),
            status="verified",
        )
        for t in chosen
    ]
    keyed: list[tuple[dt.date, int, Sentence]] = []
    last = dt.date.min
    for n, s in enumerate([*entries, *added]):
        # an entry with no date of its own stays after the entry it followed
        last = _date_of(s, index) or last
        keyed.append((last, n, s))
    return [s for _, _, s in sorted(keyed, key=lambda k: (k[0], k[1]))]
