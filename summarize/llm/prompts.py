"""Prompt templates: TOML files in ``prompts/`` with a name, a version and declared variables.

Templates use ``$name`` placeholders (``string.Template``). Every declared variable must be
given and every placeholder must be declared, so a typo fails before a request is sent.
Data (the fenced article, claim tables) is formatted in Python and passed in as a variable.
"""

from __future__ import annotations

import hashlib
import string
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from summarize.errors import PromptError
from summarize.models.report import PromptRef


def bundled_prompts_dir() -> Path:
    """prompts/ beside the package in a checkout, or the copy installed inside the package."""
    here = Path(__file__).resolve().parents[1]
    for candidate in (here / "_data" / "prompts", here.parent / "prompts"):
        if candidate.is_dir():
            return candidate
    raise PromptError(f"bundled prompts not found next to {here}")


class _TemplateFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    version: str
    description: str
    variables: list[str]
    system: str
    user: str


@dataclass(frozen=True)
class Prompt:
    name: str
    version: str
    variables: tuple[str, ...]
    system: str
    user: str
    sha256: str
    path: Path

    @property
    def ref(self) -> PromptRef:
        return PromptRef(name=self.name, version=self.version, sha256=self.sha256)

    def render(self, **values: str) -> list[dict[str, str]]:
        missing = sorted(set(self.variables) - set(values))
        extra = sorted(set(values) - set(self.variables))
        if missing or extra:
            parts = [f"missing {', '.join(missing)}" if missing else "", f"unexpected {', '.join(extra)}" if extra else ""]
            raise PromptError(f"prompt {self.name} v{self.version} ({self.path}): " + "; ".join(p for p in parts if p))
        return [
            {"role": "system", "content": string.Template(self.system).substitute(values)},
            {"role": "user", "content": string.Template(self.user).substitute(values)},
        ]


def _placeholders(template: str) -> set[str]:
    return {m.group("named") or m.group("braced") for m in string.Template.pattern.finditer(template) if m.group("named") or m.group("braced")}


@cache
def load_prompt(name: str, prompts_dir: Path | None = None) -> Prompt:
    """Load ``<dir>/<name>.toml``; the user's directory first, then the bundled one."""
    if prompts_dir is not None and not prompts_dir.is_dir():
        raise PromptError(f"--prompts {prompts_dir}: no such directory")
    dirs = [d for d in (prompts_dir, bundled_prompts_dir()) if d is not None]
    path = next((d / f"{name}.toml" for d in dirs if (d / f"{name}.toml").is_file()), None)
    if path is None:
        raise PromptError(f"prompt {name!r} not found in {', '.join(str(d) for d in dirs)}")
    raw = path.read_bytes()
    try:
        data = _TemplateFile.model_validate(tomllib.loads(raw.decode("utf-8")))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, ValidationError) as exc:
        raise PromptError(f"{path}: not a valid prompt template: {exc}") from None
    if data.name != name:
        raise PromptError(f"{path}: declares name {data.name!r}, expected {name!r}")
    used = _placeholders(data.system) | _placeholders(data.user)
    undeclared = sorted(used - set(data.variables))
    unused = sorted(set(data.variables) - used)
    if undeclared or unused:
        raise PromptError(f"{path}: placeholders not declared in variables: {undeclared}; declared but unused: {unused}")
    for part in (data.system, data.user):
        try:
            string.Template(part).substitute({v: "" for v in data.variables})
        except ValueError as exc:
            raise PromptError(f"{path}: malformed placeholder ({exc}); write $$ for a literal dollar sign") from None
    return Prompt(
        name=data.name,
        version=data.version,
        variables=tuple(data.variables),
        system=data.system,
        user=data.user,
        sha256=hashlib.sha256(raw).hexdigest(),
        path=path,
    )


def fence(source_id: str, text: str) -> str:
    """Wrap article text as data. The fence carries the text's own digest, so an article cannot
    close it early: it would have to contain the hash of itself."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    return f"----- BEGIN SOURCE {source_id} {digest} -----\n{text}\n----- END SOURCE {digest} -----"
