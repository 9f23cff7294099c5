"""``autocrm bench …``: performance benchmarks (mount ``app`` as ``bench``)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from autocrm.cli.bench_load import bench_load_command
from autocrm.cli.bench_retrieval import bench_retrieval_command
from autocrm.cli.checks import require_local_model, require_shared_files
from autocrm.core.errors import InvalidInput
from autocrm.core.settings import Settings

app = typer.Typer(
    help="Performance benchmarks (ingestion, retrieval, the API under load).", no_args_is_help=True
)
app.command("retrieval")(bench_retrieval_command)
app.command("load")(bench_load_command)


@app.command("ingest")
def bench_ingest_command(
    pages: int = typer.Option(300, "--pages", min=1, help="pages of the AWS help centre (sample)"),
    full: bool = typer.Option(False, "--full", help="all 2,757 pages (overrides --pages)"),
    backend: str = typer.Option(
        None, "--backend", help="torch | onnx | auto [default: the embedding_backend setting]"
    ),
    skip_llamaindex: bool = typer.Option(
        False, "--skip-llamaindex", help="do not run llama-index's ingestion for comparison"
    ),
    skip_backends: bool = typer.Option(
        False, "--skip-backends", help="do not time the other backends nor run the quality gate"
    ),
    repeats: int = typer.Option(3, min=1, help="model-only timings per backend"),
    llamaindex_repeats: int = typer.Option(
        None,
        "--llamaindex-repeats",
        min=1,
        help="interleaved rounds of ours vs llama-index per precision [default: --repeats]",
    ),
    gate_pages: int = typer.Option(
        300, "--gate-pages", min=1, help="pages besides the gold pages in the quality gate"
    ),
    json_out: Path | None = typer.Option(None, "--json-out", help="write every figure as JSON"),
) -> None:
    """Benchmark ingestion of the AWS help centre: end to end, model only, llama-index, backends.

    In one process, on a fresh database of an embedded server in a temp dir: end-to-end ingestion
    vs encoding the same chunks alone (target ≥ 0.85), a re-run with nothing changed (≤ 5%),
    llama-index's standard path on the same pages (≥ 2×), and the backends torch fp32, torch bf16
    and onnx int8 with their quality gate (cosine ≥ 0.99 to fp32, recall@5 within 1 point).

    Prints PASS/FAIL per target and a Markdown table for the README.

    Example: autocrm bench ingest --pages 300 --backend auto --json-out bench-ingest.json
    """
    from autocrm.bench.ingest import KB_DIR, render_markdown, run_bench

    settings = Settings()
    backend = backend or settings.embedding_backend
    if backend not in ("torch", "onnx", "auto"):
        raise InvalidInput(f"--backend must be torch, onnx or auto (got {backend!r})")
    require_shared_files(KB_DIR, needed_by="bench ingest (the AWS help centre)")
    require_local_model(settings)
    report = run_bench(
        settings=settings,
        pages=None if full else pages,
        backend=backend,
        llamaindex=not skip_llamaindex,
        backends=not skip_backends,
        repeats=repeats,
        llamaindex_repeats=llamaindex_repeats,
        gate_pages=gate_pages,
        progress=lambda line: typer.echo(line, err=True),
    )
    for line in summary_lines(report):
        typer.echo(line)
    typer.echo("\n" + render_markdown(report))
    if json_out:
        json_out.write_text(json.dumps(report, indent=2), encoding="utf-8")
        typer.echo(f"\nwrote {json_out}")


def summary_lines(r: dict) -> list[str]:
    e2e, mo, second = r["end_to_end"], r["model_only"], r["second_run"]
    cps = mo["chunks_per_s"]
    verdict = {t["target"]: "PASS" if t["pass"] else "FAIL" for t in r["targets"]}
    lines = [
        f"\n{e2e['pages']:,} pages → {e2e['chunks_stored']:,} chunks, "
        f"{e2e['tokens_embedded']:,} tokens; backend {r['backend']} "
        f"(requested {r['backend_requested']})",
        f"end to end: {e2e['seconds']:.1f} s (CPU {e2e['cpu_seconds']:.1f} s): "
        f"{e2e['pages_per_s']:.2f} pages/s, {e2e['chunks_per_s']:.1f} chunks/s, "
        f"{e2e['tokens_per_s']:,.0f} tokens/s; peak RSS {e2e['peak_rss_mb']:,.0f} MB",
        "  seconds per stage: "
        + ", ".join(f"{k} {v:.2f}" for k, v in e2e["stage_seconds"].items()),
        f"  chunking alone (warm-up pass): {r['chunking_only']['seconds']:.1f} s",
        f"model only: {cps['median']:.1f} chunks/s median ({cps['min']:.1f}–{cps['max']:.1f}) "
        f"over {len(mo['seconds'])} runs of {mo['chunks']:,} chunks",
        f"  {verdict['end_to_end_over_model_only']}  end to end / model only "
        f"{r['end_to_end_over_model_only']:.2f} (CPU-time basis "
        f"{r['end_to_end_over_model_only_cpu']:.2f}; target ≥ 0.85)",
        f"second run: {second['seconds']:.2f} s ({second['unchanged']:,} unchanged)",
        f"  {verdict['second_run_over_first']}  second / first {second['over_first']:.1%} "
        "(target ≤ 5%)",
    ]
    if "llamaindex" in r:
        li, fp32 = r["llamaindex"], r["end_to_end_fp32"]
        like = li.get("like_for_like_precision", "fp32")
        for precision, run in li.get("runs", {"fp32": li}).items():
            lines.append(
                f"llama-index on torch {precision}: {run['pages']:,} pages, {run['nodes']:,} nodes "
                f"in {run['seconds']:.1f} s (CPU {run['cpu_seconds']:.1f} s): "
                f"{run['pages_per_s']:.2f} pages/s; stages "
                + ", ".join(f"{k} {v:.1f}" for k, v in run["stage_seconds"].items())
            )
        lines += [
            f"  {verdict['ours_over_llamaindex']}  like for like ({like} on both sides), ours "
            f"({r['backend']}) / theirs {li['ours_over_theirs']:.2f}× (CPU-time basis "
            f"{li['ours_over_theirs_cpu']:.2f}×; target ≥ 2×)",
            f"  like for like (fp32 on both sides), ours torch-fp32 / theirs: "
            f"{li['ours_fp32_over_theirs']:.2f}× (CPU-time basis "
            f"{li['ours_fp32_over_theirs_cpu']:.2f}×; {fp32['pages_per_s']:.2f} vs "
            f"{li['pages_per_s']:.2f} pages/s)",
        ]
        if like != "fp32":
            lines.append(
                f"  not like for like, ours ({r['backend']}) / theirs on fp32: "
                f"{li['ours_over_theirs_fp32']:.2f}× (CPU-time basis "
                f"{li['ours_over_theirs_fp32_cpu']:.2f}×)"
            )
    if "backends" not in r:
        return [*lines, f"peak RSS (this process): {r['peak_rss_mb']:,.0f} MB"]
    g = r["gate_corpus"]
    lines.append(
        f"backends (model only on {next(iter(r['backends'].values()))['model_only']['chunks']:,} "
        f"chunks; gate on {g['chunks']:,} chunks of {g['pages']} pages, {g['questions']} questions):"
    )
    for key, b in r["backends"].items():
        c = b["model_only"]["chunks_per_s"]
        lines.append(
            f"  {'PASS' if b['pass'] else 'FAIL'}  {key:<11} {c['median']:5.1f} chunks/s "
            f"({c['min']:.1f}–{c['max']:.1f}); cosine min {b['cosine_min']:.4f} mean "
            f"{b['cosine_mean']:.4f}; recall@5 {b['recall_at_5']:.2f} (mixed "
            f"{b['recall_at_5_mixed']:.2f}) vs fp32 {b['recall_at_5_fp32']:.2f}; name {b['name']}"
        )
    lines.append(f"peak RSS (this process): {r['peak_rss_mb']:,.0f} MB")
    return lines


@app.command("peers")
def bench_peers_command(
    pages: int = typer.Option(
        300, "--pages", min=50, help="pages in all: the dev questions' gold pages + fixed others"
    ),
    queries: int = typer.Option(None, "--queries", min=1, help="first N dev questions [all 50]"),
    json_out: Path | None = typer.Option(None, "--json-out", help="write every figure as JSON"),
) -> None:
    """Retrieval quality and latency: our hybrid vs llama-index's two hybrid options.

    On the same AWS help-centre pages, chunk sizes, model (torch fp32) and top 10: ours
    (retrieve, mode hybrid), llama-index PGVectorStore hybrid_search (dense + text appended), and
    llama-index QueryFusionRetriever (RRF) over dense + BM25. Document-level recall@5, MRR@10,
    retrieval-call latency p50/p95 (query vectors computed beforehand).

    Example: autocrm bench peers --pages 300
    """
    from autocrm.bench.ingest import KB_DIR
    from autocrm.bench.peer_retrieval import render_markdown, run_bench

    settings = Settings()
    require_shared_files(KB_DIR, needed_by="bench peers (the AWS help centre)")
    require_local_model(settings)
    report = run_bench(
        settings=settings,
        pages=pages,
        queries=queries,
        progress=lambda line: typer.echo(f"[bench peers] {line}", err=True),
    )
    typer.echo("\n" + render_markdown(report))
    if json_out:
        json_out.write_text(json.dumps(report, indent=2), encoding="utf-8")
        typer.echo(f"\nwrote {json_out}")


@app.command("pages")
def bench_pages_command(
    tickets: int = typer.Option(10_000, "--tickets", min=1, help="tickets in the database"),
    requests: int = typer.Option(60, "--requests", min=5, help="measured requests per page"),
    suggestions: int = typer.Option(20, "--suggestions", min=1, help="streamed suggestions"),
) -> None:
    """Server-side render times of the inbox and the ticket view at 10,000 tickets, and the time
    to the first streamed token of an offline suggestion (targets: p95 ≤ 100 ms; ≤ 300 ms).

    On a fresh database of an embedded server in a temp dir, through the real app over HTTP with
    a session cookie; prints p50, p95 and min–max per page.

    Example: autocrm bench pages --tickets 10000 --requests 60
    """
    from autocrm.bench.pages import report, run

    settings = Settings()
    require_local_model(settings)
    result = run(
        tickets=tickets,
        requests=requests,
        suggestions=suggestions,
        progress=lambda message: typer.echo(f"[bench pages] {message}", err=True),
    )
    typer.echo(report(result))
