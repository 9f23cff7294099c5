"""Retrieval quality and latency, ours vs llama-index's hybrid options (``autocrm bench peers``).

Like for like on the AWS help centre: the 50 dev questions' gold pages plus fixed random others
(``gate_corpus``'s choice, ``pages`` in all), the same chunk sizes (``settings.chunking``, model
tokens), the same model files on torch fp32 on both sides, top 10:

- ``ours``: ``ingest.job.ingest`` into a fresh database of an embedded server in a temp dir, then
  ``pipeline.retrieval.retrieve`` (mode hybrid, the configured fusion) per question;
- ``li-pg-hybrid``: llama-index's standard path (``bench.llamaindex``: MarkdownNodeParser +
  SentenceSplitter on the model's WordPiece tokenizer + HuggingFaceEmbedding) into a
  ``PGVectorStore(hybrid_search=True, text_search_config="english")``, queried with
  ``vector_store_query_mode="hybrid", similarity_top_k=10, sparse_top_k=10``: text hits appended
  to dense hits, not fused;
- ``li-fusion-rrf``: ``QueryFusionRetriever(mode="reciprocal_rerank", num_queries=1)`` over the dense
  ``VectorIndexRetriever`` of the same store and a BM25 retriever over the same nodes
  (``llama-index-retrievers-bm25``'s ``BM25Retriever`` when importable; otherwise ``_Bm25Retriever``
  below, a copy of its 0.8.0 indexing and query code on bm25s + PyStemmer, because the package
  declares ``pystemmer<3`` and the project pins PyStemmer 3.1.0).

Document level: a page counts once, at its first rank. recall@5 (one gold page per question, so
hit@5) and MRR@10. Latency: the retrieval call alone, the query vector computed beforehand by each
side's own embedder (ours: ``embed``; llama-index: ``get_query_embedding``, passed in the
``QueryBundle``), after one warm-up query; p50/p95 by ``bench.stats.percentile`` (linear).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from autocrm.bench.ingest import KB_DIR, SEED, build_variant, copy_pages, fresh_database
from autocrm.bench.llamaindex import HNSW, fresh_store
from autocrm.bench.stats import markdown_table, percentile
from autocrm.core.settings import Settings
from autocrm.db.connect import connect
from autocrm.db.server import start_embedded, stop_embedded
from autocrm.evals.datasets import load_dataset

TOP_K = 10
RECALL_K = 5
SYSTEMS = ("ours", "li-pg-hybrid", "li-fusion-rrf")


def _say(_: str) -> None:
    pass


# --- corpus and metrics -------------------------------------------------------------------------


def corpus_pages(
    kb_dir: Path, total: int, *, work: Path, seed: int = SEED
) -> tuple[list[str], list[str], list[str]]:
    """(pages, questions, gold): the dev questions' gold pages plus fixed random others, ``total``
    pages in all (at least the gold ones), as ``<guide>/doc_source/<page>.md``."""
    import random

    qs = load_dataset("aws-docs-qa", cache_dir=work).questions
    gold = [q.reference_context_ids[0] for q in qs]
    pool = sorted(p.relative_to(kb_dir).as_posix() for p in kb_dir.glob("*/doc_source/*.md"))
    wanted = set(gold)
    others = [p for p in pool if p not in wanted]
    extra = max(0, min(len(others), total - len(wanted)))
    pages = sorted(wanted | set(random.Random(seed).sample(others, extra)))
    return pages, [q.user_input for q in qs], gold


def doc_ranking(page_ids: Sequence[str], k: int = TOP_K) -> list[str]:
    """Distinct pages in first-seen order, at most ``k``."""
    out: list[str] = []
    for p in page_ids:
        if p not in out:
            out.append(p)
            if len(out) == k:
                break
    return out


def quality(rankings: Sequence[Sequence[str]], gold: Sequence[str]) -> dict[str, float]:
    hits, rr = 0, 0.0
    for ranking, want in zip(rankings, gold, strict=True):
        hits += want in ranking[:RECALL_K]
        if want in ranking[:TOP_K]:
            rr += 1 / (ranking.index(want) + 1)
    n = len(gold)
    return {"recall_at_5": hits / n, "mrr_at_10": rr / n}


def timed_runs(fn: Callable[[int], list[str]], n: int) -> tuple[list[list[str]], list[float]]:
    fn(0)  # warm-up: first-call planning, lazy imports
    rankings, ms = [], []
    for i in range(n):
        t0 = time.perf_counter()
        ids = fn(i)
        ms.append((time.perf_counter() - t0) * 1000)
        rankings.append(doc_ranking(ids))
    return rankings, ms


def _summary(rankings, ms, gold, **extra) -> dict:
    return (
        quality(rankings, gold)
        | {
            "p50_ms": percentile(ms, 50),
            "p95_ms": percentile(ms, 95),
            "latency_ms": ms,
            "rankings": rankings,
        }
        | extra
    )


# --- ours ---------------------------------------------------------------------------------------


def run_ours(server_url: str, source: Path, questions, gold, embedder, settings: Settings) -> dict:
    from autocrm.ingest.job import ingest
    from autocrm.pipeline.retrieval import retrieve

    url = fresh_database(server_url, "bench_peers")
    rs = settings.retrieval.model_copy(update={"mode": "hybrid", "top_k": TOP_K})
    with connect(url, autocommit=True) as conn:
        t0 = time.perf_counter()
        report = ingest(  # like for like: the peers store no answer-unit vectors
            conn,
            source_path=source,
            embedder=embedder,
            chunking=settings.chunking,
            answer_units=False,
        )
        ingest_s = time.perf_counter() - t0
        if report.failed:
            raise RuntimeError(f"ingestion had {report.failed} failures: {report.errors[:3]}")
        chunks = conn.execute("SELECT count(*) AS n FROM kb_chunks").fetchone()["n"]
        vectors = embedder.embed(questions)

        def one(i: int) -> list[str]:
            got = retrieve(conn, query=questions[i], query_vector=vectors[i], settings=rs)
            return [c.external_id for c in got]

        rankings, ms = timed_runs(one, len(questions))
    return _summary(
        rankings,
        ms,
        gold,
        chunks=chunks,
        ingest_s=ingest_s,
        config=f"{embedder.variant.key}; fusion {rs.fusion} at {rs.fusion_level} level, "
        f"rrf_k {rs.rrf_k}, dense weight {rs.dense_weight}, candidates {rs.candidates}, "
        f"per_article {rs.per_article}, top_k {rs.top_k}",
    )


# --- llama-index --------------------------------------------------------------------------------


def _bm25_class():
    """``llama_index.retrievers.bm25.BM25Retriever`` if installed, else the local copy."""
    try:
        from llama_index.retrievers.bm25 import BM25Retriever

        return BM25Retriever, "llama-index-retrievers-bm25"
    except ImportError:
        return _local_bm25(), "local copy of llama-index-retrievers-bm25 0.8.0 (bm25s + PyStemmer)"


def _local_bm25():
    import bm25s
    import Stemmer
    from llama_index.core.base.base_retriever import BaseRetriever
    from llama_index.core.schema import MetadataMode, NodeWithScore

    class _Bm25Retriever(BaseRetriever):
        """llama-index-retrievers-bm25 0.8.0's ``BM25Retriever``, its default path only: nodes'
        EMBED-mode content tokenized by ``bm25s.tokenize`` (English stopwords, English Snowball
        stemmer, ``(?u)\\b\\w\\w+\\b``), ``bm25s.BM25()`` defaults, query tokenized the same way
        (stemmed; no stopword list, as there)."""

        token_pattern = r"(?u)\b\w\w+\b"

        def __init__(self, nodes, similarity_top_k: int) -> None:
            self.stemmer = Stemmer.Stemmer("english")
            self.nodes = list(nodes)
            self.similarity_top_k = min(similarity_top_k, len(self.nodes))
            tokens = bm25s.tokenize(
                [n.get_content(metadata_mode=MetadataMode.EMBED) for n in self.nodes],
                stopwords="en",
                stemmer=self.stemmer,
                token_pattern=self.token_pattern,
                show_progress=False,
            )
            self.bm25 = bm25s.BM25()
            self.bm25.index(tokens, show_progress=False)
            super().__init__()

        @classmethod
        def from_defaults(cls, *, nodes, similarity_top_k: int):
            return cls(nodes, similarity_top_k)

        def _retrieve(self, query_bundle):
            q = bm25s.tokenize(
                query_bundle.query_str,
                stemmer=self.stemmer,
                token_pattern=self.token_pattern,
                show_progress=False,
            )
            idx, scores = self.bm25.retrieve(q, k=self.similarity_top_k, show_progress=False)
            return [
                NodeWithScore(node=self.nodes[int(i)], score=float(s))
                for i, s in zip(idx[0], scores[0], strict=True)
            ]

    return _Bm25Retriever


def run_llamaindex(
    server_url: str,
    docs: list[tuple[str, str]],
    questions,
    gold,
    settings: Settings,
    *,
    batch_size: int = 64,
    table: str = "li_peers",
    progress: Callable[[str], None] = _say,
) -> dict[str, dict]:
    from autocrm.core.offline import forbid_downloads

    forbid_downloads()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from llama_index.core import Document, QueryBundle, VectorStoreIndex
    from llama_index.core import Settings as LISettings
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.llms import MockLLM
    from llama_index.core.node_parser import MarkdownNodeParser, SentenceSplitter
    from llama_index.core.retrievers import QueryFusionRetriever, VectorIndexRetriever
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from transformers import AutoTokenizer

    LISettings.llm = MockLLM()
    model_path = str(settings.embedding_model)
    embed_model = HuggingFaceEmbedding(
        model_name=model_path, device="cpu", embed_batch_size=batch_size
    )
    LISettings.embed_model = embed_model
    tokenize = AutoTokenizer.from_pretrained(model_path, model_max_length=10**9).tokenize

    store = fresh_store(
        server_url=server_url, table=table, hybrid_search=True, text_search_config="english"
    )
    pipeline = IngestionPipeline(
        transformations=[
            MarkdownNodeParser(),
            SentenceSplitter(
                chunk_size=settings.chunking.chunk_tokens,
                chunk_overlap=settings.chunking.overlap_tokens,
                tokenizer=tokenize,
            ),
            embed_model,
        ],
        vector_store=store,
    )
    progress(f"llama-index: ingesting {len(docs)} pages (hybrid PGVectorStore)")
    t0 = time.perf_counter()
    nodes = pipeline.run(documents=[Document(text=text, id_=doc_id) for doc_id, text in docs])
    ingest_s = time.perf_counter() - t0
    node_page = {n.node_id: n.ref_doc_id for n in nodes}
    if None in node_page.values():
        raise RuntimeError("llama-index nodes lost their source document id")

    vectors = [embed_model.get_query_embedding(q) for q in questions]
    bundles = [
        QueryBundle(query_str=q, embedding=v) for q, v in zip(questions, vectors, strict=True)
    ]

    def pages_of(results) -> list[str]:
        return [node_page.get(r.node.node_id) or r.node.ref_doc_id for r in results]

    index = VectorStoreIndex.from_vector_store(store, embed_model=embed_model)
    out: dict[str, dict] = {}
    try:
        hybrid = index.as_retriever(
            vector_store_query_mode="hybrid", similarity_top_k=TOP_K, sparse_top_k=TOP_K
        )

        def measure(name: str, label: str, retriever, config: str) -> None:
            progress(f"llama-index: {label} queries")
            rankings, ms = timed_runs(
                lambda i: pages_of(retriever.retrieve(bundles[i])), len(questions)
            )
            out[name] = _summary(
                rankings, ms, gold, chunks=len(nodes), ingest_s=ingest_s, config=config
            )

        measure(
            "li-pg-hybrid",
            "PGVectorStore hybrid",
            hybrid,
            "PGVectorStore(hybrid_search=True, text_search_config='english'), "
            f"similarity_top_k {TOP_K} + sparse_top_k {TOP_K} (appended, deduplicated), "
            f"hnsw ef_search {HNSW['hnsw_ef_search']}",
        )

        bm25_cls, bm25_name = _bm25_class()
        dense = VectorIndexRetriever(index=index, similarity_top_k=TOP_K)
        bm25 = bm25_cls.from_defaults(nodes=nodes, similarity_top_k=TOP_K)
        fusion = QueryFusionRetriever(
            [dense, bm25],
            mode="reciprocal_rerank",
            num_queries=1,
            use_async=False,
            similarity_top_k=TOP_K,
            llm=MockLLM(),
        )
        measure(
            "li-fusion-rrf",
            "QueryFusionRetriever (RRF)",
            fusion,
            f"QueryFusionRetriever(reciprocal_rerank, num_queries 1) over dense top "
            f"{TOP_K} + BM25 top {TOP_K} ({bm25_name}); BM25 in process (bm25s), dense in Postgres",
        )
    finally:
        store.client.dispose()
    return out


# --- the run ------------------------------------------------------------------------------------


def run_bench(
    *,
    settings: Settings,
    pages: int = 300,
    queries: int | None = None,
    kb_dir: Path = KB_DIR,
    progress: Callable[[str], None] = _say,
) -> dict:
    warnings.filterwarnings("ignore")
    if not kb_dir.is_dir():
        raise FileNotFoundError(f"{kb_dir} not found (the shared datasets live in ../shared)")
    work = Path(tempfile.mkdtemp(prefix="autocrm-bench-peers-"))
    work.chmod(0o755)  # the embedded server may run as its own OS user
    pgdata = work / "pgdata"
    try:
        selected, questions, gold = corpus_pages(kb_dir, pages, work=work)
        if queries is not None:
            questions, gold = questions[:queries], gold[:queries]
        source = copy_pages([kb_dir / p for p in selected], kb_dir=kb_dir, dest=work / "kb")
        docs = [(p, (source / p).read_text(encoding="utf-8")) for p in selected]
        progress(
            f"{len(selected)} pages ({len(set(gold))} gold), {len(questions)} questions; "
            "starting the embedded server"
        )
        server_url = start_embedded(pgdata)
        progress("ours: loading torch-fp32 and ingesting")
        embedder = build_variant("torch-fp32", settings)
        systems = {"ours": run_ours(server_url, source, questions, gold, embedder, settings)}
        del embedder
        systems |= run_llamaindex(server_url, docs, questions, gold, settings, progress=progress)
        return {"pages": len(selected), "questions": len(questions), "systems": systems}
    finally:
        stop_embedded(pgdata)
        shutil.rmtree(work, ignore_errors=True)


def render_markdown(r: dict) -> str:
    s = r["systems"]
    rows = [
        (
            name,
            f"{x['recall_at_5']:.2f}",
            f"{x['mrr_at_10']:.3f}",
            f"{x['p50_ms']:.1f}",
            f"{x['p95_ms']:.1f}",
            f"{x['chunks']:,}",
        )
        for name, x in s.items()
    ]
    lines = [
        f"{r['pages']} pages of the AWS help centre (the dev questions' gold pages + fixed others), "
        f"{r['questions']} dev questions; document level, top {TOP_K}; latency of the retrieval "
        "call alone (query vector computed beforehand), one process, 2 CPU cores.",
        "",
        *markdown_table(
            ("system", "recall@5", "MRR@10", "p50 ms", "p95 ms", "chunks"),
            rows,
            align="lrrrrr",
        ),
        "",
    ]
    ours = s["ours"]
    ratio_rows = []
    for name, x in s.items():
        if name == "ours":
            continue
        ratio_rows.append(
            (
                f"ours / {name}",
                _ratio(ours["recall_at_5"], x["recall_at_5"]),
                _ratio(ours["mrr_at_10"], x["mrr_at_10"]),
                _ratio(ours["p50_ms"], x["p50_ms"]),
                _ratio(ours["p95_ms"], x["p95_ms"]),
            )
        )
    lines += markdown_table(
        ("ratio", "recall@5", "MRR@10", "p50 (lower is faster)", "p95"),
        ratio_rows,
        align="lrrrr",
    )
    lines += ["", "Configurations:"] + [f"- {name}: {x['config']}" for name, x in s.items()]
    return "\n".join(lines)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "n/a"
