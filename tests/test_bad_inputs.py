"""Bad inputs: each kind gives its documented outcome and exit code, and nothing else in the run is lost.

The small files live in tests/fixtures/bad_inputs/; the 50 MB file, the 1 MB line, the symbolic
link loops and the duplicate are made at test time. Each kind is run through ``summarize extract``
on a directory holding the bad file beside a good article, then all of them at once through
``summarize batch``. ``BAD_INPUTS`` is the README's table (``python tests/test_bad_inputs.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import EXAMPLES, ROOT, copying, run, run_json
from scripted_server import ScriptedServer

from summarize.sources.files import DEFAULT_MAX_BYTES

FIXTURES = ROOT / "tests" / "fixtures" / "bad_inputs"
GOOD = EXAMPLES / "floods" / "river-times-day2.txt"
ONE_LINE_BYTES = 1_000_000
HUGE_BYTES = 50_000_000


def make_huge(folder: Path) -> None:
    # Sparse: 50 MB by stat in no time. Read, it would be NUL bytes and refused as "binary";
    # "too_large" with the exact size shows the size was checked before reading.
    with (folder / "huge-50mb.txt").open("wb") as fh:
        fh.truncate(HUGE_BYTES)


def make_one_line(folder: Path) -> None:
    sentences: list[str] = []
    size = 0
    while size < ONE_LINE_BYTES - 200:
        sentences.append(f"Rescue teams in district {len(sentences)} said {len(sentences) % 90 + 3} families had been moved to the school on Thursday. ")
        size += len(sentences[-1])
    (folder / "one-line-1mb.txt").write_text("".join(sentences).rstrip() + "\n", encoding="utf-8")


def make_loops(folder: Path) -> None:
    (folder / "self-loop.txt").symlink_to("self-loop.txt")
    (folder / "ping.txt").symlink_to("pong.txt")
    (folder / "pong.txt").symlink_to("ping.txt")
    (folder / "nested").mkdir()
    (folder / "nested" / "up").symlink_to("..", target_is_directory=True)  # a directory loop: never followed


def make_duplicate(folder: Path) -> None:
    shutil.copyfile(GOOD, folder / "repeat-of-good.txt")


def make_pdf(folder: Path) -> None:
    (folder / "scan.pdf").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")


@dataclass(frozen=True)
class Bad:
    kind: str
    files: tuple[str, ...]  # copied from FIXTURES
    outcome: str  # the README's words
    exit_code: int
    refused: tuple[tuple[str, str], ...] = ()  # (item as named in the error, error kind)
    processed: tuple[str, ...] = ()  # source ids extracted from the bad input
    make: Callable[[Path], None] | None = None
    named: tuple[str, ...] = ()  # passed on the command line as well as the directory


BAD_INPUTS: list[Bad] = [
    Bad("empty file", ("empty.txt",), "refused: `empty`", 2, (("empty.txt", "empty"),)),
    Bad("whitespace only", ("whitespace-only.txt",), "refused: `empty`", 2, (("whitespace-only.txt", "empty"),)),
    Bad("header block, no body", ("header-only.txt",), "refused: `empty`", 2, (("header-only.txt", "empty"),)),
    Bad("binary (NUL bytes)", ("binary.txt",), "refused: `binary`", 2, (("binary.txt", "binary"),)),
    Bad("image renamed .txt", ("png-renamed.txt",), "refused: `binary` (names the format: PNG)", 2, (("png-renamed.txt", "binary"),)),
    Bad("mostly control characters", ("control-characters.txt",), "refused: `binary`", 2, (("control-characters.txt", "binary"),)),
    Bad("truncated UTF-8", ("truncated-utf8.txt",), "read: the cut character is dropped, with a warning", 0, processed=("truncated-utf8",)),
    Bad("UTF-16 without BOM", ("utf16le-no-bom.txt",), "read correctly (byte pattern detected)", 0, processed=("utf16le-no-bom",)),
    Bad("Latin-1", ("latin1.txt",), "read correctly (detected as cp1252), with a warning", 0, processed=("latin1",)),
    Bad("UTF-8 BOM and CRLF", ("windows-bom-crlf.txt",), "read: BOM removed, newlines normalised", 0, processed=("windows-bom-crlf",)),
    Bad("50 MB file", (), "refused: `too_large`, by its size on disk before any byte is read", 2, (("huge-50mb.txt", "too_large"),), make=make_huge),
    Bad("one 1 MB line", (), "read and extracted in chunks (split at sentence ends)", 0, processed=("one-line-1mb",), make=make_one_line),
    Bad("HTML page with no article", ("no-article.html",), "refused: `no_article`", 2, (("no-article.html", "no_article"),)),
    Bad(
        "JSONL with a broken line",
        ("broken-line.jsonl",),
        "the broken line refused: `malformed_json` (names FILE:LINE); the other lines read",
        2,
        (("broken-line.jsonl:2", "malformed_json"),),
        processed=("council-budget", "storm-warning"),
    ),
    Bad("malformed JSON file", ("malformed.json",), "refused: `malformed_json`", 2, (("malformed.json", "malformed_json"),)),
    Bad("JSON record without text", ("no-text-field.json",), "refused: `invalid_record`", 2, (("no-text-field.json", "invalid_record"),)),
    Bad("empty JSON list", ("empty-list.json",), "refused: `empty`", 2, (("empty-list.json", "empty"),)),
    Bad("duplicate article", (), "the second copy refused: `duplicate` (names the first)", 2, (("repeat-of-good.txt", "duplicate"),), make=make_duplicate),
    Bad("only a headline", ("headline-only.txt",), "refused: `headline_only` (the body only repeats the title)", 2, (("headline-only.txt", "headline_only"),)),
    Bad(
        "unexpected language (German)",
        ("other-language.txt",),
        "read and extracted; language recorded only when declared, never guessed",
        0,
        processed=("other-language",),
    ),
    Bad(
        "symbolic link loops",
        (),
        "each looping link refused: `unreadable`; a directory loop is not followed; the walk ends",
        2,
        (("ping.txt", "unreadable"), ("pong.txt", "unreadable"), ("self-loop.txt", "unreadable")),
        make=make_loops,
    ),
    Bad(
        "unsupported type (.pdf)",
        (),
        "skipped inside a directory; named on the command line, refused: `unsupported`",
        2,
        (("scan.pdf", "unsupported"),),
        make=make_pdf,
        named=("scan.pdf",),
    ),
]
MANIFEST_ROW = ("manifest naming missing files (batch)", "each missing file refused: `not_found` (names MANIFEST:LINE)", 2)


def _folder(tmp_path: Path, bad: Bad) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copyfile(GOOD, folder / "good.txt")
    for name in bad.files:
        shutil.copyfile(FIXTURES / name, folder / name)
    if bad.make:
        bad.make(folder)
    return folder


def _name(item: str) -> str:
    return Path(item).name


@pytest.mark.parametrize("bad", BAD_INPUTS, ids=[b.kind for b in BAD_INPUTS])
def test_bad_input(bad: Bad, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _folder(tmp_path, bad)
    started = time.perf_counter()
    with ScriptedServer(copying) as server:
        code, out, err = run_json(["extract", str(folder), *(str(folder / n) for n in bad.named), "--base-url", server.url, "--mode", "tools"], capsys)
    elapsed = time.perf_counter() - started

    assert code == bad.exit_code, err
    reports = {r["source"]["id"]: r for r in out["reports"]}
    assert set(reports) == {"good", *bad.processed}, "the good article and every readable record are extracted"
    assert reports["good"]["checks"] and reports["good"]["figures"]
    refused = {(_name(f["item"]), f["error"]) for f in out["failed"]}
    assert refused == set(bad.refused)
    assert all(f["stage"] == "read" for f in out["failed"]), "a bad input never reaches the model"
    for item, kind in bad.refused:
        line = next(x for x in err.splitlines() if x.startswith("✗") and item in x)
        assert f"read failed ({kind})" in line, "the error line names the file and the reason"
    requests = sum(r["provenance"]["usage"]["requests"] for r in reports.values())
    assert len(server.requests) == requests, "only readable articles are sent"
    CHECKS.get(bad.kind, lambda *_: None)(reports, out, err, elapsed)


def _truncated(reports: dict[str, Any], out: dict[str, Any], err: str, elapsed: float) -> None:
    assert reports["truncated-utf8"]["source"]["text"].endswith("estimated the damage at")
    assert "ends in an incomplete utf-8 character; dropped 1 byte(s)" in err


def _utf16(reports: dict[str, Any], out: dict[str, Any], err: str, elapsed: float) -> None:
    source = reports["utf16le-no-bom"]["source"]
    assert source["title"] == "Ferry service suspended in storm" and "waves of up to 5 metres" in source["text"]


def _latin1(reports: dict[str, Any], out: dict[str, Any], err: str, elapsed: float) -> None:
    assert "ont compté 31 morts" in reports["latin1"]["source"]["text"]
    assert "latin1.txt: not UTF-8; decoded as cp1252" in err


def _bom_crlf(reports: dict[str, Any], out: dict[str, Any], err: str, elapsed: float) -> None:
    source = reports["windows-bom-crlf"]["source"]
    assert source["title"] == "Bridge reopens" and "\r" not in source["text"] and "\ufeff" not in source["text"]


def _huge(reports: dict[str, Any], out: dict[str, Any], err: str, elapsed: float) -> None:
    (failed,) = out["failed"]
    assert f"is {HUGE_BYTES:,} bytes, over the {DEFAULT_MAX_BYTES:,}-byte limit" in failed["message"], "the size on disk, not a read, decided"
    assert elapsed < 5


def _one_line(reports: dict[str, Any], out: dict[str, Any], err: str, elapsed: float) -> None:
    report = reports["one-line-1mb"]
    assert report["chunks"] >= ONE_LINE_BYTES // 12_000 and report["figures"]
    text = report["source"]["text"]
    assert "\n" not in text and len(text) > ONE_LINE_BYTES - 300
    assert all(text[f["evidence"]["start"] : f["evidence"]["end"]] == f["evidence"]["quote"] for f in report["figures"])


def _duplicate(reports: dict[str, Any], out: dict[str, Any], err: str, elapsed: float) -> None:
    assert out["failed"][0]["message"].endswith("good.txt; skipped")


def _german(reports: dict[str, Any], out: dict[str, Any], err: str, elapsed: float) -> None:
    report = reports["other-language"]
    assert report["source"]["language"] is None, "no language is guessed"
    assert any("Arbeiter ums Leben gekommen" in f["evidence"]["quote"] for f in report["figures"])
    assert all(c["passed"] for c in report["checks"])


def _loops(reports: dict[str, Any], out: dict[str, Any], err: str, elapsed: float) -> None:
    assert all("Too many levels of symbolic links" in f["message"] for f in out["failed"])
    assert elapsed < 10


CHECKS: dict[str, Callable[[dict[str, Any], dict[str, Any], str, float], None]] = {
    "truncated UTF-8": _truncated,
    "UTF-16 without BOM": _utf16,
    "Latin-1": _latin1,
    "UTF-8 BOM and CRLF": _bom_crlf,
    "50 MB file": _huge,
    "one 1 MB line": _one_line,
    "duplicate article": _duplicate,
    "unexpected language (German)": _german,
    "symbolic link loops": _loops,
}


def test_a_symlink_loop_named_on_the_command_line_is_unreadable_not_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "loop.txt").symlink_to("loop.txt")
    code, out, err = run_json(["extract", str(tmp_path / "loop.txt"), "--base-url", "http://127.0.0.1:9/v1", "--mode", "tools"], capsys)
    assert code == 2 and [f["error"] for f in out["failed"]] == ["unreadable"]
    assert "symbolic link that loops" in err


def test_batch_over_the_whole_corpus_loses_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copyfile(GOOD, corpus / "good.txt")
    shutil.copyfile(EXAMPLES / "floods" / "valley-courier-day1.txt", corpus / "good-too.txt")
    for path in FIXTURES.iterdir():
        if path.name != "manifest.jsonl":
            shutil.copyfile(path, corpus / path.name)
    for bad in BAD_INPUTS:
        if bad.make:
            bad.make(corpus)
    manifest = tmp_path / "manifest.jsonl"
    lines = (FIXTURES / "manifest.jsonl").read_bytes() + json.dumps({"path": "corpus/good.txt", "story": "brask"}).encode() + b"\n\xff\xfe not UTF-8\n"
    manifest.write_bytes(lines)
    out = tmp_path / "run"
    with ScriptedServer(copying) as server:
        code, _, err = run(["batch", str(corpus), str(manifest), "--out", str(out), "--no-brief", "--base-url", server.url, "--mode", "tools", "-q"], capsys)
    assert code == 2, err

    errors = [json.loads(x) for x in (out / "errors.jsonl").read_text(encoding="utf-8").splitlines()]
    found = {(_name(e["item"]), e["error"]) for e in errors}
    expected = {pair for bad in BAD_INPUTS for pair in bad.refused if pair[1] != "unsupported"}  # a .pdf inside a directory is skipped
    expected |= {("manifest.jsonl:1", "not_found"), ("manifest.jsonl:2", "not_found"), ("manifest.jsonl:4", "encoding")}
    expected |= {("good.txt", "duplicate")}  # the manifest's good.txt repeats the directory's
    assert found == expected
    assert all(e["stage"] == "read" and e["message"] for e in errors)

    reports = [json.loads(x) for x in (out / "reports.jsonl").read_text(encoding="utf-8").splitlines()]
    ids = {r["source"]["id"] for r in reports}
    assert ids == {"good", "good-too", *(sid for bad in BAD_INPUTS for sid in bad.processed)}
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["items"] == len(reports) + len(errors) and summary["extracted"] == len(reports) and summary["failed"] == 0


def test_every_table_row_exists_as_a_fixture_or_a_maker() -> None:
    committed = {p.name for p in FIXTURES.iterdir()}
    assert {name for bad in BAD_INPUTS for name in bad.files} | {"manifest.jsonl"} == committed
    assert all(os.path.getsize(FIXTURES / name) < 4096 for name in committed), "big files are made at test time"
    assert len(BAD_INPUTS) + 1 >= 15


def table_markdown() -> str:
    """The README's bad-input table."""
    rows = ["| input | outcome | exit code |", "|---|---|---|"]
    rows += [f"| {b.kind} | {b.outcome} | {b.exit_code} |" for b in BAD_INPUTS]
    rows.append(f"| {MANIFEST_ROW[0]} | {MANIFEST_ROW[1]} | {MANIFEST_ROW[2]} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(table_markdown(), end="")
