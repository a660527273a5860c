"""What a batch reads: directories, globs and JSONL manifests, each article with its story.

A manifest is a ``.jsonl`` file whose records name an article file (``path``, relative to the
manifest) or carry its text (``text``), with an optional ``story``. Stories come from, in order:
the manifest's ``story`` field, ``--group auto`` (grouping.py), or the sub-directory an article
sits in under a directory given on the command line.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from summarize.batch.grouping import group_by_directory, group_by_field
from summarize.errors import InputError
from summarize.models.report import FailedItem, Source
from summarize.sources.files import Skipped, read_sources

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchItem:
    source: Source
    story: str


def _is_manifest(path: Path) -> bool:
    if path.suffix != ".jsonl" or not path.is_file():
        return False
    try:
        # Bytes, line by line: a text-mode read decodes 8 KB at once, so a bad byte further down
        # would make the whole manifest look like something else.
        with path.open("rb") as fh:
            for raw in fh:
                if raw.strip():
                    first = json.loads(raw.decode("utf-8-sig"))
                    return isinstance(first, dict) and ("path" in first or "story" in first)
    except (OSError, ValueError):
        return False
    return False


def _expand(inputs: Sequence[str]) -> tuple[list[str], list[FailedItem]]:
    paths: list[str] = []
    failed: list[FailedItem] = []
    for given in inputs:
        if given != "-" and not Path(given).exists() and any(ch in given for ch in "*?["):
            matches = sorted(glob.glob(given, recursive=True))
            if not matches:
                failed.append(FailedItem(item=given, stage="read", error="not_found", message=f"{given}: the pattern matches no file"))
            paths += matches
        else:
            paths.append(given)
    return paths, failed


def _read_manifest(path: Path, max_bytes: int) -> tuple[list[tuple[Source, str | None]], list[FailedItem]]:
    # Inline records are read through one-line scratch files in a private directory of our own,
    # never beside the manifest, where a file of that name may be the user's.
    with tempfile.TemporaryDirectory(prefix="summarize-manifest-") as scratch:
        return _read_manifest_lines(path, max_bytes, Path(scratch))


def _read_manifest_lines(path: Path, max_bytes: int, scratch: Path) -> tuple[list[tuple[Source, str | None]], list[FailedItem]]:
    items: list[tuple[Source, str | None]] = []
    failed: list[FailedItem] = []
    # Decoded line by line, so one line of bad bytes costs that line, not the whole batch.
    for n, raw in enumerate(path.read_bytes().splitlines(), 1):
        if not raw.strip():
            continue
        label = f"{path}:{n}"
        try:
            line = raw.decode("utf-8-sig" if n == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            failed.append(FailedItem(item=label, stage="read", error="encoding", message=f"{label}: not UTF-8 ({exc.reason} at byte {exc.start})"))
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("a record must be a JSON object")
        except ValueError as exc:
            failed.append(FailedItem(item=label, stage="read", error="malformed_json", message=f"{label}: not a JSON record ({exc})"))
            continue
        story = str(record["story"]) if record.get("story") else None
        if "path" in record:
            target = (path.parent / str(record["path"])).resolve()
            if not target.is_file():
                failed.append(
                    FailedItem(item=label, stage="read", error="not_found", message=f"{label}: the manifest names {record['path']}, which does not exist")
                )
                continue
            sources, problems = read_sources([str(target)], max_bytes=max_bytes)
        else:
            # the scratch file's name gives a record without an id the id it always had
            sources, problems = _inline_record(record, scratch / f".{path.stem}-{n}.jsonl", max_bytes)
            sources = [s.model_copy(update={"path": label}) for s in sources]  # where it is: the manifest's line, not a deleted scratch file
        failed += [p.model_copy(update={"item": label, "message": f"{label}: {p.message}"}) for p in problems]
        items += [(s, story) for s in sources]
    return items, failed


def _inline_record(record: dict[str, object], scratch: Path, max_bytes: int) -> tuple[list[Source], list[FailedItem]]:
    # One code path for records: write the record as a one-line JSONL and read it like any file.
    clean = {k: v for k, v in record.items() if k != "story"}
    try:
        scratch.write_text(json.dumps(clean) + "\n", encoding="utf-8")
        return read_sources([str(scratch)], max_bytes=max_bytes)
    finally:
        scratch.unlink(missing_ok=True)


def _unique_ids(sources: list[Source]) -> list[Source]:
    """Articles read from different places may share a file name; an id must name one article."""
    counts: dict[str, int] = {}
    for s in sources:
        counts[s.id] = counts.get(s.id, 0) + 1
    return [s.model_copy(update={"id": f"{s.id}-{s.sha256[:6]}"}) if counts[s.id] > 1 else s for s in sources]


class _Inside:
    """Whether a path resolves (symbolic links followed) to somewhere in ``directory``. A batch's files share a few
    directories, so each directory is resolved once; a file that is itself a link is resolved whole."""

    def __init__(self, directory: Path | None) -> None:
        self.real = os.path.realpath(directory) if directory is not None else None
        self._dirs: dict[str, str] = {}

    def __call__(self, path: str | None) -> bool:
        if not path or self.real is None or path == "-":
            return False
        candidate = path if os.path.exists(path) else path.rsplit(":", 1)[0]  # "MANIFEST:LINE" names its manifest
        head, tail = os.path.split(candidate)
        if os.path.islink(candidate) or tail in ("", ".", ".."):
            real = os.path.realpath(candidate)
        else:
            if head not in self._dirs:
                self._dirs[head] = os.path.realpath(head or os.curdir)
            real = os.path.join(self._dirs[head], tail)
        return real == self.real or real.startswith(self.real.rstrip(os.sep) + os.sep)


def collect(
    inputs: Sequence[str], *, group: str = "dirs", max_bytes: int, exclude: Path | None = None, skipped: list[Skipped] | None = None
) -> tuple[list[BatchItem], list[FailedItem]]:
    """Every article with its story, plus what could not be read. Nothing under ``exclude`` (the
    batch's own output directory, when it sits inside an input directory) is taken as an article.

    Files found in an input directory that are not articles (a README, notes: ``sources.screen``) are
    left out, each with a warning naming it and why, and added to ``skipped`` when it is given (for the
    summary). A glob ('dir/*.md'), a named file or a manifest's record is always read."""
    ours = _Inside(exclude)
    paths, failed = _expand(inputs)
    paths = [p for p in paths if not ours(p)]
    manifest_items: list[tuple[Source, str | None]] = []
    plain: list[str] = []
    for p in paths:
        if _is_manifest(Path(p)):
            got, problems = _read_manifest(Path(p), max_bytes)
            manifest_items += got
            failed += problems
        else:
            plain.append(p)
    noted: list[Skipped] = []
    sources, problems = read_sources(plain, max_bytes=max_bytes, skipped=noted) if plain else ([], [])
    for note in [n for n in noted if not ours(n.item)]:
        logger.warning("%s", note.message)
        if skipped is not None:
            skipped.append(note)
    sources = [s for s in sources if not ours(s.path)]
    failed += [p for p in problems if not ours(p.item)]
    everything = [s for s, _ in manifest_items] + sources
    seen: set[str] = set()
    unique = []
    for s in everything:
        if s.sha256 in seen:
            failed.append(
                FailedItem(item=s.path or s.id, stage="read", error="duplicate", message=f"{s.path or s.id}: same text as another article in this batch")
            )
            continue
        seen.add(s.sha256)
        unique.append(s)
    unique = _unique_ids(unique)
    by_sha = {s.sha256: s.id for s in unique}
    named = {by_sha[s.sha256]: story for s, story in manifest_items if story and s.sha256 in by_sha}
    if group == "auto":
        groups = group_by_field(unique, named)  # manifest stories kept, the rest grouped by content and date
    elif group == "none":
        groups = {"all": sorted(s.id for s in unique)}
    else:
        rest = [s for s in unique if s.id not in named]
        groups = group_by_field([s for s in unique if s.id in named], named)
        for label, ids in group_by_directory(rest, [Path(p) for p in plain if Path(p).is_dir()]).items():
            groups[label if label not in groups else f"{label}-dir"] = ids
    story_of = {sid: label for label, ids in groups.items() for sid in ids}
    items = [BatchItem(s, story_of.get(s.id, "ungrouped")) for s in unique]
    if not items and not failed:
        left_out = [n for n in noted if not ours(n.item)]
        why = f" ({len(left_out)} file(s) skipped as not articles; name them to read them)" if left_out else ""
        raise InputError("no articles found in the inputs" + why)
    return sorted(items, key=lambda i: (i.story, i.source.id)), failed
