"""``autocrm bench load``: the API under 50 concurrent clients with the worker running."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from autocrm.cli.context import open_db
from autocrm.core.errors import InvalidInput
from autocrm.core.settings import Settings

KB_EMPTY = "SELECT NOT EXISTS (SELECT 1 FROM kb_chunks) AS empty"


def bench_load_command(
    clients: int = typer.Option(50, min=1, help="concurrent clients"),
    seconds: float = typer.Option(60, min=1, help="how long the load runs"),
    think_ms: float = typer.Option(
        0, min=0, help="mean pause of each client between requests (0 = flat out, saturation)"
    ),
    json_out: Path = typer.Option(None, "--json-out", help="write the figures here"),
) -> None:
    """Load-test `autocrm serve` + `autocrm worker` on loopback (run `autocrm demo` first).

    Prints req/s, p50/p95/p99 per route and the error rate, and checks that every created ticket
    got exactly one auto-response (exit status 1 when a target is missed).

    Example: autocrm demo && autocrm bench load --clients 50 --seconds 60 --think-ms 1000
    """
    from autocrm.bench.load import format_load, run_load

    with open_db(Settings()) as conn:  # the schema is current: else the servers fail one by one
        if conn.execute(KB_EMPTY).fetchone()["empty"]:
            raise InvalidInput(
                "the knowledge base is empty: run `autocrm demo` first (the load test answers "
                "the demo's tickets from its help centre)"
            )
    result = run_load(clients=clients, seconds=seconds, think_ms=think_ms)
    typer.echo(format_load(result))
    if json_out:
        json_out.write_text(json.dumps(result, indent=2))
    if not all(result["targets"].values()):
        raise typer.Exit(1)
