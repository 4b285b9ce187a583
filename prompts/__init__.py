"""Versioned prompt templates: `<name>.v<N>.yaml`, each with a system and a user part.

A template is data, validated on load: a missing part or a placeholder the caller does not supply is an
error naming the file and the field. A proposal records the template's id (`propose-level.v1`), so a
changed prompt is a new file and a new version, never an edit under the same id.

    >>> from prompts import load_prompt
    >>> load_prompt("propose-level").id
    'propose-level.v1'
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path
from string import Formatter

from pydantic import BaseModel, ConfigDict, Field

from evidence.datafile import read_yaml, validate
from evidence.errors import DataError

PROMPTS_DIR = Path(__file__).resolve().parent
_FILE = re.compile(r"^(?P<name>[a-z0-9-]+)\.v(?P<version>\d+)\.yaml$")


class Prompt(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: int = Field(ge=1)
    description: str = ""
    system: str = Field(min_length=1)
    user: str = Field(min_length=1)
    path: Path | None = None

    @property
    def id(self) -> str:
        return f"{self.name}.v{self.version}"

    @property
    def digest(self) -> str:
        """Identifies the template's text: an edit made in place still changes what a proposal depended on."""
        return hashlib.sha256(f"{self.system}\x00{self.user}".encode()).hexdigest()

    def fields(self) -> set[str]:
        """The placeholders the template fills in."""
        return {f for part in (self.system, self.user) for _, f, _, _ in Formatter().parse(part) if f}

    def render(self, **values: str) -> tuple[str, str]:
        """(system, user) with the placeholders filled; a missing value names the template and the field."""
        missing = self.fields() - values.keys()
        if missing:
            raise DataError(self.path or self.id, ", ".join(sorted(missing)), "no value given for this placeholder")
        return self.system.format(**values), self.user.format(**values)


def versions(name: str, directory: Path = PROMPTS_DIR) -> list[int]:
    found = (_FILE.match(p.name) for p in directory.glob(f"{name}.v*.yaml"))
    return sorted(int(m["version"]) for m in found if m and m["name"] == name)


def read_prompt(path: Path) -> Prompt:
    match = _FILE.match(path.name)
    if not match:
        raise DataError(path, "", "a prompt file is named <name>.v<N>.yaml")
    prompt = validate(Prompt, read_yaml(path), path)
    for field, expected in (("name", match["name"]), ("version", int(match["version"]))):
        if getattr(prompt, field) != expected:
            raise DataError(path, field, f"{getattr(prompt, field)!r} does not match the file name ({expected!r})")
    return prompt.model_copy(update={"path": path})


@cache
def load_prompt(name: str, version: int | None = None, directory: Path = PROMPTS_DIR) -> Prompt:
    """A template by name; the newest version unless one is asked for."""
    known = versions(name, directory)
    if not known:
        raise DataError(directory / f"{name}.v1.yaml", "", f"no prompt template named {name!r}")
    chosen = version if version is not None else known[-1]
    if chosen not in known:
        raise DataError(directory / f"{name}.v{chosen}.yaml", "", f"no version {chosen}; known: {known}")
    return read_prompt(directory / f"{name}.v{chosen}.yaml")
