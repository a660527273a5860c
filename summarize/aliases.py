"""Names of claimants and parties: a small generic core table, opt-in story packs, and a user's own.

Extraction uses every table to check that a figure's or claim's speaker is named near its quote
(recognising a spelling merges nothing). Reconciliation, export and evaluation use the core table
plus the packs and files a run opts into, to count each claimant once however outlets spell it:
a story's names ("the army", "government forces", "the monitor") must not leak into another story.
"""

from __future__ import annotations

import logging
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from summarize.errors import ConfigError

if TYPE_CHECKING:
    from summarize.models.report import SourceReport

logger = logging.getLogger(__name__)
BUNDLED_ALIASES = Path(__file__).parent / "data" / "aliases.toml"
PACKS = Path(__file__).parent / "data" / "packs"
OWN_VOICE = "the outlet"  # what extraction writes when an article states something in its own voice
_APOSTROPHES = str.maketrans("", "", "'’ʼ‘`´")


def norm_name(name: str) -> str:
    """A name folded for comparison: NFKC, no apostrophes, case-folded, punctuation to spaces."""
    text = unicodedata.normalize("NFKC", name).translate(_APOSTROPHES).casefold()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def is_own_voice(name: str) -> bool:
    """True for the article speaking in its own voice ('the outlet')."""
    return norm_name(name) == OWN_VOICE


@dataclass(frozen=True)
class Aliases:
    """Canonical names of claimants and parties, groups of parties, and the claimants that speak for a party."""

    names: Mapping[str, str]  # normalised alias -> canonical
    groups: Mapping[str, tuple[str, ...]]
    party_sources: frozenset[str]
    tables: tuple[str, ...] = ()  # what was loaded: "pack:NAME" or a file's path, core table not listed

    def with_spellings(self, spellings: Mapping[str, str]) -> Aliases:
        """This table plus folded spellings of names it does not know (normalised -> the spelling to use)."""
        extra = {k: v for k, v in spellings.items() if k not in self.names}
        return Aliases({**self.names, **extra}, self.groups, self.party_sources, self.tables) if extra else self

    def lookup(self, name: str) -> str | None:
        return self.names.get(norm_name(name))

    def canonical(self, name: str) -> str:
        return self.lookup(name) or name.strip()

    def group_members(self, party: str) -> tuple[str, ...] | None:
        return self.groups.get(self.canonical(party))


def spellings(names: Iterable[str]) -> dict[str, str]:
    """One spelling per folded name (al-Ghaithi, Al-Ghaithi, al Ghaithi): the most used, then the first in sort order."""
    counts: dict[str, dict[str, int]] = {}
    for name in (n.strip() for n in names if n and n.strip()):
        forms = counts.setdefault(norm_name(name), {})
        forms[name] = forms.get(name, 0) + 1
    return {key: min(forms, key=lambda f: (-forms[f], f)) for key, forms in counts.items() if key}


def names_in(reports: Iterable[SourceReport]) -> list[str]:
    """Every speaker and party name the reports use, for ``Aliases.with_spellings(spellings(...))``."""
    named = [n for r in reports for f in r.figures for n in (f.attributed_to, f.party, f.status_by, f.cited_via) if n]
    return named + [c.attributed_to for r in reports for c in r.claims]


def pack_names() -> list[str]:
    """The bundled story packs, by name."""
    return sorted(p.stem for p in PACKS.glob("*.toml"))


def load_aliases(extra: Path | str | None = None, *, packs: Sequence[str] = ()) -> Aliases:
    """The core table, then bundled ``packs``, then ``extra`` (a file, or a pack's name), later entries winning.

    A file may list packs to include first with a top-level ``include = ["syria"]``."""
    names: dict[str, str] = {}
    groups: dict[str, tuple[str, ...]] = {}
    party_sources: set[str] = set()
    tables: list[str] = []
    queue: list[Path | str] = [*packs, *([extra] if extra is not None else [])]
    loaded: set[Path] = set()

    def load(path: Path, label: str | None) -> None:
        if path.resolve() in loaded:
            return
        loaded.add(path.resolve())
        file_names, file_groups, file_sources, includes = _read_aliases(path)
        for pack in includes:
            load(_pack_path(pack, path), f"pack:{pack}")
        names.update(file_names)
        groups.update(file_groups)
        party_sources.update(file_sources)
        if label:
            tables.append(label)

    load(BUNDLED_ALIASES, None)
    for item in queue:
        # a bundled pack's name, unless a file of that name exists (so `--aliases syria` works from the CLI)
        if str(item) in pack_names() and not Path(item).exists():
            load(_pack_path(str(item), None), f"pack:{item}")
        else:
            load(Path(item), str(item))
    return Aliases(names, groups, frozenset(party_sources), tuple(tables))


STORY_ALIASES = "aliases.toml"


def story_aliases(paths: Iterable[str | None]) -> Path | None:
    """The aliases.toml beside a story's articles, when they all come from one directory that has one."""
    dirs = {Path(p).parent for p in paths if p and p != "-"}
    if len(dirs) != 1:
        return None
    found = next(iter(dirs)) / STORY_ALIASES
    if found.is_file():
        logger.info("using the story's aliases from %s", found)
        return found
    return None


def all_aliases() -> Aliases:
    """Every bundled table at once: for recognising a speaker's name in a text, never for merging claimants."""
    return load_aliases(packs=pack_names())


def _pack_path(pack: str, included_from: Path | None) -> Path:
    path = PACKS / f"{pack}.toml"
    if pack not in pack_names():
        known = ", ".join(pack_names()) or "none"
        raise ConfigError(f"aliases: no bundled pack {pack!r} (bundled packs: {known})", item=str(included_from) if included_from else None)
    return path


def _read_aliases(path: Path) -> tuple[dict[str, str], dict[str, tuple[str, ...]], set[str], list[str]]:
    def fail(problem: str) -> ConfigError:
        return ConfigError(f"aliases file: {problem}", item=str(path))

    def strings(value: object, where: str) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(f"{where} must be a list of strings")
        return value

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise fail(str(exc)) from exc
    includes = strings(data.get("include", []), "include")
    sections = {key: data.get(key, {}) for key in ("claimants", "parties", "groups", "party_sources")}
    if not all(isinstance(s, dict) for s in sections.values()):
        raise fail("[claimants], [parties], [groups] and [party_sources] must be tables")
    listed = [(c, strings(a, f"{k}.{c}")) for k in ("claimants", "parties") for c, a in sections[k].items()]
    groups = {}
    for canonical, spec in sections["groups"].items():
        if not isinstance(spec, dict):
            raise fail(f"groups.{canonical} must be a table with 'members' and 'aliases'")
        groups[canonical] = tuple(strings(spec.get("members"), f"groups.{canonical}.members"))
        listed.append((canonical, strings(spec.get("aliases", []), f"groups.{canonical}.aliases")))
    names: dict[str, str] = {}
    for canonical, aliases in listed:
        for alias in (canonical, *aliases):
            if names.setdefault(norm_name(alias), canonical) != canonical:
                raise fail(f"{alias!r} is an alias of both {names[norm_name(alias)]!r} and {canonical!r}")
    return names, groups, set(strings(sections["party_sources"].get("names", []), "party_sources.names")), includes
