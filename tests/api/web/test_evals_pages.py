"""Eval pages: the runs with their settings and metrics, one run's questions, two runs compared.
The runs are stored by the runner's own ``store_run``, over real questions of the shipped
support-answers dataset (the pipeline itself is not run: its answers are made up here)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from selenium.webdriver.support.ui import Select

from autocrm.evals.datasets import load_dataset
from autocrm.evals.metrics import retrieval_metrics
from autocrm.evals.runner import QuestionResult, RunResult, store_run, summarise
from tests.api.conftest import KENJI
from tests.api.web.test_signin import sign_in

ADMIN_EMAIL = "maya.okafor@flowdesk.io"
# Per question: (retrieved the gold document first?, decision, reply correct) in runs A and B.
PLAN_A = [(True, "sent", 1.0), (True, "drafted", 1.0), (False, "escalated", 0.0),
          (True, "sent", 1.0), (False, "drafted", 0.0)]  # fmt: skip
PLAN_B = [(True, "sent", 1.0), (True, "sent", 1.0), (True, "drafted", 1.0),
          (True, "sent", 1.0), (False, "escalated", 0.0)]  # fmt: skip


def make_run(db, questions, plan, *, name: str, settings) -> str:
    results = []
    for q, (found, action, correct) in zip(questions, plan, strict=True):
        gold = q.reference_context_ids[0]
        ranked = [gold, "other/doc-a.md", "other/doc-b.md"] if found else ["other/doc-a.md"]
        metrics = retrieval_metrics(ranked, set(q.reference_context_ids)) | {
            "reply_correct": correct,
            "complete": correct,
            "cited_articles": 1.0,
            "reply_words": 42.0,
            "cut_units": 0.0,
        }
        results.append(
            QuestionResult(
                question=q, ranked=ranked, metrics=metrics, action=action,
                confidence=0.9 if action == "sent" else 0.4, signals={},
                latency_ms={"retrieve": 5.0, "draft": 1.0},
                answer=f"Reply to {q.id}: {q.reference[:120]}",
            )
        )  # fmt: skip
    run = RunResult("support-answers", results, summarise(results))
    return store_run(db, run=run, name=name, split="dev", settings=settings)


@pytest.fixture
def two_runs(db, api, tmp_path):
    data = load_dataset("support-answers", split="dev", cache_dir=tmp_path)
    questions = data.questions[:5]
    tag = uuid.uuid4().hex[:6]
    hybrid = api.settings
    bm25 = hybrid.model_copy(
        update={"retrieval": hybrid.retrieval.model_copy(update={"mode": "bm25"})}
    )
    a = make_run(db, questions, PLAN_A, name=f"sa-bm25-{tag}", settings=bm25)
    b = make_run(db, questions, PLAN_B, name=f"sa-hybrid-{tag}", settings=hybrid)
    yield {"a": a, "b": b, "tag": tag, "questions": questions}
    db.execute("DELETE FROM eval_runs WHERE id = ANY(%s::uuid[])", ([a, b],))


def test_agents_get_the_404_page_on_evals(api, two_runs):
    with httpx.Client(base_url=api.base_url, timeout=60, follow_redirects=False) as browser:
        sign_in(browser, KENJI)
        for path in (
            "/app/evals",
            f"/app/evals/{two_runs['a']}",
            f"/app/evals/compare?a={two_runs['a']}&b={two_runs['b']}",
        ):
            page = browser.get(path)
            assert page.status_code == 404, path
            assert "Not found" in page.text and "sa-bm25" not in page.text


def test_a_lead_reads_runs_one_run_and_a_comparison(web, two_runs):
    a, b, tag, questions = two_runs["a"], two_runs["b"], two_runs["tag"], two_runs["questions"]
    web.sign_in(ADMIN_EMAIL, next="/app/evals")
    web.wait_for("h1", text="Eval runs")
    runs = web.find("#eval-runs").text
    assert f"sa-bm25-{tag}" in runs and f"sa-hybrid-{tag}" in runs and "support-answers" in runs
    assert "bm25" in web.find(f'#eval-runs tr[data-id="{a}"]').text
    web.screenshot("evals-list")

    web.find(f'#eval-runs tr[data-id="{a}"] a').click()
    web.wait_for("h1", text=f"sa-bm25-{tag}")
    assert '"mode": "bm25"' in web.find("#run-settings").text
    recall = web.find('#run-metrics tr[data-metric="recall@5"]').text
    assert recall == "recall@5 0.600"  # 3 of 5 found the gold document
    rows = web.find_all("#run-questions tbody tr")
    assert len(rows) == 5
    first = web.find(f'#run-questions tr[data-question="{questions[0].id}"]')
    gold = questions[0].reference_context_ids[0]
    assert questions[0].user_input in first.text and f"Reply to {questions[0].id}" in first.text
    assert first.find_element("css selector", ".doc-list li.gold").text.startswith(gold)
    assert gold in first.find_element("css selector", ".gold-doc").text
    assert "sent" in first.text
    third = web.find(f'#run-questions tr[data-question="{questions[2].id}"]')
    assert "escalated" in third.text  # a miss: its gold document is listed, none retrieved is
    assert (
        questions[2].reference_context_ids[0]
        in third.find_element("css selector", ".gold-doc").text
    )
    assert not third.find_elements("css selector", ".doc-list li.gold")
    web.screenshot("evals-run")
    web.open(f"/app/evals/{a}?decision=escalated")
    assert len(web.find_all("#run-questions tbody tr")) == 1

    web.open("/app/evals")
    Select(web.find('select[name="a"]')).select_by_value(a)
    Select(web.find('select[name="b"]')).select_by_value(b)
    web.find("#compare-form button").click()
    web.wait_for("#metric-deltas")
    recall = web.find('#metric-deltas tr[data-metric="recall@5"]').text
    assert "0.600" in recall and "0.800" in recall and "+0.200" in recall
    assert "retrieval.mode" in web.find("#settings-diff").text
    changed = web.find_all("#question-changes tbody tr")
    ids = {row.get_attribute("data-question") for row in changed}
    assert ids == {questions[n].id for n in (1, 2, 4)}  # decision or hit@5 changed
    web.screenshot("evals-compare")
