"""The eval report's breakdown of reply figures by question kind and part."""

from __future__ import annotations

from autocrm.evals.datasets import EvalQuestion
from autocrm.evals.report import write_report
from autocrm.evals.runner import QuestionResult, RunResult, by_group, summarise

RETRIEVAL = dict.fromkeys(("recall@1", "recall@5", "recall@10", "hit@5", "mrr@10", "ndcg@10"), 1.0)


def result(n: int, kind: str, part: str, *, complete: bool, answerable: bool = True):
    question = EvalQuestion(
        id=f"q{n}",
        user_input="How do I descale?",
        reference="Run a descaling cycle.",
        reference_context_ids=["descaling.md"] if answerable else [],
        answerable=answerable,
        meta={"kind": kind},
        required_facts=["descaling cycle"] if answerable else [],
        part=part,
    )
    metrics = RETRIEVAL | {"complete": float(complete), "rouge_l": 0.5}
    metrics |= {"cited_articles": 1, "reply_words": 4}
    return QuestionResult(
        question, ["descaling.md"], metrics, "draft", 0.5, {}, {}, "Run a descaling cycle."
    )


def test_the_report_breaks_reply_figures_down_by_kind_and_part(tmp_path):
    results = [
        result(1, "procedure", "tune", complete=True),
        result(2, "procedure", "tune", complete=False),
        result(3, "procedure", "holdout", complete=True),
        result(4, "policy", "tune", complete=False),
        result(5, "unanswerable", "tune", complete=False, answerable=False),
    ]
    key, groups = by_group(results)
    assert key == "kind" and set(groups) == {"procedure", "policy"}  # answerable kinds only
    assert groups["procedure"]["tune"]["n"] == 2 and groups["procedure"]["tune"]["complete"] == 0.5
    assert groups["procedure"]["holdout"]["complete"] == 1.0 and "holdout" not in groups["policy"]
    run = RunResult("support-answers", results, summarise(results))
    summary = (write_report(run, out_dir=tmp_path, name="t") / "summary.md").read_text()
    assert "## By kind" in summary
    assert "| procedure | 2 / 1 | 0.50 / 1.00 | 0.50 / 0.50 | 1.00 / 1.00 |" in summary, summary
    assert "| policy | 1 / – | 0.00 / – |" in summary, summary
    # questions that name no kind: no breakdown
    plain = [result(1, "", "tune", complete=True)]
    assert by_group(plain) is None
