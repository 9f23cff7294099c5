"""``autocrm eval …``: retrieval and answer quality on real datasets."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import typer
from tqdm import tqdm

from autocrm.cli.context import open_db
from autocrm.core.errors import InvalidInput, NotFound
from autocrm.core.settings import Settings

app = typer.Typer(help="Evaluate retrieval and answers on datasets.", no_args_is_help=True)


def apply_overrides(settings: Settings, overrides: list[str]) -> Settings:
    """``--set retrieval.mode=bm25 --set chunking.chunk_tokens=128`` → a new Settings."""
    data = settings.model_dump()
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"--set needs key=value, got {item!r}")
        *path, leaf = key.split(".")
        node = data
        for part in path:
            if not isinstance(node.get(part), dict):
                raise typer.BadParameter(f"unknown setting {key!r}")
            node = node[part]
        if leaf not in node:
            raise typer.BadParameter(f"unknown setting {key!r}")
        try:
            node[leaf] = json.loads(value)
        except json.JSONDecodeError:
            node[leaf] = value
    return Settings.model_validate(data)


SHIPPED = "support-answers"
SHARED_SETS = ("aws-docs-qa", "mtrag")


def check_dataset(name: str, *, kb: Path | None) -> None:
    """A precise message for a dataset that is not there, before any work starts."""
    from autocrm.evals.datasets import SHARED

    alternative = f"`--dataset {SHIPPED}` ships with the repo"
    if name == SHIPPED:
        return
    if name in SHARED_SETS:
        if not (SHARED / name).is_dir():
            raise InvalidInput(
                f"dataset {name!r} not found: {SHARED / name} does not exist (the shared "
                f"datasets are not installed next to the repository); {alternative}"
            )
        return
    path = Path(name)
    if not path.exists():
        raise InvalidInput(
            f"dataset {name!r}: no such file {path.resolve()}; give a JSONL file, "
            f"{' or '.join(SHARED_SETS)} (../shared/datasets), or {SHIPPED} (ships with the repo)"
        )
    if not path.is_file():
        raise InvalidInput(f"dataset {name!r} is a directory; give a JSONL file of questions")
    if kb is None:
        raise InvalidInput(
            f"dataset {name!r} needs --kb SOURCE: the knowledge base its questions are asked "
            "against (a Markdown/HTML directory or a .json/.jsonl export)"
        )
    if not kb.exists():
        raise InvalidInput(f"--kb {kb}: no such file or directory")


@app.command("run")
def run(
    dataset: str = typer.Option(
        ..., help="support-answers (ships with the repo) | aws-docs-qa | mtrag | PATH to a JSONL"
    ),
    split: str = typer.Option("dev"),
    kb: Path = typer.Option(None, help="knowledge-base source for a JSONL dataset"),
    set_: list[str] = typer.Option([], "--set", help="override a setting: retrieval.mode=bm25"),
    name: str = typer.Option(None, help="run name (default: dataset + time)"),
    limit: int = typer.Option(0, help="only the first N questions (0 = all)"),
    json_out: Path = typer.Option(None, "--json-out", help="write the summary metrics here"),
    report_dir: Path = typer.Option(Path("reports"), help="where reports are written"),
) -> None:
    """Run the pipeline over a dataset and report retrieval, answer and decision metrics.

    Example: autocrm eval run --dataset mtrag --set retrieval.mode=hybrid --json-out mtrag.json
    """
    from datetime import datetime

    from autocrm.db.connect import resolve_url
    from autocrm.db.server import with_database
    from autocrm.evals.datasets import load_dataset
    from autocrm.evals.kb import eval_kb_url
    from autocrm.evals.report import write_report
    from autocrm.evals.runner import run_questions, store_run
    from autocrm.pipeline.resources import build_models

    settings = apply_overrides(Settings(), set_)
    settings.retrieval.top_k = max(settings.retrieval.top_k, 10)
    # Everything that can stop the run is checked before the knowledge base is ingested (that
    # can take many minutes): the dataset, the database's schema (the run is stored there at
    # the end), the models.
    check_dataset(dataset, kb=kb)
    open_db(settings).close()
    data = load_dataset(dataset, split=split, kb=kb, cache_dir=settings.data_dir / "eval-cache")
    if limit:
        data.questions = data.questions[:limit]
    if not data.questions:
        raise InvalidInput(f"dataset {dataset!r} has no questions in split {split!r}")
    embedder, chat = build_models(settings)
    app_url = resolve_url(settings)
    server = with_database(app_url, "postgres")
    kb_url, reused = eval_kb_url(
        server_url=server,
        source=data.kb_source,
        chunking=settings.chunking,
        embedder=embedder,
        progress=lambda it: tqdm(it, desc="ingest KB", disable=None),
    )
    typer.echo(f"knowledge base: {'reused' if reused else 'ingested'} ({kb_url})")
    from autocrm.db.connect import connect

    with connect(kb_url, autocommit=True) as conn:
        result = run_questions(
            conn,
            dataset=data,
            embedder=embedder,
            chat_model=chat,
            settings=settings,
            progress=lambda it: tqdm(it, desc="questions", disable=None),
        )
    run_name = name or f"{data.name}-{datetime.now():%Y%m%d-%H%M%S}"
    out = write_report(result, out_dir=report_dir / run_name, name=run_name)  # first: never lost
    if json_out:
        json_out.write_text(json.dumps(result.summary, indent=2))
    with open_db(settings) as conn:
        store_run(conn, run=result, name=run_name, split=split, settings=settings)
    write_report(result, out_dir=out, name=run_name)  # again, now with the run id
    for key, value in result.summary.items():
        typer.echo(f"  {key:<26} {value}")
    typer.echo(f"run {result.run_id}; report in {out}")


LIST_RUNS = """
SELECT id, name, dataset, split, status, started_at,
       (metrics ->> 'questions')::int AS questions, (metrics ->> 'hit@5')::float AS hit5,
       (metrics ->> 'mrr@10')::float AS mrr10
  FROM eval_runs ORDER BY started_at DESC LIMIT %s
