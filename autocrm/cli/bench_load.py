"""``autocrm bench load``: the API under 50 concurrent clients with the worker running."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def bench_load_command(
    clients: int = typer.Option(50, min=1, help="concurrent clients"),
    seconds: float = typer.Option(60, min=1, help="how long the load runs"),
    think_ms: float = typer.Option(
        0, min=0, help="mean pause of each client between requests (0 = flat out, saturation)"
    ),
    json_out: Path = typer.Option(None, "--json-out", help="write the figures here"),
) -> None:
    """Load-test `autocrm serve` + `autocrm worker` on loopback; print req/s, p50/p95/p99 per
    route, the error rate, and check every created ticket got exactly one auto-response.

    Example: autocrm demo && autocrm bench load --clients 50 --seconds 60 --think-ms 1000
    """
    from autocrm.bench.load import format_load, run_load

    result = run_load(clients=clients, seconds=seconds, think_ms=think_ms)
    typer.echo(format_load(result))
    if json_out:
        json_out.write_text(json.dumps(result, indent=2))
    if not all(result["targets"].values()):
        raise typer.Exit(1)
