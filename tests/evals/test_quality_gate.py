"""CI gate: retrieval and reply quality on fixed subsets of both shared datasets and on the
project's own support-answers set must not regress past the thresholds committed in
evals/gate.json (minima: measured values minus a small margin; maxima: no cut unit, no sent
unanswerable); on support-answers, the replies evals/gate-complete.json lists as complete must
stay complete (kept_complete)."""

from __future__ import annotations

import pytest

from autocrm.core.settings import Settings
from autocrm.db.connect import connect
from autocrm.evals.gate import (
    aws_subset,
    kept_complete,
    mtrag_subset,
    support_answers,
    thresholds,
)
from autocrm.evals.kb import eval_kb_url
from autocrm.evals.runner import run_questions
from tests.conftest import require_shared


@pytest.mark.parametrize(
    "subset",
    [aws_subset, mtrag_subset, support_answers],
    ids=["aws-docs-qa", "mtrag", "support-answers"],
)
def test_quality_gate(subset, server_url, real_embedder, tmp_path):
    if subset is not support_answers:
        require_shared()
    dataset = subset(work_dir=tmp_path)
    settings = Settings()
    settings.retrieval.top_k = 10
    url, _ = eval_kb_url(
        server_url=server_url,
        source=dataset.kb_source,
        chunking=settings.chunking,
        embedder=real_embedder,
    )
    with connect(url, autocommit=True) as conn:
        run = run_questions(
            conn, dataset=dataset, embedder=real_embedder, chat_model=None, settings=settings
        )
    limits = thresholds()[dataset.name]
    if subset is support_answers:
        complete = {r.question.id for r in run.results if r.metrics.get("complete")}
        run.summary["kept_complete"] = kept_complete(complete)
    print(dataset.name, run.summary)
    for metric, minimum in limits["min"].items():
        assert run.summary[metric] >= minimum, (
            f"{dataset.name} {metric} {run.summary[metric]} < {minimum}"
        )
    for metric, maximum in limits["max"].items():
        assert run.summary[metric] <= maximum, (
            f"{dataset.name} {metric} {run.summary[metric]} > {maximum}"
        )
