"""Answer-quality metrics with ragas.

Always, offline: its non-LLM metrics (ROUGE, string similarity, ID-based context precision and
recall). With an LLM configured, a ``Judge`` (``build_judge``, once per run) adds the LLM-judged
ones: faithfulness to the passages the drafter saw, response relevancy (questions generated back
from the answer, compared with the asked one by OUR embedder: no model is downloaded) and factual
correctness (claim F1 against the reference). The judge reaches the configured OpenAI-compatible
base URL and nothing else. A judge call that fails scores None for that metric and question and is
counted in ``Judge.failures``; it never stops the run, and the offline metrics are still there.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autocrm.core.settings import Settings
    from autocrm.pipeline.embedder import Embedder

log = logging.getLogger(__name__)


@cache
def _quiet_ragas() -> None:
    # ragas posts a usage event to its own server on every LLM call unless this is set (read once,
    # at its first event): an eval may reach the configured LLM and nothing else.
    os.environ["RAGAS_DO_NOT_TRACK"] = "true"


@cache
def _metrics() -> tuple:
    # ragas imports langchain & co.: only when an eval actually scores answers.
    _quiet_ragas()
    from ragas.metrics import (
        IDBasedContextPrecision,
        IDBasedContextRecall,
        NonLLMStringSimilarity,
        RougeScore,
    )

    return (
        RougeScore(),
        NonLLMStringSimilarity(),
        IDBasedContextPrecision(),
        IDBasedContextRecall(),
    )


@cache
def _local_embeddings_class() -> type:
    # Defined on first use: its base class lives in ragas, which is slow to import.
    from ragas.embeddings.base import BaseRagasEmbedding

    class LocalEmbeddings(BaseRagasEmbedding):
        """Our ``Embedder`` behind ragas' embeddings interface (rows are already unit length)."""

        def __init__(self, embedder: Embedder):
            super().__init__()
            self.embedder = embedder

        def embed_text(self, text: str, **kwargs: Any) -> list[float]:
            return self.embed_texts([text])[0]

        def embed_texts(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
            return self.embedder.embed(list(texts)).astype(float).tolist()

        async def aembed_text(self, text: str, **kwargs: Any) -> list[float]:
            return self.embed_text(text)

        async def aembed_texts(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
            return self.embed_texts(texts)

    return LocalEmbeddings


def local_embeddings(embedder: Embedder) -> Any:
    """A ragas ``BaseRagasEmbedding`` over ``embedder``."""
    return _local_embeddings_class()(embedder)


@dataclass
class Judge:
    """ragas' LLM-judged metrics (``ragas.metrics.collections``), keyed ``ragas_<name>``."""

    metrics: dict[str, Any]
    client: Any  # the openai.AsyncOpenAI the metrics' LLM calls through
    # One loop for the whole run: the async HTTP client's connections belong to the loop that
    # opened them, so a fresh asyncio.run() per question would strand them.
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    failures: Counter[str] = field(default_factory=Counter)

    def score(
        self, *, question: str, answer: str, reference: str, contexts: Sequence[str]
    ) -> dict[str, float | None]:
        """One question's judged metrics: None where inputs are missing or the judge failed."""
        inputs = {
            "ragas_faithfulness": {
                "user_input": question,
                "response": answer,
                "retrieved_contexts": list(contexts),
            },
            "ragas_answer_relevancy": {"user_input": question, "response": answer},
            "ragas_factual_correctness": {"response": answer, "reference": reference},
        }
        # ragas raises on an empty input: such a metric is not applicable, not a judge failure.
        runnable = {
            key: kwargs
            for key, kwargs in inputs.items()
            if key in self.metrics and all(kwargs.values())
        }
        values = self.loop.run_until_complete(self._all(runnable))
        return {key: None for key in self.metrics} | dict(zip(runnable, values, strict=True))

    async def _all(self, runnable: dict[str, dict[str, Any]]) -> list[float | None]:
        return await asyncio.gather(*(self._one(key, kwargs) for key, kwargs in runnable.items()))

    async def _one(self, key: str, kwargs: dict[str, Any]) -> float | None:
        try:
            result = await self.metrics[key].ascore(**kwargs)
        except Exception as exc:  # HTTP error, timeout, unparsable JSON: any judge failure
            self.failures[key] += 1
            log.warning("LLM judge failed on %s: %s: %s", key, type(exc).__name__, exc)
            return None
        return _finite(result.value)

    def close(self) -> None:
        self.loop.run_until_complete(self.client.close())
        self.loop.close()


def _finite(value: float) -> float | None:
    """A score rounded, or None for NaN (e.g. no statements found): NaN is invalid in jsonb."""
    value = float(value)
    return None if math.isnan(value) else round(value, 4)


def build_judge(*, settings: Settings, embedder: Embedder) -> Judge | None:
    """The LLM judge over the configured OpenAI-compatible endpoint; None when none is configured."""
    if not settings.llm_configured:
        return None
    from openai import AsyncOpenAI

    _quiet_ragas()
    from ragas.llms import llm_factory
    from ragas.metrics.collections import AnswerRelevancy, FactualCorrectness, Faithfulness

    # The collections metrics only call the LLM asynchronously: an async client is required.
    client = AsyncOpenAI(
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key.get_secret_value() or "none",
        timeout=settings.llm_timeout_s,
        max_retries=settings.llm_max_retries,
    )
    # instructor's max_retries counts attempts, and it retries on ANY exception, HTTP errors
    # included: one attempt, so retries stay the client's (with backoff), not multiplied.
    llm = llm_factory(settings.llm_model, client=client, max_retries=1)
    metrics = (
        Faithfulness(llm=llm),
        AnswerRelevancy(llm=llm, embeddings=local_embeddings(embedder)),
        FactualCorrectness(llm=llm),
    )
    return Judge({f"ragas_{m.name}": m for m in metrics}, client)


def answer_metrics(
    *,
    question: str,
    answer: str,
    reference: str,
    retrieved_ids: list[str],
    reference_ids: list[str],
    contexts: Sequence[str] = (),
    judge: Judge | None = None,
) -> dict[str, float | None]:
    """ragas' offline metrics, plus the judged ones (over ``contexts``) when a judge is given."""
    from ragas.dataset_schema import SingleTurnSample

    sample = SingleTurnSample(
        user_input=question,
        response=answer,
        reference=reference or "",
        retrieved_context_ids=list(dict.fromkeys(retrieved_ids)),
        reference_context_ids=reference_ids,
    )
    # Without gold ids (an unanswerable question) the ID-based metrics do not apply.
    metrics = [m for m in _metrics() if reference_ids or "id_based" not in m.name]
    scores: dict[str, float | None] = {f"ragas_{m.name}": None for m in _metrics()} | {
        f"ragas_{m.name}": _finite(m.single_turn_score(sample)) for m in metrics
    }
    if judge is not None:
        scores |= judge.score(
            question=question, answer=answer, reference=reference or "", contexts=contexts
        )
    return scores
