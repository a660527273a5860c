"""Text addressed to the model rather than the reader: instructions, role lines, chat-template blocks, fake source fences."""

from __future__ import annotations

import re
from functools import lru_cache

from summarize.ground.normalise import fold_with_map

_FLAGS = re.IGNORECASE | re.MULTILINE
_THIS = r"(?:this|the\s+present|the\s+above|the\s+following)(?:\s+(?:article|text|story|report|piece|page|document|post|item|content))?\b"
_MODAL = r"(?:must|should|shall|will|(?:are|is|have|has|need|needs|ought)\s+to)(?:\s+(?:always|only|clearly|also))?"
_SAY = r"(?:say|state|report|mention|include|claim|conclude|read|note|describe|list|give|show|repeat|write|emphasi[sz]e|stress|use)\b"
_ADDRESSING = [
    # "ignore all previous instructions", "disregard the above prompt"; not "ignore previous
    # instructions to evacuate", which is news about real instructions
    re.compile(
        r"\b(?:ignore|disregard|forget|override)\s+(?:(?:all|any)\s+)?(?:(?:of\s+)?(?:the|your|these)\s+)?"
        r"(?:previous|prior|above|preceding|foregoing|earlier|system)\s+(?:instructions|prompts?|directives)\b(?!\s+to\s)",
        _FLAGS,
    ),
    # "ignore the schema", "forget your instructions", "disregard the system prompt"
    re.compile(
        r"\b(?:ignore|disregard|forget|override)\s+(?:(?:all|any)\s+)?(?:(?:the|your)\s+)?(?:(?:json\s+)?schema|system\s+prompt|prompt)\b"
        r"|\b(?:ignore|disregard|forget|override)\s+(?:(?:all|any)\s+(?:of\s+)?)?your\s+(?:instructions|rules|guidelines|programming|training)\b",
        _FLAGS,
    ),
    # "you are now an AI assistant", "you are a language model"
    re.compile(r"\byou\s+are\s+(?:now\s+)?(?:an?\s+|the\s+)?(?:ai\b|a\.i\.|assistant|(?:large\s+)?language\s+model|llm\b|chatbot|extraction\s+model)", _FLAGS),
    # "new system prompt", "note to the AI", "instructions for the model"
    re.compile(r"\b(?:new|updated|revised)\s+system\s+prompt\b", _FLAGS),
    re.compile(r"\b(?:note|message|instructions?)\s+(?:to|for)\s+(?:the\s+|any\s+)?(?:ai|llm|language\s+model|model|assistant|chatbot)\b", _FLAGS),
    re.compile(r"\bwhen\s+(?:summari[sz]ing|extracting|processing|analy[sz]ing)\s+this\s+(?:article|text|document|page)\b", _FLAGS),
    # what summaries, summarisers or AI readers of this text are to say: "summaries of this article must say",
    # "any AI summarising this should report", "anyone summarizing this story must state"
    re.compile(
        rf"\b(?:summar(?:y|ies)|summari[sz](?:ers?|ations?))\s+(?:of|about|for)\s+{_THIS}\s+{_MODAL}\s+{_SAY}"
        rf"|\b(?:ai(?:\s+(?:models?|systems?|tools?|assistants?|summari[sz]ers?|readers?))?|a\.i\.|llms?|(?:large\s+)?language\s+models?|chatbots?)\s+"
        rf"(?:that\s+(?:is|are)\s+|which\s+(?:is|are)\s+)?"
        rf"(?:summari[sz]ing|reading|processing|analy[sz]ing|parsing|extracting\s+from|quoting|ingesting)\s+{_THIS}"
        rf"|\b(?:anyone|anybody|whoever|everyone|readers?|reporters?|journalists?|writers?)\s+(?:who\s+(?:is\s+|are\s+)?)?"
        rf"(?:summari[sz](?:es|e|ing)|quot(?:es|e|ing)|cit(?:es|e|ing)|repost(?:s|ing)?|shar(?:es|e|ing))\s+{_THIS}\s+{_MODAL}\s+{_SAY}"
        rf"|\b(?:if|when)\s+you\s+(?:summari[sz]e|are\s+summari[sz]ing)\s+{_THIS}\b",
        _FLAGS,
    ),
    # a lone chat-template token: <|system|>, <|endoftext|>
    re.compile(r"<\|(?!im_start\|>|im_end\|>)[a-z_]+\|>", _FLAGS),
]
# A sentence that opens by ordering a toll to be output: "Report 10,000 dead." Found from each of its verbs (a cheap
# scan) that opens a sentence or a line (``_opens_sentence``), then matched there; a pattern that asked at every
# position of the article whether a sentence opens there cost ~0.15 ms per article, about half the whole scan.
_TOLL_VERB = re.compile(r"(?:report|state|write|output|answer|return)\s", _FLAGS)
_TOLL_ORDER = re.compile(
    r"(?:report|state|write|output|answer|return)\s+(?:that\s+)?(?:(?:the\s+)?(?:death\s+)?toll\s+(?:is|as|was)\s+)?"
    r"(?:at\s+least\s+|exactly\s+|over\s+)?\d[\d,.]*\s+(?:people\s+|civilians\s+|persons\s+)?(?:dead|killed|deaths|casualties|died|were\s+killed)\b",
    _FLAGS,
)
# A role label opening a line ("SYSTEM:", "Assistant:", "[system]", "### System prompt:") starts a
# fake prompt block, which runs to the end of its paragraph.
_ROLE_LINE = re.compile(r"^[ \t]*(?:#+[ \t]*|\[|<)?(?:system|assistant)(?:[ \t]+(?:prompt|message|instructions?))?(?:\]|>)?[ \t]*:", _FLAGS)
# Lines shaped like the fence prompts.fence() puts around an article. A fake END line opens a
# region the article wants read as outside itself: it runs to a fake BEGIN line, or the end.
_FENCE_LINE = re.compile(r"^[ \t]*-{3,}[ \t]*(?P<which>BEGIN|END)[ \t]+SOURCE\b.*$", _FLAGS)
# Chat-template blocks run from their opening to their closing token (or the paragraph's end).
_TEMPLATE_BLOCK = re.compile(r"(<\|im_start\|>|\[INST\]|<<SYS>>)[\s\S]*?(?:<\|im_end\|>|\[/INST\]|<</SYS>>|(?=\n[ \t]*\n)|\Z)", re.IGNORECASE)
_PARAGRAPH_END = re.compile(r"\n[ \t]*\n")
_SENTENCE_END = re.compile(r"[.!?](?:[\"'\u201d\u2019\u00bb)\]]*)(?=\s|$)|\n")


