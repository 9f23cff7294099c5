"""The ``autocrm`` command. Thin: each command parses arguments and calls library functions."""

from __future__ import annotations

import sys
import warnings

import typer

from autocrm.cli import api as cli_api
from autocrm.cli import bench as cli_bench
from autocrm.cli import bench_load as cli_bench_load
from autocrm.cli import bench_retrieval as cli_bench_retrieval
from autocrm.cli import db as cli_db
from autocrm.cli import demo as cli_demo
from autocrm.cli import eval as cli_eval
from autocrm.cli import feedback as cli_feedback
from autocrm.cli import ingest as cli_ingest
from autocrm.cli import pipeline as cli_pipeline
from autocrm.core.errors import AutoCRMError
from autocrm.core.offline import forbid_downloads

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
    forbid_downloads()  # nothing downloads at run time: Hugging Face libraries use local files
    warnings.filterwarnings("ignore", category=UserWarning, module="platformdirs")
    try:
        app()
    except AutoCRMError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        sys.exit(130)
