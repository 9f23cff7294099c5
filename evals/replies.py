"""Reply metrics: what the customer receives, measured against the reference answer.

- ``rouge_l``: ROUGE-L F1 with rouge-score, no stemming (the ROUGE-L of MTRAG's RB_alg);
- ``token_recall``: the share of the reference's tokens (rouge-score's tokenizer) that the reply
  holds, counted with multiplicity;
- ``content_recall`` / ``first60_recall``: the share of the reference's content words (stemmed,
  stop words out) in the whole reply / in its first 60 words (is the answer up front?);
- ``reply_words``, ``cut_units`` (pieces of the reply that are cut versions of an article's units:
  0 allowed), ``cited_articles``;
- with required facts: ``facts_found`` (share), ``complete`` (every fact, no cut unit, at most two
  articles cited).
``reply_correct`` labels a reply for the decision's calibration and the auto-send precision: a
complete reply where facts are listed, otherwise one that cites a gold article and holds at least
half of the reference's content words.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache

from autocrm.pipeline.text import terms
from autocrm.pipeline.units import Section, cut_units

FIRST_WORDS = 60
MAX_CITED = 2
_MARKUP = re.compile(r"[*`]")
_WS = re.compile(r"\s+")


@cache
def _scorer():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


def _tokens(text: str) -> list[str]:
    from rouge_score import tokenize

    return tokenize.tokenize(text, None)


def _fact_text(text: str) -> str:
    return _WS.sub(" ", _MARKUP.sub("", text)).strip().lower()


def reply_metrics(
    *,
    reply: str,
    reference: str,
    cited_ids: list[str],
    gold_ids: list[str],
    articles: list[tuple[Section, ...]],
    required_facts: list[str] = (),
) -> dict[str, float | None]:
    words = reply.split()
    out: dict[str, float | None] = {
        "reply_words": float(len(words)),
        "cut_units": float(cut_units(reply, articles)),
        "cited_articles": float(len(set(cited_ids))),
        "cites_gold": float(bool(set(cited_ids) & set(gold_ids))) if gold_ids else None,
        "rouge_l": None,
        "token_recall": None,
        "content_recall": None,
        "first60_recall": None,
    }
    if reference.strip():
        out["rouge_l"] = round(_scorer().score(reference, reply)["rougeL"].fmeasure, 4)
        wanted, got = Counter(_tokens(reference)), Counter(_tokens(reply))
        out["token_recall"] = round(
            sum(min(n, got[t]) for t, n in wanted.items()) / max(1, sum(wanted.values())), 4
        )
        content = terms(reference)
        if content:
            out["content_recall"] = round(len(content & terms(reply)) / len(content), 4)
            first = terms(" ".join(words[:FIRST_WORDS]))
            out["first60_recall"] = round(len(content & first) / len(content), 4)
    if required_facts:
        text = _fact_text(reply)
        found = sum(_fact_text(f) in text for f in required_facts)
        out["facts_found"] = round(found / len(required_facts), 4)
        out["complete"] = float(
            found == len(required_facts)
            and out["cut_units"] == 0
            and out["cited_articles"] <= MAX_CITED
        )
        out["reply_correct"] = out["complete"]
    elif gold_ids:
        out["reply_correct"] = float(
            bool(out["cites_gold"]) and (out["content_recall"] or 0.0) >= 0.5
        )
    return out
