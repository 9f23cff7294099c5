"""Peer side of the ingestion benchmark: llama-index's standard ingestion path, offline, CPU.

Measured (``seconds``): one real ``IngestionPipeline.run(documents=...)`` with
``[MarkdownNodeParser(), SentenceSplitter(chunk_tokens, overlap_tokens), HuggingFaceEmbedding]``
and ``PGVectorStore`` (pgvector, HNSW ``vector_cosine_ops`` m=16 ef_construction=256 like our
``kb_chunks``) into a freshly dropped and created database: Markdown text in, vectors committed out.
The pipeline keeps its default in-memory transformation cache (part of the standard path).

Not measured: model loading (``model_load_seconds``); a one-page warm-up of the splitters and
the model outside the pipeline, so lazy imports and torch's first call are not charged to the run
(``warmup_seconds``); database/table/index creation (``setup_seconds``); the final token count.
``stage_seconds`` splits the same run with llama-index's own instrumentation spans: ``embed`` is
the ``get_text_embedding_batch`` span, ``parse`` everything before it (Markdown and sentence
splitting, cache hashing), ``write`` everything after it (``PGVectorStore.add``, cache put).
Chunk sizes are counted with the embedding model's own WordPiece tokenizer (not tiktoken), so
``chunk_tokens`` means the same as in our pipeline. Everything runs offline: HF_HUB_OFFLINE and
TRANSFORMERS_OFFLINE are set before llama-index is imported, and the LLM is a MockLLM.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from autocrm.core.offline import forbid_downloads

DATASET = Path("/work/shared/datasets/aws-docs-qa/kb")
EMBED_DIM = 384
HNSW = {
    "hnsw_m": 16,
    "hnsw_ef_construction": 256,
    "hnsw_ef_search": 40,
    "hnsw_dist_method": "vector_cosine_ops",
}


def _connection_strings(server_url: str, database: str) -> tuple[str, str]:
    """SQLAlchemy URLs (psycopg2, asyncpg) for ``database`` on the server of a libpq URL.

    Works for the embedded server's Unix socket: ``postgresql://postgres:@/postgres?host=/sock/dir``
    becomes ``postgresql+psycopg2://postgres@/DB?host=/sock/dir`` (and ``+asyncpg``).
    """
    parts = urlsplit(server_url)
    user = parts.username or "postgres"
    auth = f"{user}:{parts.password}@" if parts.password else f"{user}@"
    netloc = auth + (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items() if k in ("host", "port")}
    tail = ("?" + "&".join(f"{k}={v}" for k, v in query.items())) if query else ""
    return (
        f"postgresql+psycopg2://{netloc}/{database}{tail}",
        f"postgresql+asyncpg://{netloc}/{database}{tail}",
    )


def fresh_store(*, server_url: str, table: str, **options: Any) -> Any:
    """A PGVectorStore in a scratch database ``table`` (dropped and recreated), built as the
    benchmarks compare it (``HNSW``); ``options``: more PGVectorStore parameters (hybrid search)."""
    from llama_index.vector_stores.postgres import PGVectorStore

    from autocrm.db.connect import drop_database, ensure_database

    drop_database(server_url=server_url, name=table)
    ensure_database(server_url=server_url, name=table)
    sync_url, async_url = _connection_strings(server_url, table)
    return PGVectorStore.from_params(
        connection_string=sync_url,
        async_connection_string=async_url,
        table_name=table,
        embed_dim=EMBED_DIM,
        hnsw_kwargs=dict(HNSW),
        **options,
    )


def ingest_with_llamaindex(
    *,
    server_url: str,
    docs: list[tuple[str, str]],
    model_path: str,
    chunk_tokens: int = 256,
    overlap_tokens: int = 32,
    batch_size: int = 64,
    table: str = "li_bench",
    precision: str = "fp32",
) -> dict[str, Any]:
    """Ingest docs [(doc_id, markdown_text)] via llama-index's standard path; return
    {"seconds", "nodes", "tokens", "cpu_seconds", "stage_seconds", "model_load_seconds",
    "warmup_seconds", "setup_seconds"}. ``tokens``: WordPiece tokens of the text as embedded
    (chunk plus its ``header_path`` metadata line; no special tokens, before the model's 256 cut).

    ``table`` names both the scratch database (dropped and recreated) and the llama-index table
    (``data_<table>``). ``precision``: "fp32", or "bf16" (the model loaded in bfloat16 through
    HuggingFaceEmbedding's ``model_kwargs``, as our torch-bf16 backend runs it: like for like).
    """
    from autocrm.db.server import APP_DATABASE

    # Read by huggingface_hub/transformers at *their* import.
    forbid_downloads()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from llama_index.core import Document, Settings
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.instrumentation import get_dispatcher
    from llama_index.core.instrumentation.span_handlers import SimpleSpanHandler
    from llama_index.core.llms import MockLLM
    from llama_index.core.node_parser import MarkdownNodeParser, SentenceSplitter
    from llama_index.core.schema import MetadataMode
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from transformers import AutoTokenizer

    if table in (APP_DATABASE, "postgres", "template0", "template1"):
        raise ValueError(f"refusing to drop database {table!r}: pick a scratch name")

    Settings.llm = MockLLM()  # never resolve the OpenAI default (same as `= None`, minus its print)
    t0 = time.perf_counter()
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision must be fp32 or bf16, not {precision!r}")
    model_kwargs: dict[str, Any] = {}
    if precision == "bf16":
        import torch

        model_kwargs["torch_dtype"] = torch.bfloat16
    embed_model = HuggingFaceEmbedding(
        model_name=model_path, device="cpu", embed_batch_size=batch_size, model_kwargs=model_kwargs
    )
    # Whole Markdown sections get measured before splitting: lift the 512 limit (only a warning).
    tokenize = AutoTokenizer.from_pretrained(model_path, model_max_length=10**9).tokenize
    model_load = time.perf_counter() - t0

    t0 = time.perf_counter()
    store = fresh_store(server_url=server_url, table=table)
    store._initialize()  # extension, table, HNSW index: setup, not ingestion
    pipeline = IngestionPipeline(
        transformations=[
            MarkdownNodeParser(),
            SentenceSplitter(
                chunk_size=chunk_tokens, chunk_overlap=overlap_tokens, tokenizer=tokenize
            ),
            embed_model,
        ],
        vector_store=store,
    )
    documents = [Document(text=text, id_=doc_id) for doc_id, text in docs]
    setup = time.perf_counter() - t0

    t0 = time.perf_counter()
    # Longer than one chunk, or SentenceSplitter returns early and its sentence splitter stays cold.
    warm = [Document(text="# Warm-up\n\n" + " ".join(f"Sentence {i}." for i in range(300)))]
    for transform in pipeline.transformations:
        warm = transform(warm)
    warmup = time.perf_counter() - t0

    spans = SimpleSpanHandler()
    dispatcher = get_dispatcher()  # root: receives spans from every module
    dispatcher.add_span_handler(spans)
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        nodes = pipeline.run(documents=documents)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        dispatcher.span_handlers.remove(spans)
        store.client.dispose()  # `store.close()` is a coroutine in 0.9.0

    stage_seconds: dict[str, float] = {}
    embeds = [s for s in spans.completed_spans if ".get_text_embedding_batch-" in s.id_]
    runs = [s for s in spans.completed_spans if s.id_.startswith("IngestionPipeline.run-")]
    if embeds and runs and runs[0].end_time is not None:
        first = min(s.start_time for s in embeds)
        last = max(s.end_time for s in embeds if s.end_time is not None)
        stage_seconds = {
            "parse": (first - runs[0].start_time).total_seconds(),
            "embed": sum(s.duration for s in embeds),
            "write": (runs[0].end_time - last).total_seconds(),
        }
    tokens = sum(len(tokenize(n.get_content(metadata_mode=MetadataMode.EMBED))) for n in nodes)
    return {
        "seconds": seconds,
        "nodes": len(nodes),
        "tokens": tokens,
        "cpu_seconds": cpu,  # this process, all threads: less sensitive to a busy machine
        "stage_seconds": stage_seconds,
        "model_load_seconds": model_load,
        "warmup_seconds": warmup,
        "setup_seconds": setup,
    }


def load_pages(n: int, root: Path = DATASET) -> list[tuple[str, str]]:
    """The first ``n`` pages (sorted by path) as [(guide/file, markdown)]."""
    paths = sorted(root.glob("*/doc_source/*.md"))[:n]
    return [(f"{p.parts[-3]}/{p.name}", p.read_text(encoding="utf-8")) for p in paths]


def main(argv: list[str] | None = None) -> None:
    warnings.filterwarnings("ignore")
    from autocrm.core.settings import default_model_path
    from autocrm.db.server import start_embedded

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--pages", type=int, default=50)
    ap.add_argument("--pgdata", type=Path, default=Path("/tmp/li-bench/pgdata"))
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args(argv)

    docs = load_pages(args.pages)
    r = ingest_with_llamaindex(
        server_url=start_embedded(args.pgdata),
        docs=docs,
        model_path=default_model_path(),
        batch_size=args.batch_size,
    )
    s = r["seconds"]
    print(
        f"llama-index: {len(docs)} pages, {r['nodes']} nodes, {r['tokens']} tokens "
        f"in {s:.2f} s (cpu {r['cpu_seconds']:.1f} s): {len(docs) / s:.2f} pages/s, "
        f"{r['nodes'] / s:.1f} nodes/s; untimed: model load {r['model_load_seconds']:.2f} s, "
        f"warm-up {r['warmup_seconds']:.2f} s, setup {r['setup_seconds']:.2f} s"
    )
    if r["stage_seconds"]:
        print("stages: " + ", ".join(f"{k} {v:.2f} s" for k, v in r["stage_seconds"].items()))


if __name__ == "__main__":
    main()
