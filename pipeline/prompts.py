"""Prompts as versioned files: ``pipeline/prompts/<name>_v<N>.md``.

A file holds two sections introduced by the lines ``## system`` and ``## user`` (text above
``## system`` is a note for maintainers and is not sent). The system section is sent verbatim; the
user section is a ``string.Template``: ``$var`` placeholders, because ticket text is full of braces
that ``str.format`` would choke on, and substituted values are never re-scanned for ``$``.
A changed prompt is a new file (``_v2``), so eval results and stored drafts name the exact text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from string import Template

from autocrm.core.errors import AutoCRMError
from autocrm.pipeline.chat import ChatMessage

PROMPTS_DIR = Path(__file__).parent / "prompts"
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_SECTION = re.compile(r"^## (system|user)[ \t]*$", re.MULTILINE)


class PromptError(AutoCRMError):
    """A prompt file is missing or malformed, or a render lacks a value (a bug, not user input)."""


@dataclass(frozen=True)
class Prompt:
    name: str
    version: str  # e.g. "answer_v1": recorded with every draft and eval run
    system: str
    user_template: str

    def render(self, **values: object) -> list[ChatMessage]:
        try:
            user = Template(self.user_template).substitute(values)
        except KeyError as exc:
            raise PromptError(f"prompt {self.version} needs a value for ${exc.args[0]}") from None
        return [
            ChatMessage(role="system", content=self.system),
            ChatMessage(role="user", content=user),
        ]


def load_prompt(name: str, version: str | None = None) -> Prompt:
    """``version`` as "1", "v1" or "answer_v1"; None picks the highest number on disk (v10 > v9)."""
    if not _NAME.fullmatch(name):
        raise PromptError(f"invalid prompt name {name!r}")
    if version is None:
        return _load(name, _latest(name))
    number = version.removeprefix(f"{name}_").removeprefix("v")
    if not number.isdigit():
        raise PromptError(f"invalid version {version!r} for prompt {name}")
    return _load(name, int(number))


@cache
def _latest(name: str) -> int:
    pattern = re.compile(rf"{name}_v(\d+)\.md")
    numbers = [int(m[1]) for p in PROMPTS_DIR.iterdir() if (m := pattern.fullmatch(p.name))]
    if not numbers:
        raise PromptError(f"no prompt files {name}_v<N>.md in {PROMPTS_DIR}")
    return max(numbers)


@cache
def _load(name: str, number: int) -> Prompt:
    version = f"{name}_v{number}"
    path = PROMPTS_DIR / f"{version}.md"
    if not path.is_file():
        raise PromptError(f"prompt file not found: {path}")
    parts = _SECTION.split(path.read_text(encoding="utf-8"))
    # split() with one group gives [preamble, "system", text, "user", text]
    if len(parts) != 5 or parts[1::2] != ["system", "user"]:
        raise PromptError(f"{path.name}: needs exactly one '## system' then one '## user' line")
    system, user = parts[2].strip(), parts[4].strip()
    if not Template(user).is_valid():
        raise PromptError(f"{path.name}: invalid placeholder in user section (write $$ for $)")
    return Prompt(name=name, version=version, system=system, user_template=user)
