"""What triage concludes about a ticket, and the JSON a chat model must answer with."""

from __future__ import annotations

import re
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field, field_validator

from autocrm.pipeline.chat import ChatMessage

OFFLINE_MODEL = "offline-v1"

Priority = Literal["low", "normal", "high", "urgent"]
Sentiment = Literal["negative", "neutral", "positive"]


class TicketAnalysis(BaseModel):
    """What triage concluded about a ticket, and (in ``signals``) why."""

    category: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9-]*$")
    priority: Priority
    sentiment: Sentiment
    language: str = Field(pattern=r"^[a-z]{2}$", description="ISO 639-1")
    intent: str = Field(pattern=r"^[a-z0-9][a-z0-9_]*$", max_length=64)
    confidence: float = Field(ge=0, le=1)
    model: str
    signals: dict[str, Any] = Field(default_factory=dict)

    def as_record(self) -> dict[str, Any]:
        """The ``tickets.ai_analysis`` shape (the column documents ``suggested_priority``)."""
        record = self.model_dump(mode="json")
        record["suggested_priority"] = record.pop("priority")
        return record


class TriageOutput(BaseModel):
    """The JSON schema the chat model must answer with. Lenient on spelling (``"EN-us"``,
    ``"very_negative"``, ``"Billing Question"``) because models are; strict on the value sets."""

    category: str | None = Field(None, description="one of the category slugs, or null")
    priority: Priority
    sentiment: Sentiment
    language: str = Field(description="ISO 639-1 code of the customer's language")
    intent: str = Field(description="short snake_case label, e.g. refund_request")
    confidence: float = Field(ge=0, le=1)

    @field_validator("category", mode="before")
    @classmethod
    def _category(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().lower()
            return value if value not in ("", "none", "null") else None
        return value

    @field_validator("priority", mode="before")
    @classmethod
    def _priority(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().lower()
            return {"medium": "normal", "critical": "urgent"}.get(value, value)
        return value

    @field_validator("sentiment", mode="before")
    @classmethod
    def _sentiment(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().lower().replace(" ", "_")
            return value.removeprefix("very_")
        return value

    @field_validator("language", mode="before")
    @classmethod
    def _language(cls, value: Any) -> Any:
        # "en-US" / "pt_BR" → the language part; anything else ("German") is left to fail the
        # ISO check later, so the offline language is used instead of a guess.
        if isinstance(value, str):
            value = value.strip().lower().replace("_", "-")
            if re.fullmatch(r"[a-z]{2}(-[a-z0-9]+)?", value):
                return value[:2]
        return value

    @field_validator("intent", mode="before")
    @classmethod
    def _intent(cls, value: Any) -> Any:
        return snake(value) if isinstance(value, str) else value


class TriagePrompt(Protocol):
    """What ``pipeline.prompts.load_prompt("triage")`` returns."""

    version: str

    def render(self, **values: Any) -> list[ChatMessage]: ...


def snake(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", value.strip().lower()).strip("_")
