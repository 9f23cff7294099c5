"""Retrieval metrics at document level: the ranked list is the retrieved articles' ids, best first
(chunks of one article count once, at their best rank)."""

from __future__ import annotations

import math


def dedupe(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def recall_at(ranked: list[str], gold: set[str], k: int) -> float:
    return len(set(ranked[:k]) & gold) / len(gold) if gold else 0.0


def hit_at(ranked: list[str], gold: set[str], k: int) -> float:
    return float(bool(set(ranked[:k]) & gold))


def mrr_at(ranked: list[str], gold: set[str], k: int = 10) -> float:
    for i, doc in enumerate(ranked[:k], 1):
        if doc in gold:
            return 1 / i
    return 0.0


def ndcg_at(ranked: list[str], gold: set[str], k: int = 10) -> float:
    dcg = sum(1 / math.log2(i + 1) for i, doc in enumerate(ranked[:k], 1) if doc in gold)
    ideal = sum(1 / math.log2(i + 1) for i in range(1, min(len(gold), k) + 1))
    return dcg / ideal if ideal else 0.0


def retrieval_metrics(ranked: list[str], gold: set[str]) -> dict[str, float]:
    """recall@k: share of the gold documents in the top k; hit@k: at least one of them is."""
    ranked = dedupe(ranked)
    return {
        "recall@1": recall_at(ranked, gold, 1),
        "recall@5": recall_at(ranked, gold, 5),
        "recall@10": recall_at(ranked, gold, 10),
        "hit@5": hit_at(ranked, gold, 5),
        "mrr@10": mrr_at(ranked, gold),
        "ndcg@10": ndcg_at(ranked, gold),
    }
