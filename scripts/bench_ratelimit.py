"""Rate limits under abuse: does a customer's GET /tickets stay fast while 20 anonymous clients
hammer /kb/search? (issue 14: p95 within 2x idle). A benchmark, not a test: it prints figures.

Three processes, so that no client shares a GIL with the server: the API (uvicorn, production
options, on a throwaway embedded PostgreSQL with the demo org and its KB embedded), the 20
hammering clients (threads of one process), and this one, which times the customer's requests.
Rounds alternate idle / hammered, with the limits on, then the same with the limits off (for
contrast); each phase reports the median over rounds of its per-round p50 and p95, with the
spread (min-max over rounds).

    .venv/bin/python scripts/bench_ratelimit.py [--rounds 5] [--requests 100] [--clients 20]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SECRET = "bench-secret-0123456789-0123456789-0123456789"
CUSTOMER = "22222222-0000-4000-8000-000000000006"  # Ethan, from the demo seed
QUERIES = ["reset my password", "api rate limits", "export to csv", "two-factor backup codes"]


def prepare_database(root: Path) -> str:
    """The demo org with its KB embedded, on a throwaway embedded server; returns its URL."""
    from autocrm.core.settings import ChunkingSettings, Settings
    from autocrm.db import migrate
    from autocrm.db.connect import connect, ensure_database
    from autocrm.db.server import start_embedded, with_database
    from autocrm.ingest.job import ingest
    from autocrm.pipeline.embedder import build_embedder

    server_url = start_embedded(root / "pgdata")
    ensure_database(server_url=server_url, name="bench")
    url = with_database(server_url, "bench")
    with connect(url, autocommit=True, vector=False) as conn:
        migrate.migrate(conn)
        migrate.seed(conn)
    with connect(url, autocommit=True) as conn:  # now that the vector type exists
        ingest(
            conn,
            source_path=None,
            from_db=True,
            embedder=build_embedder(Settings()),
            chunking=ChunkingSettings(),
        )
    return url


def serve(url: str, port: int, limits_on: bool, delay_s: float) -> None:
    """Child process: the API as `autocrm serve` runs it (production settings, no dev mode)."""
    import uvicorn

    from autocrm.api.app import create_app
    from autocrm.cli.api import uvicorn_config
    from autocrm.core.settings import Settings

    settings = Settings(
        database_url=url,
        jwt_secret=SECRET,
        llm_base_url="",
        llm_model="",
        otlp_endpoint="",
        rate_limit_enabled=limits_on,
        rate_limit_delay_s=delay_s,
    )
    uvicorn.Server(uvicorn_config(create_app(settings), host="127.0.0.1", port=port)).run()


def hammer(base_url: str, clients: int, stop, counts) -> None:
    """Child process: ``clients`` anonymous clients searching as fast as they can."""
    import httpx

    def client(i: int) -> None:
        with httpx.Client(base_url=base_url, timeout=30) as http:
            n = 0
            while not stop.is_set():
                status = http.get("/kb/search", params={"q": QUERIES[(i + n) % 4]}).status_code
                n += 1
                with counts.get_lock():
                    counts[0 if status == 200 else 1 if status == 429 else 2] += 1

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def time_customer(http, headers: dict[str, str], n: int) -> list[float]:
    timings = []
    for _ in range(n):
        started = time.perf_counter()
        response = http.get("/tickets", headers=headers, params={"limit": 20})
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    return timings


def wait_ready(http) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if http.get("/healthz").status_code == 200:
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise RuntimeError("the API did not start")


def run_phase(url: str, port: int, *, limits_on: bool, args) -> dict[str, list]:
    import httpx

    from autocrm.api.auth import mint_token

    ctx = mp.get_context("spawn")
    server = ctx.Process(target=serve, args=(url, port, limits_on, args.delay), daemon=True)
    server.start()
    base_url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {mint_token(secret=SECRET, user_id=CUSTOMER)}"}
    results: dict[str, list] = {"idle": [], "hammered": [], "counts": []}
    try:
        with httpx.Client(base_url=base_url, timeout=60) as http:
            wait_ready(http)
            time_customer(http, headers, 20)  # warm-up
            for _ in range(args.rounds):
                results["idle"].append(time_customer(http, headers, args.requests))
                stop, counts = ctx.Event(), ctx.Array("l", 3)
                load = ctx.Process(target=hammer, args=(base_url, args.clients, stop, counts))
                load.start()
                time.sleep(2)  # let the clients use up their burst and reach a steady state
                results["hammered"].append(time_customer(http, headers, args.requests))
                stop.set()
                load.join(timeout=60)
                results["counts"].append(tuple(counts[:]))
    finally:
        server.terminate()
        server.join(timeout=30)
    return results


def report(name: str, results: dict[str, list]) -> None:
    from autocrm.bench.stats import format_spread, percentile, spread

    def summary(rounds: list[list[float]]) -> tuple[str, float]:
        # Nearest-rank percentiles of each round, then their median and min-max over rounds.
        p50 = spread([percentile(r, 50, method="nearest") for r in rounds])
        p95 = spread([percentile(r, 95, method="nearest") for r in rounds])
        text = (
            f"p50 {format_spread(p50, unit='ms', width=6, dash='-')}   "
            f"p95 {format_spread(p95, unit='ms', width=6, dash='-')}"
        )
        return text, p95["median"]

    idle, idle_p95 = summary(results["idle"])
    hammered, hammered_p95 = summary(results["hammered"])
    ok, limited, other = (sum(c[i] for c in results["counts"]) for i in range(3))
    print(f"\n{name}")
    print(f"  customer GET /tickets, idle:      {idle}")
    print(f"  customer GET /tickets, hammered:  {hammered}")
    print(f"  p95 hammered / idle: {hammered_p95 / idle_p95:.2f}x")
    print(f"  anonymous /kb/search answers: {ok} x 200, {limited} x 429, {other} other")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=100, help="customer requests per phase")
    parser.add_argument("--clients", type=int, default=20, help="anonymous hammering clients")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--skip-off", action="store_true", help="only the limits-on run")
    parser.add_argument(
        "--delay", type=float, default=1.0, help="rate_limit_delay_s (0: refuse at once)"
    )
    args = parser.parse_args()

    from autocrm.db.server import stop_embedded

    root = Path(tempfile.mkdtemp(prefix="autocrm-bench-ratelimit-"))
    root.chmod(0o755)
    try:
        started = time.perf_counter()
        url = prepare_database(root)
        print(f"database ready in {time.perf_counter() - started:.0f} s; cpus: {os.cpu_count()}")
        on = run_phase(url, args.port, limits_on=True, args=args)
        report(f"rate limits ON (defaults, refusals answered after {args.delay} s)", on)
        if not args.skip_off:
            off = run_phase(url, args.port + 1, limits_on=False, args=args)
            report("rate limits OFF (for contrast)", off)
    finally:
        stop_embedded(root / "pgdata")
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
