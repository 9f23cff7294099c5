"""The ``autocrm`` command. Thin: each command parses arguments and calls library functions."""

from __future__ import annotations

import os
import sys
import warnings

import typer

from autocrm.cli import api as cli_api
from autocrm.cli import bench as cli_bench
from autocrm.cli import db as cli_db
from autocrm.cli import demo as cli_demo
from autocrm.cli import eval as cli_eval
from autocrm.cli import feedback as cli_feedback
from autocrm.cli import ingest as cli_ingest
from autocrm.cli import org as cli_org
from autocrm.cli import pipeline as cli_pipeline
from autocrm.cli import tickets as cli_tickets
from autocrm.core.errors import AutoCRMError
from autocrm.core.offline import forbid_downloads
from autocrm.db.errors import MigrationError

app = typer.Typer(
    help="AutoCRM AI: knowledge-base ingestion, grounded ticket replies and the feedback loop.\n\n"
    "Start with `autocrm demo`; then `autocrm tickets list` shows the tickets it opened and "
    "`autocrm suggest <number>` drafts a reply. Your own help centre, apart from the demo: "
    '`autocrm --org acme ingest ./help-centre/`, then `autocrm --org acme ask "..."`.',
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _options(
    org: str | None = typer.Option(
        None, "--org", metavar="NAME", envvar="AUTOCRM_ORG", help=cli_org.ORG_HELP
    ),
) -> None:
    """Options for every command (the app's help text is the Typer's)."""
    # A help page opens nothing. (The subcommand's arguments are not parsed yet here, hence
    # sys.argv: `autocrm --org acme ingest --help` must not create the database.)
    if org and "--help" not in sys.argv[1:]:
        cli_org.use_org(org)


app.add_typer(cli_db.app, name="db")
app.command("demo")(cli_demo.demo)
app.command("ingest")(cli_ingest.ingest_command)
app.add_typer(cli_ingest.kb_app, name="kb")
app.add_typer(cli_tickets.app, name="tickets")
app.command("suggest")(cli_pipeline.suggest)
app.command("ask")(cli_pipeline.ask)
app.command("worker")(cli_pipeline.worker)
app.command("serve")(cli_api.serve)
app.command("token")(cli_api.token)
app.add_typer(cli_bench.app, name="bench")
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
        message = str(exc)
        if isinstance(exc, MigrationError) and os.environ.get("AUTOCRM_ORG"):
            message += (
                f" (this organisation's: autocrm --org {os.environ['AUTOCRM_ORG']} db migrate)"
            )
        typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        sys.exit(130)
