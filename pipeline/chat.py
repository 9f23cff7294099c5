"""Chat models: the interface the pipeline drafts with, and its OpenAI-compatible provider.

INTERFACE CONTRACT (shared by drafting, triage, query rewriting):

    model.complete(messages, *, temperature, max_tokens, schema=None, on_delta=None) -> ChatResult

``schema`` (a pydantic model class) asks for JSON output; ``ChatResult.parsed`` is then the validated
instance, and invalid JSON raises ``ChatModelError`` (never a fake answer). ``on_delta`` makes the
call a streamed one: each piece of text is handed to it as it arrives, and the result is the same.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from autocrm.core.errors import AutoCRMError
from autocrm.core.settings import Settings

T = TypeVar("T")


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
        on_delta: Callable[[str], None] | None = None,
    ) -> ChatResult: ...


class InvalidModelOutput(ChatModelError):
    """The model answered, but not with JSON matching the requested schema."""

    def __init__(self, message: str, *, text: str):
        super().__init__(message)
        self.text = text  # the raw output, for logs; never shown to a customer


# Servers that ignore response_format (and some that honour it) still wrap JSON in a fence.
_FENCE = re.compile(r"^\s*```[a-zA-Z]*[ \t]*\n(.*?)\n?[ \t]*```\s*$", re.DOTALL)


class OpenAIChatModel:
    """Any OpenAI-compatible ``/v1/chat/completions`` endpoint (OpenAI, vLLM, Ollama, llama.cpp).

    The client is built with ``max_retries=0``: retries are ours, so plain and streamed ``complete``
    share one backoff policy and one error translation into ``ChatModelError``.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        timeout_s: float,
        max_retries: int,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
    ):
        from openai import OpenAI

        # Keyless local servers get a placeholder, as in the embedder: some openai 1.x releases
        # turn an empty key into a 'Bearer ' header that cannot be encoded.
        self.client = OpenAI(
            base_url=base_url, api_key=api_key or "none", timeout=timeout_s, max_retries=0
        )
        self.name = model
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.endpoint = f"POST {str(self.client.base_url).rstrip('/')}/chat/completions"

    def complete(
        self,
        messages: list[ChatMessage],
        *,
        temperature: float = 0.2,
        max_tokens: int = 600,
        schema: type[BaseModel] | None = None,
        on_delta: Callable[[str], None] | None = None,
    ) -> ChatResult:
        json_mode = {"response_format": {"type": "json_object"}} if schema else {}
        request = {
            "model": self.name,
            "messages": [m.model_dump() for m in messages],
            "temperature": temperature,
            "max_tokens": max_tokens,
            **json_mode,
        }
        if on_delta is None:
            text, model, usage, finish = self._completion(request)
        else:
            text, model, usage, finish = self._streamed_completion(request, on_delta)
        parsed = None
        if schema is not None:
            parsed = _parse(text, schema, truncated=finish == "length")
        return ChatResult(
            text=text,
            model=model or self.name,
            prompt_tokens=(usage.prompt_tokens if usage else 0) or 0,
            completion_tokens=(usage.completion_tokens if usage else 0) or 0,
            parsed=parsed,
        )

    def _completion(self, request: dict) -> tuple[str, str | None, Any, str | None]:
        response = self._with_retries(lambda: self.client.chat.completions.create(**request))
        # The client returns the body as a str when a 200 is not JSON (a base_url that is not /v1).
        if not hasattr(response, "choices"):
            raise ChatModelError(f"{self.endpoint} did not return a chat completion (not JSON)")
        choice = response.choices[0] if response.choices else None
        text = (choice.message.content if choice else None) or ""
        return text, response.model, response.usage, choice.finish_reason if choice else None

    def _streamed_completion(
        self, request: dict, on_delta: Callable[[str], None]
    ) -> tuple[str, str | None, Any, str | None]:
        """The same completion, streamed: each text delta goes to ``on_delta`` as it arrives."""
        import httpx
        import openai

        chunks = self._with_retries(
            lambda: self.client.chat.completions.create(
                **request, stream=True, stream_options={"include_usage": True}
            )
        )
        parts: list[str] = []
        model, usage, finish = None, None, None
        try:
            for chunk in chunks:
                model = chunk.model or model
                usage = chunk.usage or usage
                if not chunk.choices:
                    continue
                finish = chunk.choices[0].finish_reason or finish
                delta = chunk.choices[0].delta.content
                if delta:
                    parts.append(delta)
                    on_delta(delta)
        except (openai.APIError, httpx.HTTPError) as exc:
            # Not retried once open: deltas already handed on may be on the agent's screen.
            raise self._translate(exc, attempts=1)[0] from exc
        finally:
            chunks.close()
        return "".join(parts), model, usage, finish

    def _with_retries(self, call: Callable[[], T]) -> T:
        import httpx
        import openai

        for attempt in range(1, self.max_retries + 2):
            try:
                return call()
            except (openai.APIError, httpx.HTTPError) as exc:
                error, retryable = self._translate(exc, attempts=attempt)
                if not retryable or attempt > self.max_retries:
                    raise error from exc
                time.sleep(self._delay(attempt, exc))
        raise AssertionError("unreachable")

    def _delay(self, attempt: int, exc: Exception) -> float:
        ceiling = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
        # Jitter spreads the retries of workers that failed together (a 429 burst, a restart).
        delay = random.uniform(ceiling / 2, ceiling)
        response = getattr(exc, "response", None)
        try:  # a 429/503 may say when to come back; honoured up to our own ceiling
            retry_after = float(response.headers["retry-after"])  # type: ignore[union-attr]
        except (AttributeError, KeyError, ValueError):
            return delay
        return max(delay, min(retry_after, self.max_backoff_s))

    def _translate(self, exc: Exception, *, attempts: int) -> tuple[ChatModelError, bool]:
        """The error to raise for ``exc`` and whether another attempt may succeed."""
        import httpx
        import openai

        tried = f" ({attempts} attempts)" if attempts > 1 else ""
        if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
            message = f"chat model timed out after {self.timeout_s:g} s: {self.endpoint}{tried}"
            return ChatModelTimeout(message), True
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            message = f"chat model returned HTTP {status}: {self.endpoint}{tried}: {_detail(exc)}"
            return ChatModelError(message), status == 429 or status >= 500
        if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
            cause = _one_line(str(exc.__cause__ or exc))
            return ChatModelError(f"chat model unreachable: {self.endpoint}{tried}: {cause}"), True
        # Error events inside a stream, responses the client could not validate.
        return ChatModelError(f"chat model failed: {self.endpoint}: {_one_line(str(exc))}"), False


def _parse(text: str, schema: type[BaseModel], *, truncated: bool) -> BaseModel:
    fenced = _FENCE.match(text)
    try:
        return schema.model_validate_json(fenced.group(1) if fenced else text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        cut = " (output cut off at max_tokens)" if truncated else ""
        message = f"model returned invalid JSON for {schema.__name__}: "
        message += f"{where + ': ' if where else ''}{first['msg']}{more}{cut}"
        raise InvalidModelOutput(message, text=text) from exc


def _detail(exc: Exception) -> str:
    """The server's own error message (OpenAI shape ``{"error": {"message": ...}}``) if any."""
    body = getattr(exc, "body", None)
    error = body.get("error", body) if isinstance(body, dict) else body
    message = error.get("message") if isinstance(error, dict) else error
    return _one_line(str(message or getattr(exc, "message", exc)))


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def build_chat_model(settings: Settings) -> ChatModel | None:
    """The configured chat model, or None when no LLM is configured (drafting is then off)."""
    if not settings.llm_configured:
        return None
    return OpenAIChatModel(
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key.get_secret_value(),
        model=settings.llm_model,
        timeout_s=settings.llm_timeout_s,
        max_retries=settings.llm_max_retries,
    )
