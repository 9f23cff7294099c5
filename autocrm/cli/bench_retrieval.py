"""``autocrm bench retrieval``: retrieval latency and HNSW recall at 10k and 100k chunks."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from autocrm.core.errors import InvalidInput
from autocrm.core.settings import Settings


def bench_retrieval_command(
    sizes: str = typer.Option("10000,100000", help="corpus sizes in chunks, comma-separated"),
    queries: int = typer.Option(200, min=20, help="queries per measure (aws-docs-qa, then MTRAG)"),
    json_out: Path | None = typer.Option(None, "--json-out", help="write every figure as JSON"),
    keep_dir: Path | None = typer.Option(
        None, "--keep-dir", help="embedded server dir kept between runs (databases are reused)"
    ),
    cache_dir: Path | None = typer.Option(
        None, "--cache-dir", help="chunk texts + vectors cache [default: <data_dir>/bench-cache]"
    ),
    max_pages: int | None = typer.Option(
        None, "--max-pages", min=1, help="use only the first N help-centre pages as the base"
    ),
    tickets: int = typer.Option(50, min=0, help="answer_ticket calls timed (0: skip)"),
    noise: float = typer.Option(0.02, min=0, help="sigma per dimension for copies' vectors"),
    seed: int = typer.Option(7, help="page order and perturbation seed"),
    explain: bool = typer.Option(False, "--explain", help="print EXPLAIN ANALYZE of slowest calls"),
) -> None:
    """Benchmark retrieve and offline suggestions at 10k and 100k chunks, with HNSW recall@10.

    The AWS help centre is chunked and embedded once (cached under --cache-dir).

    Sizes above it add copies of pages: texts perturbed, vectors = base + noise (not re-embedded).

    Each size: fresh database, binary COPY, HNSW built after the load, then VACUUM ANALYZE.

    Prints p50/p95/p99 per retriever mode, recall@10, PASS/FAIL per target and a Markdown table.

    Example: autocrm bench retrieval --sizes 10000,100000 --queries 200 --json-out bench.json
    """
    from autocrm.bench.retrieval import (
        KB_DIR,
        MTRAG_TASKS,
        QUESTIONS,
        fmt,
        render_markdown,
        run_bench,
    )
    from autocrm.cli.checks import require_shared_files
    from autocrm.pipeline.embedder import build_embedder

    try:
        size_list = [int(s.replace("_", "")) for s in sizes.split(",") if s.strip()]
    except ValueError as exc:
        raise InvalidInput(f"--sizes must be integers, e.g. 10000,100000 (got {sizes!r})") from exc
    if not size_list or min(size_list) < 100:
        raise InvalidInput("--sizes needs at least one size of 100 chunks or more")
    require_shared_files(
        KB_DIR, QUESTIONS, MTRAG_TASKS, needed_by="bench retrieval (aws-docs-qa and MTRAG)"
    )
    settings = Settings()
    embedder = build_embedder(settings)  # loads the model: a missing one fails here, first
    report = run_bench(
        sizes=size_list,
        n_queries=queries,
        embedder=embedder,
        settings=settings,
        cache_dir=cache_dir or settings.data_dir / "bench-cache",
        keep_dir=keep_dir,
        max_pages=max_pages,
        tickets=tickets,
        seed=seed,
        sigma=noise,
        progress=lambda line: typer.echo(line, err=True),
    )
    for res in report["sizes"]:
        load = res["load"]
        typer.echo(
            f"\n{res['chunks']:,} chunks ({load['checks']['articles']:,} articles, "
            f"{load['checks']['postings']:,} postings, {load['checks']['terms']:,} terms; "
            f"kb_corpus.n_chunks = {load['checks']['corpus_n_chunks']:,}); load seconds: "
            + ", ".join(f"{k} {v:.1f}" for k, v in load["seconds"].items())
            + (" (database reused)" if load["reused"] else "")
        )
        stages = ", ".join(f"{k} {v:.1f}" for k, v in res["suggestion_stage_mean_ms"].items())
        typer.echo(f"  offline suggestion, mean ms per stage: {stages}")
        worst = res["recall"]
        typer.echo(
            f"  recall@10 {worst['mean']:.3f} (aws-docs-qa {fmt(worst['mean_aws_docs_qa'])}, "
            f"MTRAG {fmt(worst['mean_mtrag'])}; ef_search {worst['ef_search']}); "
            f"worst {worst['min']:.1f}: {worst['worst_query'][:80]!r}"
        )
        typer.echo(
            f"  HNSW index used by the recall query: {worst['uses_hnsw']}, "
            f"by retrieve's dense plan: {res['retrieve_dense_uses_hnsw']}"
        )
        for t in res["targets"]:
            sign = "≤" if t["at_most"] else "≥"
            typer.echo(
                f"  {'PASS' if t['pass'] else 'FAIL'}  {t['target']}: {t['value']:.3f}{t['unit']} "
                f"(target {sign} {t['limit']:g}{t['unit']})"
            )
        for mode, slow in res["slowest"].items():
            typer.echo(f"  slowest {mode}: {slow['ms']:.1f} ms for {slow['query'][:80]!r}")
            if explain:
                typer.echo(res["plans"][mode])
    typer.echo("\n" + render_markdown(report))
    if json_out:
        json_out.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
        typer.echo(f"\nwrote {json_out}")
