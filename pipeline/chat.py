"""Chat models: the interface the pipeline drafts with, and its OpenAI-compatible provider.

INTERFACE CONTRACT (shared by drafting, triage, query rewriting):

    model.complete(messages, *, temperature, max_tokens, schema=None) -> ChatResult
    model.stream(messages, *, temperature, max_tokens) -> Iterator[str]

``schema`` (a pydantic model class) asks for JSON output; ``ChatResult.parsed`` is then the validated
instance, and invalid JSON raises ``ChatModelError`` (never a fake answer).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal, Protocol

from pydantic import BaseModel

from autocrm.errors import AutoCRMError


class ChatModelError(AutoCRMError):
    """The model failed: unreachable, error status, invalid output."""


class ChatModelTimeout(ChatModelError):
    """The model did not answer within the configured timeout (after retries)."""


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class ChatResult(BaseModel):
    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    parsed: BaseModel | None = None


class ChatModel(Protocol):
    name: str

    def complete(
        self,
        messages: list[ChatMessage],
        *,
        temperature: float = 0.2,
        max_tokens: int = 600,
        schema: type[BaseModel] | None = None,
    ) -> ChatResult: ...

    def stream(
        self, messages: list[ChatMessage], *, temperature: float = 0.2, max_tokens: int = 600
    ) -> Iterator[str]: ...
