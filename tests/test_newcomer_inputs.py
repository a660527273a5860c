"""Issue 16 point 5: files in a directory that are not articles are skipped, said so, and readable when named."""

from __future__ import annotations

import glob
import json
import logging
import shutil
from pathlib import Path

import pytest
from helpers import EXAMPLES, ROOT, run
from record_cassettes import authored_responder
from scripted_server import ScriptedServer

from summarize.batch.inputs import collect
from summarize.sources.article import parse_article
from summarize.sources.files import Skipped, read_sources
from summarize.sources.screen import not_an_article

README = "# Scrape of 3 May\n\n## Layout\n\n- `raw/`: pages as saved\n- `clean/`: text\n\n```bash\npython scrape.py --all\n```\n"
NOTES = "Notes\n\n- call the monitor back\n- check the 153 figure\n- ask desk about photos\n"
ARTICLE = "Shelling hit the old city on Wednesday.\n\nAt least 12 people were killed, the monitor said.\n"


def _dir(tmp_path: Path) -> Path:
    d = tmp_path / "story"
    d.mkdir()
    (d / "README.md").write_text(README, encoding="utf-8")
    (d / "overview.md").write_text(NOTES, encoding="utf-8")
    (d / "wire.txt").write_text(ARTICLE, encoding="utf-8")
    return d


def test_a_directory_skips_readme_and_notes_with_one_line_each(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    d = _dir(tmp_path)
    with caplog.at_level(logging.WARNING):
        sources, failed = read_sources([str(d)])
    assert [s.id for s in sources] == ["wire"] and failed == []
    lines = [r.getMessage() for r in caplog.records if "not an article" in r.getMessage()]
    assert len(lines) == 2 and any("README.md" in x and "project file" in x for x in lines) and any("overview.md" in x for x in lines)


def test_a_named_file_or_a_glob_reads_them(tmp_path: Path) -> None:
    d = _dir(tmp_path)
    sources, _ = read_sources([str(d / "README.md")])
    assert [s.id for s in sources] == ["readme"]
    sources, _ = read_sources([str(d / "*.md")])
    assert sorted(s.id for s in sources) == ["overview", "readme"]
    sources, _ = read_sources([str(d), str(d / "README.md")])  # the directory and the file named: the file is read
    assert sorted(s.id for s in sources) == ["readme", "wire"]


def test_batch_collect_skips_and_reports(tmp_path: Path) -> None:
    d = _dir(tmp_path)
    skipped: list[Skipped] = []
    items, failed = collect([str(d)], max_bytes=1_000_000, skipped=skipped)
    assert [i.source.id for i in items] == ["wire"] and failed == []
    assert sorted(Path(s.item).name for s in skipped) == ["README.md", "overview.md"]
    items, _ = collect([str(d / "*.md")], max_bytes=1_000_000)
    assert len(items) == 2


def test_a_batch_lists_the_files_it_skipped_in_summary_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    story = tmp_path / "floods"
    shutil.copytree(EXAMPLES / "floods", story)
    (story / "README.md").write_text(README, encoding="utf-8")
    (story / "overview.md").write_text(NOTES, encoding="utf-8")
    out = tmp_path / "run"
    with ScriptedServer(authored_responder()) as server:
        code, _, err = run(["batch", str(story), "--out", str(out), "--base-url", server.url, "--mode", "tools", "--no-brief", "-q"], capsys)
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    listed = {Path(s["item"]).name: s["reason"] for s in summary["skipped_not_articles"]}
    assert sorted(listed) == ["README.md", "overview.md"] and "project file" in listed["README.md"]
    assert summary["items"] == 3, "the three articles beside them are still read"
    assert "2 files in the input directories skipped as not articles, listed in" in err
    # naming the file reads it; the summary then lists nothing
    with ScriptedServer(authored_responder()) as server:
        code, _, err = run(
            ["batch", str(story / "*.txt"), "--out", str(tmp_path / "txt"), "--base-url", server.url, "--mode", "tools", "--no-brief", "-q"], capsys
        )
    assert json.loads((tmp_path / "txt" / "summary.json").read_text(encoding="utf-8"))["skipped_not_articles"] == []


def _bodies() -> list[tuple[str, str]]:
    files = glob.glob(str(EXAMPLES / "**" / "*.txt"), recursive=True) + glob.glob(str(ROOT / "tests" / "fixtures" / "corpus" / "**" / "*.txt"), recursive=True)
    return [(f, parse_article(Path(f).read_text(encoding="utf-8"), name="x.txt", path=f).text) for f in sorted(files)]


def test_every_example_article_is_still_read_from_its_directory() -> None:
    for story in [p for p in EXAMPLES.iterdir() if p.is_dir() and (any(p.glob("*.txt")) or any(p.glob("*.html")))]:
        sources, _ = read_sources([str(story)])
        assert len(sources) == len([*story.glob("*.txt"), *story.glob("*.html")]), story


@pytest.mark.parametrize("name", ["story.md", "index.md", "article.txt"])
def test_no_article_body_without_its_header_is_skipped(name: str) -> None:
    for f, body in _bodies():
        assert not_an_article(Path(name), parse_article(body, name=name, path=f)) is None, f


MESSY = [
    "Home | World | Middle East\n\n* Share\n* Tweet\n* Email\n\n# Three killed in Aleppo shelling\n\nBy Jane Doe\n\nThree people died.\n",
    "BEIRUT, March 3 (Reuters) - Three people were killed in an air strike, a monitor said.\n",
    "KHARTOUM — Fighting resumed.\n",
    "Three killed in blast in Aleppo, monitor says.\n",
    "# Breaking\n\n- Blast near market\n- 3 dead, 12 hurt\n- Police cordon on Tuesday\n",
    "---\ntitle: Floods hit Brask\ndate: 2024-05-01\n---\n\n- 12 dead\n- 30 missing\n- roads shut\n",
    "## Live\n\n* 10:02 toll rises\n* 10:15 army denies\n* 10:40 UN calls for calm\n",
]


@pytest.mark.parametrize("text", MESSY)
def test_messy_article_shapes_are_read(text: str, tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(text, encoding="utf-8")
    sources, failed = read_sources([str(tmp_path)])
    assert len(sources) == 1 and failed == []
