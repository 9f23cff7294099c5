"""CI gate: retrieval quality on fixed subsets of both shared datasets must not regress below the
thresholds committed in evals/gate.json (measured values minus a small margin)."""

from __future__ import annotations

import pytest

from autocrm.settings import Settings
from db.connect import connect
from evals.gate import aws_subset, mtrag_subset, thresholds
from evals.kb import eval_kb_url
from evals.runner import run_questions
from tests.conftest import require_shared


@pytest.mark.parametrize("subset", [aws_subset, mtrag_subset], ids=["aws-docs-qa", "mtrag"])
def test_quality_gate(subset, server_url, real_embedder, tmp_path):
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
    print(dataset.name, run.summary)
    for metric, minimum in limits.items():
        assert run.summary[metric] >= minimum, (
            f"{dataset.name} {metric} {run.summary[metric]} < {minimum}"
        )
