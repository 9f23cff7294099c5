"""The ``autocrm`` command. Thin: each command parses arguments and calls library functions."""

from __future__ import annotations

import os
import sys
import warnings

import typer

from autocrm import (
    cli_api,
    cli_bench,
    cli_bench_load,
    cli_bench_retrieval,
    cli_db,
    cli_demo,
    cli_eval,
    cli_feedback,
    cli_ingest,
    cli_pipeline,
)
from autocrm.errors import USER_FACING_ERRORS

# Nothing downloads at run time: transformers/huggingface must use local files only.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
warnings.filterwarnings("ignore", category=UserWarning, module="platformdirs")

app = typer.Typer(
    help="AutoCRM AI: knowledge-base ingestion, grounded ticket replies and the feedback loop.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(cli_db.app, name="db")
app.command("demo")(cli_demo.demo)
app.command("ingest")(cli_ingest.ingest_command)
app.add_typer(cli_ingest.kb_app, name="kb")
app.command("suggest")(cli_pipeline.suggest)
app.command("ask")(cli_pipeline.ask)
app.command("worker")(cli_pipeline.worker)
app.command("serve")(cli_api.serve)
app.command("token")(cli_api.token)
app.add_typer(cli_bench.app, name="bench")
cli_bench.app.command("retrieval")(cli_bench_retrieval.bench_retrieval_command)
cli_bench.app.command("load")(cli_bench_load.bench_load_command)
app.add_typer(cli_eval.app, name="eval")
app.add_typer(cli_feedback.report_app, name="report")
app.add_typer(cli_feedback.export_app, name="export")
app.add_typer(cli_feedback.feedback_app, name="feedback")
cli_ingest.kb_app.command("propose")(cli_feedback.kb_propose)


def main() -> None:
    """Entry point: user-facing errors become one line on stderr and exit code 2."""
    try:
        app()
    except USER_FACING_ERRORS as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        sys.exit(130)