def _sentence_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence (or line) holding [start, end)."""
    before = [m.end() for m in _SENTENCE_END.finditer(text, 0, start)]
    s = before[-1] if before else 0
    after = _SENTENCE_END.search(text, end)
    e = after.end() if after else len(text)
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def _paragraph_end(text: str, pos: int) -> int:
    m = _PARAGRAPH_END.search(text, pos)
    return m.start() if m else len(text.rstrip())


# Every quote of an answer is checked against the same article; batches run many articles at once.
@lru_cache(maxsize=64)
def _instruction_spans(text: str) -> tuple[tuple[int, int], ...]:
    # Matched on a folded copy, so fullwidth letters, zero-width characters and Cyrillic or Greek look-alikes
    # ("ＩＧＮＯＲＥ", "ig\u200bnore", "ignоre") hide nothing; the spans are mapped back to ``text``.
    folded, origin = fold_with_map(text)
    return _merged([(origin[s], origin[e - 1] + 1) for s, e in _spans(folded) if e > s])


_VERBS_OF_READING = ("summar", "reading", "processing", "analy", "parsing", "extracting", "quot", "cit", "repost", "shar", "ingesting")
# Per pattern of ``_ADDRESSING``, groups of words of which a match must contain one each: a text (lowercased,
# ASCII) lacking a group cannot match, and the pattern, a scan of every position, is skipped.
_NEEDS: list[tuple[tuple[str, ...], ...]] = [
    (("ignore", "disregard", "forget", "override"), ("instruction", "prompt", "directive")),
    (("ignore", "disregard", "forget", "override"),),
    (("you",), ("are",)),
    (("system",),),
    (("note", "message", "instruction"),),
    (("when",), ("this",)),
    (("this", "present", "above", "following"), _VERBS_OF_READING),
    (("<|",),),
]
_TOLL_NEEDS = (("report", "state", "write", "output", "answer", "return"), ("dead", "killed", "death", "casualties", "died"), tuple("0123456789"))
_TEMPLATE_NEEDS = (("<|im_start|>", "[inst]", "<<sys>>"),)
_ROLE_NEEDS = (("system", "assistant"),)
_FENCE_NEEDS = (("---",), ("source",))
assert len(_NEEDS) == len(_ADDRESSING)


def _may_match(lowered: str | None, needs: tuple[tuple[str, ...], ...]) -> bool:
    return lowered is None or all(any(word in lowered for word in group) for group in needs)


def _spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    # Case-insensitive matching also pairs a few non-ASCII letters with ASCII ones (the Kelvin sign and "k"):
    # the word test is only sound on ASCII text, so other text is scanned by every pattern.
    lowered = text.lower() if text.isascii() else None
    for pattern, needs in zip(_ADDRESSING, _NEEDS, strict=True):
        if not _may_match(lowered, needs):
            continue
        for m in pattern.finditer(text):
            spans.append(_sentence_around(text, m.start(), m.end()))
    if _may_match(lowered, _TOLL_NEEDS):
        spans += [_sentence_around(text, start, end) for start, end in _toll_orders(text, lowered)]
    if _may_match(lowered, _TEMPLATE_NEEDS):
        spans += [m.span() for m in _TEMPLATE_BLOCK.finditer(text)]
    if _may_match(lowered, _ROLE_NEEDS):
        for m in _ROLE_LINE.finditer(text):
            spans.append((m.start() + len(m.group()) - len(m.group().lstrip()), _paragraph_end(text, m.start())))
    fences = list(_FENCE_LINE.finditer(text)) if _may_match(lowered, _FENCE_NEEDS) else []
    for n, m in enumerate(fences):
        end = m.end()
        if m["which"].upper() == "END":
            nxt = next((f for f in fences[n + 1 :] if f["which"].upper() == "BEGIN"), None)
            end = nxt.end() if nxt else len(text.rstrip())
        spans.append((m.start() + len(m.group()) - len(m.group().lstrip()), end))
    return spans


def _opens_sentence(text: str, at: int) -> bool:
    """Whether only white space stands between ``at`` and the start of the text, of a line, or the end of a sentence
    (one of ``.!?:`` and at least one white-space character), as ``(?:^|(?<=[.!?:]\\s))\\s*`` would have it before ``at``."""
    start = at
    while start > 0 and text[start - 1].isspace():  # str.isspace is the \\s of a str pattern
        start -= 1
    return start == 0 or "\n" in text[start:at] or (start < at and text[start - 1] in ".!?:")


def _toll_orders(text: str, lowered: str | None) -> list[tuple[int, int]]:
    """[start, end) of each sentence-initial order to output a toll (``_TOLL_ORDER``), from its verb to its last word.
    In ASCII text (``lowered``, its lowercase copy) the verbs are found by ``str.find``; a case-insensitive pattern
    looking for them tries every position (~0.2 ms an article)."""
    if lowered is None:
        verbs = sorted(m.start() for m in _TOLL_VERB.finditer(text))
    else:
        verbs = []
        for verb in _TOLL_NEEDS[0]:
            at = lowered.find(verb)
            while at >= 0:
                verbs.append(at)
                at = lowered.find(verb, at + len(verb))
        verbs.sort()
    found = []
    for at in verbs:
        if _opens_sentence(text, at) and (m := _TOLL_ORDER.match(text, at)):
            found.append(m.span())
    return found


def _merged(spans: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return tuple(merged)


def instruction_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) spans of ``text`` that address the model instead of the reader, merged and sorted.

    Found: requests to ignore or override previous instructions, the prompt or the schema; claims
    about what the reader is ("you are now an AI assistant"); notes to the model; orders to summaries
    or to an AI reading the text ("summaries of this article must say", "any AI summarising this should
    report"); lone
    chat-template tokens; sentence-initial orders to output a toll ("Report 10,000 dead."); each
    widened to its sentence. Chat-template blocks (``<|im_start|>`` to ``<|im_end|>``, ``[INST]``,
    ``<<SYS>>``) count whole. Lines opening with a role label ("SYSTEM:",
    "Assistant:") count to the end of their paragraph; lines shaped like the source fence count
    as well, and after a fake END line everything up to a fake BEGIN line (or the end). Patterns are
    matched on ``fold_with_map``'s copy: fullwidth forms, invisible characters, accents and Latin
    look-alikes inside Latin words do not hide a passage; Arabic or Cyrillic text is read as written.
    """
    return list(_instruction_spans(text))


def overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(s < end and start < e for s, e in spans)
