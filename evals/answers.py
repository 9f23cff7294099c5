"""Answer-quality metrics with ragas: its non-LLM metrics, offline (ROUGE, string similarity,
ID-based context precision and recall). LLM-judged metrics (faithfulness, response relevancy,
factual correctness) need a configured model and are not computed offline."""

from __future__ import annotations

from functools import cache


@cache
def _metrics() -> tuple:
    # ragas imports langchain & co.: only when an eval actually scores answers.
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


def answer_metrics(
    *,
    question: str,
    answer: str,
    reference: str,
    retrieved_ids: list[str],
    reference_ids: list[str],
) -> dict[str, float]:
    from ragas.dataset_schema import SingleTurnSample

    sample = SingleTurnSample(
        user_input=question,
        response=answer,
        reference=reference or "",
        retrieved_context_ids=list(dict.fromkeys(retrieved_ids)),
        reference_context_ids=reference_ids,
    )
    return {f"ragas_{m.name}": round(float(m.single_turn_score(sample)), 4) for m in _metrics()}
