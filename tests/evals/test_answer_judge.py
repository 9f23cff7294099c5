"""The LLM-judged answer metrics (ragas faithfulness, response relevancy, factual correctness) over
real HTTP against tests/llm_server.py, which plays a literal-minded judge: a statement is supported
when every word of it occurs in the context. Relevancy embeds with the fake embedder."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from autocrm.core.settings import Settings
from autocrm.evals.answers import Judge, answer_metrics, build_judge
from autocrm.evals.datasets import EvalDataset, EvalQuestion
from autocrm.evals.runner import QuestionResult, run_questions, store_run, summarise
from tests.fakes import FakeEmbedder
from tests.llm_server import FakeLLMServer, RecordedRequest, Reply

JUDGED = ("ragas_faithfulness", "ragas_answer_relevancy", "ragas_factual_correctness")
OFFLINE = (
    "ragas_rouge_score",
    "ragas_non_llm_string_similarity",
    "ragas_id_based_context_precision",
    "ragas_id_based_context_recall",
)
INPUT = re.compile(r"\ninput: (\{.*\})\nOutput: $", re.S)

QUESTION = "How do I reset my password?"
CONTEXT = (
    "To reset your password open Settings and choose Reset password. Links expire in one hour."
)


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=\.)\s+", text.strip()) if s]


class RuleJudge:
    """Answers each of ragas' prompts with the JSON it asks for, computed from the prompt's input.

    ``questions`` maps a response to the question the relevancy prompt "generates" back from it
    (default: the response itself); ``fail`` maps a marker word to the reply sent instead whenever
    the prompt's input contains it (an HTTP error, garbage, a hang).
    """

    def __init__(self, questions: dict[str, str] | None = None, fail: dict | None = None):
        self.questions = questions or {}
        self.fail = fail or {}
        self.kinds: list[str] = []

    def __call__(self, request: RecordedRequest) -> Reply | str:
        prompt = request.messages[-1]["content"]
        data = json.loads(INPUT.search(prompt).group(1))
        for marker, reply in self.fail.items():
            if marker in json.dumps(data):
                return reply
        if prompt.startswith("Given a question and an answer"):
            self.kinds.append("statements")
            return json.dumps({"statements": sentences(data["answer"])})
        if prompt.startswith("Decompose and break down"):
            self.kinds.append("claims")
            return json.dumps({"claims": sentences(data["response"])})
        if prompt.startswith("Your task is to judge the faithfulness"):
            self.kinds.append("nli")
            context = words(data["context"])
            verdicts = [
                {"statement": s, "reason": "literal", "verdict": int(words(s) <= context)}
                for s in data["statements"]
            ]
            return json.dumps({"statements": verdicts})
        if prompt.startswith("Generate a question for the given answer"):
            self.kinds.append("question")
            response = data["response"]
            noncommittal = int("not sure" in response.lower())
            question = self.questions.get(response, response)
            return json.dumps({"question": question, "noncommittal": noncommittal})
        raise AssertionError(f"unexpected prompt: {prompt[:80]}")


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[list]:
    """Fail any connection to anything but this machine (ragas telemetry, model downloads)."""
    attempts: list = []
    real = socket.getaddrinfo

    def guarded(host, *args, **kwargs):
        if host not in ("127.0.0.1", "localhost", "::1"):
            attempts.append(host)
            raise OSError(f"test is offline: {host}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    yield attempts
    assert attempts == []


@pytest.fixture
def embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def judge(llm_server: FakeLLMServer, embedder: FakeEmbedder) -> Iterator[Judge]:
    built = build_judge(
        settings=llm_server.settings(llm_max_retries=0, llm_timeout_s=2.0), embedder=embedder
    )
    assert built is not None
    yield built
    built.close()


def score(judge: Judge, answer: str, *, reference: str = "", contexts=(CONTEXT,)) -> dict:
    return answer_metrics(
        question=QUESTION,
        answer=answer,
        reference=reference,
        retrieved_ids=["kb-1", "kb-2"],
        reference_ids=["kb-1"],
        contexts=contexts,
        judge=judge,
    )


def test_faithfulness_is_the_share_of_statements_the_context_supports(llm_server, judge):
    llm_server.script(default=RuleJudge())
    faithful = "Open Settings and choose Reset password. Links expire in one hour."
    invented = "Call the billing team. They reset it by phone."
    half = "Open Settings and choose Reset password. Call the billing team."
    assert score(judge, faithful)["ragas_faithfulness"] == 1.0
    assert score(judge, invented)["ragas_faithfulness"] == 0.0
    assert score(judge, half)["ragas_faithfulness"] == 0.5
    # The verdicts were asked against the passages the drafter saw.
    nli = [r for r in llm_server.requests if "judge the faithfulness" in r.messages[-1]["content"]]
    assert nli and all("Links expire in one hour" in r.messages[-1]["content"] for r in nli)
    assert {r.body["model"] for r in llm_server.requests} == {"test-model"}
    assert judge.failures == {}


def test_factual_correctness_is_the_claim_f1_against_the_reference(llm_server, judge):
    llm_server.script(default=RuleJudge())
    reference = "Open Settings. Choose Reset password."
    # 3 claims, 2 in the reference (precision 2/3); both reference claims answered (recall 1).
    extra = score(judge, "Open Settings. Choose Reset password. Call support.", reference=reference)
    assert extra["ragas_factual_correctness"] == 0.8
    assert score(judge, reference, reference=reference)["ragas_factual_correctness"] == 1.0
    assert score(judge, "Call support.", reference=reference)["ragas_factual_correctness"] == 0.0


def test_response_relevancy_compares_generated_questions_with_our_embedder(
    llm_server, judge, embedder
):
    on_topic, off_topic, evasive = (
        "Open Settings and choose Reset password.",
        "Billing runs on the first day of the month.",
        "I am not sure, it depends.",
    )
    asked_back = {on_topic: QUESTION, off_topic: "When does billing run each month?"}
    llm_server.script(default=RuleJudge(questions=asked_back))
    assert score(judge, on_topic)["ragas_answer_relevancy"] == 1.0
    got = score(judge, off_topic)["ragas_answer_relevancy"]
    vectors = embedder.embed([QUESTION, asked_back[off_topic]])
    assert got == pytest.approx(float(vectors[0] @ vectors[1]), abs=1e-4)
    assert 0.0 < got < 0.5
    assert score(judge, evasive)["ragas_answer_relevancy"] == 0.0  # noncommittal
    # ragas' default strictness: three questions asked back per answer, embedded here, never
    # by the server.
    asked = [r for r in llm_server.requests if "Generate a question" in r.messages[-1]["content"]]
    assert len(asked) == 9
    assert not [r for r in llm_server.requests if r.path.endswith("/embeddings")]
    assert embedder.calls


@pytest.mark.parametrize(
    "failure",
    [Reply(status=500), "this is not JSON", Reply(text="{}", delay_s=5.0)],
    ids=["http-500", "garbage", "timeout"],
)
def test_a_failing_judge_scores_none_and_keeps_the_offline_metrics(llm_server, embedder, failure):
    llm_server.script(default=RuleJudge(fail={"BROKEN": failure}))
    judge = build_judge(
        settings=llm_server.settings(llm_max_retries=0, llm_timeout_s=0.5), embedder=embedder
    )
    try:
        broken = score(judge, "Open Settings. BROKEN reply.", reference="Open Settings.")
        fine = score(judge, "Open Settings. Choose Reset password.", reference="Open Settings.")
    finally:
        judge.close()
    assert {broken[k] for k in JUDGED} == {None}
    assert all(isinstance(broken[k], float) for k in OFFLINE)
    assert broken["ragas_id_based_context_recall"] == 1.0
    # The next question is judged as usual (claims: precision 1/2, recall 1).
    assert fine["ragas_faithfulness"] == 1.0 and fine["ragas_factual_correctness"] == 0.67
    assert judge.failures == dict.fromkeys(JUDGED, 1)


def test_metrics_without_inputs_are_none_but_not_failures(llm_server, judge):
    answer = "Open Settings and choose Reset password."
    llm_server.script(default=RuleJudge(questions={answer: QUESTION}))
    got = score(judge, answer, reference="", contexts=())
    assert got["ragas_faithfulness"] is None and got["ragas_factual_correctness"] is None
    assert got["ragas_answer_relevancy"] == 1.0
    assert judge.failures == {}


def test_no_judge_without_a_configured_llm(embedder):
    settings = Settings(llm_base_url="", llm_model="")
    assert build_judge(settings=settings, embedder=embedder) is None
    got = answer_metrics(
        question=QUESTION, answer="Open Settings.", reference="", retrieved_ids=[], reference_ids=[]
    )
    assert set(got) == set(OFFLINE)


def test_without_gold_ids_the_id_based_metrics_are_none_and_storable():
    """An unanswerable question has no gold ids: ragas would give NaN, which jsonb rejects."""
    got = answer_metrics(
        question=QUESTION,
        answer="Open Settings.",
        reference="Open Settings.",
        retrieved_ids=["kb-1"],
        reference_ids=[],
    )
    assert got["ragas_id_based_context_recall"] is None
    assert got["ragas_id_based_context_precision"] is None
    assert got["ragas_rouge_score"] == 1.0
    json.dumps(got, allow_nan=False)


def fake_prepare_answer(conn, *, thread, **_):
    """What prepare_answer gives the runner: retrieval, the draft and its sources, a decision."""
    asked = thread[-1].text
    answer = "Open Settings and choose Reset password." if "password" in asked else "BROKEN reply."
    chunk = SimpleNamespace(external_id="kb-1", content=CONTEXT)
    return SimpleNamespace(
        chunks=[chunk],
        draft=SimpleNamespace(text=answer, sources=[chunk], cited=[1]),
        decision=SimpleNamespace(action=SimpleNamespace(value="sent"), confidence=0.9, signals={}),
        timer=SimpleNamespace(as_ms=lambda: {"embed": 1.0, "retrieve": 1.0, "draft": 1.0}),
        sources=None,
    )


def test_run_questions_judges_each_answer_and_summarises_what_was_scored(
    llm_server, embedder, monkeypatch, conn
):
    monkeypatch.setattr("autocrm.evals.runner.prepare_answer", fake_prepare_answer)
    llm_server.script(default=RuleJudge(fail={"BROKEN": Reply(status=500)}))
    settings = llm_server.settings(llm_max_retries=0, llm_timeout_s=2.0)
    questions = [
        EvalQuestion("good", QUESTION, "Open Settings and choose Reset password.", ["kb-1"]),
        EvalQuestion("broken", "What is broken?", "It is not.", ["kb-1"]),
    ]
    run = run_questions(
        None,
        dataset=EvalDataset("tiny", questions, kb_source=None),
        embedder=embedder,
        chat_model=object(),  # drafting is faked; a chat model means the run is judged
        settings=settings,
    )
    good, broken = (r.metrics for r in run.results)
    assert good["ragas_faithfulness"] == 1.0 and good["ragas_factual_correctness"] == 1.0
    assert {broken[k] for k in JUDGED} == {None}
    # Averages skip the failed question; failures are counted.
    assert run.summary["ragas_faithfulness"] == 1.0
    assert run.summary["ragas_factual_correctness"] == 1.0
    assert run.summary["judge_failures"] == 3
    assert run.summary["ragas_rouge_score"] > 0
    # None (not NaN, which jsonb rejects) is what a failed judgement stores.
    run_id = store_run(conn, run=run, name="judged", split="dev", settings=settings)
    stored = conn.execute(
        "SELECT question_id, metrics FROM eval_results WHERE run_id = %s ORDER BY question_id",
        (run_id,),
    ).fetchall()
    assert (
        stored[0]["question_id"] == "broken" and stored[0]["metrics"]["ragas_faithfulness"] is None
    )
    assert stored[1]["metrics"]["ragas_faithfulness"] == 1.0


def test_summary_skips_none_and_nan_and_gives_none_when_nothing_was_judged():
    def result(value: float | None) -> QuestionResult:
        metrics = dict.fromkeys(("recall@1", "recall@5", "recall@10", "hit@5", "mrr@10"), 1.0)
        metrics |= {"ndcg@10": 1.0} | dict.fromkeys(OFFLINE, 0.5)
        metrics |= {"ragas_faithfulness": value, "ragas_answer_relevancy": None}
        q = EvalQuestion("q", "question", "reference", ["kb-1"])
        return QuestionResult(q, ["kb-1"], metrics, "sent", 0.9, {}, {}, "answer")

    summary = summarise([result(1.0), result(None), result(float("nan")), result(0.5)])
    assert summary["ragas_faithfulness"] == 0.75
    assert summary["ragas_answer_relevancy"] is None
    assert summary["ragas_rouge_score"] == 0.5
