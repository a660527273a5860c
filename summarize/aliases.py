"""Names of claimants and parties: the bundled alias table (English, Arabic, French) and a user's own.

Extraction uses it to check that a figure's or claim's speaker is named near its quote;
reconciliation, export and evaluation use it to count each claimant once however outlets spell it.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from summarize.errors import ConfigError

BUNDLED_ALIASES = Path(__file__).parent / "data" / "aliases.toml"
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

    def lookup(self, name: str) -> str | None:
        return self.names.get(norm_name(name))

    def canonical(self, name: str) -> str:
        return self.lookup(name) or name.strip()

    def group_members(self, party: str) -> tuple[str, ...] | None:
        return self.groups.get(self.canonical(party))


def load_aliases(extra: Path | None = None) -> Aliases:
    """The bundled aliases, with a user's file in the same format merged over them (the user's entries win)."""
    names: dict[str, str] = {}
    groups: dict[str, tuple[str, ...]] = {}
    party_sources: set[str] = set()
    for path in filter(None, (BUNDLED_ALIASES, extra)):
        file_names, file_groups, file_sources = _read_aliases(path)
        names.update(file_names)
        groups.update(file_groups)
        party_sources |= file_sources
    return Aliases(names, groups, frozenset(party_sources))


def _read_aliases(path: Path) -> tuple[dict[str, str], dict[str, tuple[str, ...]], set[str]]:
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
    return names, groups, set(strings(sections["party_sources"].get("names", []), "party_sources.names"))
