"""How far can quoting go on MTRAG? Sentences chosen from the gold passage itself (retrieval
assumed perfect), under a word budget, scored like every eval run (ROUGE-L F, reference token
recall).

    python scripts/mtrag_quote_ceiling.py [--budgets 60 100 140]

Strategies: ``oracle`` picks greedily the sentences that add most reference tokens (it reads the
reference: an upper bound, not a method); ``lead`` the passage's first sentences; ``window`` the
sentence holding most of the question (idf-weighted words, the previous user turn at half weight)
and those after it, as the drafter does; ``overlap`` the best sentences by those words, in the
passage's order; ``meaning`` the best by MiniLM cosine to the question and the previous turn.
Needs ../shared (the MTRAG passages and tasks); cloud + govt answerable tasks, tune and held-back
parts apart.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
from collections import Counter

from autocrm.core.settings import Settings
from autocrm.evals.datasets import SHARED, load_dataset
from autocrm.evals.replies import reply_metrics
from autocrm.pipeline.resources import build_models
from autocrm.pipeline.text import terms

MIN_WORDS = 3  # shorter pieces are headings or menu lines
PREVIOUS_TURN_WEIGHT = 0.5


def sentences(text: str) -> list[str]:
    pieces = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [s.strip() for s in pieces if len(s.split()) >= MIN_WORDS]


def in_budget(order: list[int], pieces: list[str], budget: int, *, keep_order: bool) -> str:
    """The pieces in ``order`` that fit the budget; in the passage's order unless ``keep_order``."""
    chosen, words = [], 0
    for n in order:
        size = len(pieces[n].split())
        if words + size <= budget:
            chosen.append(n)
            words += size
    return " ".join(pieces[n] for n in (chosen if keep_order else sorted(chosen)))


def oracle(pieces: list[str], reference: str, budget: int) -> str:
    chosen: list[int] = []
    best = 0.0
    while True:
        gains = [
            (recall(reference, " ".join(pieces[m] for m in sorted([*chosen, n]))), n)
            for n in range(len(pieces))
            if n not in chosen and sum(len(pieces[m].split()) for m in [*chosen, n]) <= budget
        ]
        score, n = max(gains, default=(0.0, -1))
        if score <= best + 0.01:
            return " ".join(pieces[m] for m in sorted(chosen))
        chosen.append(n)
        best = score


def recall(reference: str, reply: str) -> float:
    return reply_metrics(reply=reply, reference=reference, cited_ids=[], gold_ids=[], articles=[])[
        "token_recall"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budgets", type=int, nargs="+", default=[60, 100, 140])
    args = parser.parse_args()
    settings = Settings()
    data = load_dataset("mtrag", split="all", cache_dir=settings.data_dir / "eval-cache")
    passages = {}
    with (SHARED / "mtrag" / "kb_passages.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            passages[row["passage_id"]] = row["text"]
    df = Counter(t for text in passages.values() for t in terms(text))
    idf = {t: math.log((len(passages) + 1) / (n + 0.5)) for t, n in df.items()}
    embedder, _ = build_models(settings)
    tasks = [q for q in data.questions if q.answerable and passages.get(q.reference_context_ids[0])]
    results: dict[tuple, list[tuple[float, float, float]]] = {}
    for q in tasks:
        pieces = sentences(passages[q.reference_context_ids[0]])
        if not pieces:
            continue
        before = [t["text"] for t in q.conversation if t["speaker"] == "user"][-1:]
        asked, previous = terms(q.user_input), terms(" ".join(before)) - terms(q.user_input)
        words = [
            sum(idf.get(t, 0.0) for t in terms(p) & asked)
            + PREVIOUS_TURN_WEIGHT * sum(idf.get(t, 0.0) for t in terms(p) & previous)
            for p in pieces
        ]
        vectors = embedder.embed([" ".join([q.user_input, *before]), *pieces])
        meaning = (vectors[1:] @ vectors[0]).tolist()
        best = max(range(len(pieces)), key=words.__getitem__)
        for budget in args.budgets:
            replies = {
                "oracle": oracle(pieces, q.reference, budget),
                "lead": in_budget(list(range(len(pieces))), pieces, budget, keep_order=True),
                "window": in_budget(
                    list(range(best, len(pieces))), pieces, budget, keep_order=True
                ),
                "overlap": in_budget(
                    sorted(range(len(pieces)), key=lambda n: -words[n]),
                    pieces,
                    budget,
                    keep_order=False,
                ),
                "meaning": in_budget(
                    sorted(range(len(pieces)), key=lambda n: -meaning[n]),
                    pieces,
                    budget,
                    keep_order=False,
                ),
            }
            for name, reply in replies.items():
                m = reply_metrics(
                    reply=reply, reference=q.reference, cited_ids=[], gold_ids=[], articles=[]
                )
                results.setdefault((q.part, budget, name), []).append(
                    (m["rouge_l"], m["token_recall"], m["reply_words"])
                )
    print("part     budget  strategy  n    ROUGE-L F  token recall  words (median)")
    for (part, budget, name), rows in sorted(results.items()):
        print(
            f"{part:8} {budget:6}  {name:8}  {len(rows):3}  "
            f"{statistics.mean(r[0] for r in rows):9.3f}  "
            f"{statistics.mean(r[1] for r in rows):12.3f}  "
            f"{statistics.median(r[2] for r in rows):6.0f}"
        )


if __name__ == "__main__":
    main()