"""
RUNS_HINT = "`autocrm eval runs` lists the stored runs"


@app.command("runs")
def runs_command(limit: int = typer.Option(20, "--limit", min=1, help="newest N runs")) -> None:
    """List stored eval runs, newest first: the names and ids compare and calibrate take.

    Example: autocrm eval runs --limit 5
    """
    with open_db(Settings()) as conn:
        rows = conn.execute(LIST_RUNS, (limit,)).fetchall()
    if not rows:
        typer.echo(
            "no eval runs yet: `autocrm eval run --dataset support-answers` makes one (the "
            "dataset ships with the repo)"
        )
        return
    typer.echo(f"{'started':<16} {'status':<9} {'questions':>9} {'hit@5':>6} {'mrr@10':>6}  name")
    for r in rows:
        figures = " ".join(
            f"{v:>6.3f}" if v is not None else f"{'-':>6}" for v in (r["hit5"], r["mrr10"])
        )
        typer.echo(
            f"{r['started_at']:%Y-%m-%d %H:%M} {r['status']:<9} {r['questions'] or 0:>9} "
            f"{figures}  {r['name']}  ({r['dataset']}/{r['split']}, id {r['id']})"
        )


def with_runs_hint(exc: NotFound) -> NotFound:
    return NotFound(f"{exc}; {RUNS_HINT}")


@app.command("compare")
def compare(
    run_a: str = typer.Argument(..., help="baseline run id or name"),
    run_b: str = typer.Argument(..., help="candidate run id or name"),
    show: int = typer.Option(20, help="how many changed questions to list"),
) -> None:
    """Per-metric deltas (B − A) with paired bootstrap 95% intervals, and changed questions.

    Example: autocrm eval compare mtrag-bm25 mtrag-hybrid
    """
    from autocrm.evals.compare import compare_runs

    with open_db(Settings()) as conn:
        try:
            result = compare_runs(conn, run_a=run_a, run_b=run_b)
        except NotFound as exc:
            raise with_runs_hint(exc) from exc
    typer.echo(
        f"A = {result.run_a['name']}  B = {result.run_b['name']}  "
        f"({result.paired} paired questions)"
    )
    typer.echo(f"{'metric':<12}{'A':>8}{'B':>8}{'B−A':>9}   95% CI")
    for d in result.deltas:
        mark = "*" if d.low > 0 or d.high < 0 else " "
        typer.echo(
            f"{d.metric:<12}{d.a:>8.3f}{d.b:>8.3f}{d.delta:>+9.3f}   "
            f"[{d.low:+.3f}, {d.high:+.3f}] {mark}"
        )
    typer.echo(f"\n{len(result.changed)} question(s) changed outcome (hit@5 or decision):")
    for c in result.changed[:show]:
        typer.echo(f"  {c['question_id']}: {c['before']} → {c['after']}  {c['question'][:70]}")


@app.command("gate-baseline")
def gate_baseline_command(
    run_ref: str = typer.Argument(..., help="a support-answers run (id or name), split all"),
    out: Path | None = typer.Option(
        None, help="where to write (default: evals/gate-complete.json)"
    ),
) -> None:
    """Record which replies of the tune part the run got complete: the CI gate then requires
    that they stay complete (``kept_complete``). Run it after a change that makes replies better,
    or a deliberate trade. Example: autocrm eval gate-baseline support-answers-20261205
    """
    from autocrm.evals.compare import complete_ids
    from autocrm.evals.datasets import load_dataset
    from autocrm.evals.gate import COMPLETE_BASELINE, write_complete_baseline

    settings = Settings()
    # the tune part only: which held-back replies are complete stays unread
    tune = load_dataset("support-answers", split="tune", cache_dir=settings.data_dir / "eval-cache")
    with open_db(settings) as conn:
        try:
            run, complete = complete_ids(conn, run=run_ref)
        except NotFound as exc:
            raise with_runs_hint(exc) from exc
    if run["dataset"] != "support-answers":
        raise InvalidInput(f"run {run['name']!r} is of {run['dataset']!r}, not support-answers")
    complete &= {q.id for q in tune.questions}
    out = out or COMPLETE_BASELINE
    write_complete_baseline(complete, run=run["name"], baseline=out)
    typer.echo(f"{len(complete)} complete replies of {run['name']!r} (tune part) written to {out}")


@app.command("calibrate")
def calibrate_command(
    runs: list[str] = typer.Argument(..., help="labelled runs (ids or names)"),
    target_precision: float = typer.Option(0.95, help="precision of 'sent' replies to reach"),
    write: bool = typer.Option(
        False,
        "--write",
        help="save to <data dir>/calibration.json, which the decision then uses (the package's "
        "calibration stays the default)",
    ),
) -> None:
    """Fit the decision's confidence to reply correctness; pick the send and hand-off thresholds.

    Fitted on the runs' tune part; the held-out part is reported.

    Example: autocrm eval calibrate support-answers-all mtrag-all --write
    """
    from autocrm.evals.calibrate import calibrate, save

    settings = Settings()
    with open_db(settings) as conn:
        try:
            result = calibrate(conn, runs=runs, target_precision=target_precision)
        except NotFound as exc:
            raise with_runs_hint(exc) from exc
    typer.echo(f"{result.n} questions; weights {json.dumps(result.weights)}")
    typer.echo("threshold  precision  recall  auto-send rate")
    for t, p, r, s in result.table[::5]:
        typer.echo(f"  {t:.2f}     {p:.3f}     {r:.3f}   {s:.3f}")
    typer.echo(
        f"chosen send threshold {result.send_threshold:.2f}: precision "
        f"{result.precision:.3f}, recall {result.recall:.3f} (tune, out-of-fold; only replies "
        f"the reply-level gates let through count as sent)"
    )
    typer.echo(f"hand-off below {result.draft_threshold:.2f}")
    if result.holdout:
        h = result.holdout
        typer.echo(
            f"held-out part ({h['n']} questions): precision {h['precision']:.3f} "
            f"({h['sent']} sent), recall {h['recall']:.3f}, send rate {h['send_rate']:.3f}, "
            f"answerable answered {h['answered']:.3f}"
        )
    if write:
        path = save(result, run_name="+".join(runs), data_dir=settings.data_dir)
        typer.echo(f"written to {path}; delete it to go back to the package's calibration")


@app.command("sweep")
def sweep_command(
    dataset: str = typer.Option(
        ..., help="support-answers (ships with the repo) | aws-docs-qa | mtrag | PATH"
    ),
    grid: list[str] = typer.Option(..., "--grid", help="key=v1,v2 (repeatable)"),
    kb: Path = typer.Option(None, help="knowledge-base source for a JSONL dataset"),
    limit: int = typer.Option(0, help="only the first N questions"),
    out: Path = typer.Option(Path("reports/sweep"), help="output directory"),
) -> None:
    """Evaluate every point of a small settings grid: one table and one chart.

    Example: autocrm eval sweep --dataset mtrag --grid retrieval.mode=bm25,dense,hybrid --grid retrieval.rrf_k=30,60
    """
    from autocrm.db.connect import resolve_url
    from autocrm.db.server import with_database
    from autocrm.evals.datasets import load_dataset
    from autocrm.evals.sweep import parse_grid, sweep, write_sweep
    from autocrm.pipeline.embedder import build_embedder

    settings = Settings()
    check_dataset(dataset, kb=kb)
    grid_points = parse_grid(grid)
    for combo in itertools.product(*grid_points.values()):  # a bad point fails now, not midway
        apply_overrides(settings, [f"{k}={v}" for k, v in zip(grid_points, combo, strict=True)])
    data = load_dataset(dataset, kb=kb, cache_dir=settings.data_dir / "eval-cache")
    if limit:
        data.questions = data.questions[:limit]
    rows = sweep(
        dataset=data,
        base=settings,
        grid=grid_points,
        server_url=with_database(resolve_url(settings), "postgres"),
        embedder=build_embedder(settings),
        with_overrides=apply_overrides,
    )
    path = write_sweep(rows, out_dir=out)
    typer.echo((path / "sweep.md").read_text())
    typer.echo(f"table, CSV and chart in {path}")


@app.command("build-dataset")
def build_dataset_command(
    out: Path = typer.Option(..., help="JSONL file to write"),
    since_days: int = typer.Option(30, "--since-days", help="responses from the last N days"),
) -> None:
    """Turn agent-accepted AI responses and edited finals into an eval dataset (JSONL).

    Example: autocrm eval build-dataset --out prod.jsonl && autocrm eval run --dataset prod.jsonl --kb ./kb
    """
    from datetime import UTC, datetime, timedelta

    from autocrm.evals.production import build_dataset

    with open_db(Settings()) as conn:
        n = build_dataset(conn, since=datetime.now(UTC) - timedelta(days=since_days), out=out)
    typer.echo(f"{n} question(s) written to {out}")
    if not n:
        typer.echo(
            f"no AI response accepted or edited by an agent in the last {since_days} days: try "
            "a larger --since-days; agents accept or edit drafts in the workspace or the API"
        )


@app.command("gc")
def gc_command(
    older_than_days: float = typer.Option(
        30, "--older-than-days", min=0, help="drop eval knowledge bases unused this long"
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="only list what would be dropped"),
) -> None:
    """Drop the cached eval knowledge-base databases that no run has used for a while.

    Example: autocrm eval gc --older-than-days 14 --dry-run
    """
    from datetime import timedelta

    from autocrm.db.connect import resolve_url
    from autocrm.db.server import with_database
    from autocrm.evals.kb import collect_eval_kbs

    server = with_database(resolve_url(Settings()), "postgres")
    result = collect_eval_kbs(
        server_url=server, older_than=timedelta(days=older_than_days), dry_run=dry_run
    )
    verb = "would drop" if dry_run else "dropped"
    for action, kbs in (
        (verb, result.dropped),
        ("in use, kept", result.in_use),
        ("kept", result.kept),
    ):
        for kb in kbs:
            used = kb.last_used.isoformat(timespec="minutes") if kb.last_used else "unknown"
            typer.echo(
                f"{action:>13}  {kb.name}  {kb.size_bytes / 2**20:,.0f} MB  last used {used}"
            )
    freed = sum(kb.size_bytes for kb in result.dropped) / 2**20
    typer.echo(f"{len(result.dropped)} {verb}, {freed:,.0f} MB; {len(result.kept)} kept")
