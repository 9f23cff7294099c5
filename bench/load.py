"""Load test on loopback: 50 concurrent clients against `autocrm serve` with the worker running.

Clients open tickets (as customers), read threads, and ask for suggestions (as an agent) for a fixed
time; then the worker drains the queue and every ticket created during the test is checked for
exactly one auto-response or hand-off record. Reports requests/s, p50/p95/p99 per route and the
error rate. Targets: zero errors, zero lost tickets, suggestion p95 ≤ 150 ms (offline drafter).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import httpx

from autocrm.api.auth import mint_token
from autocrm.bench.stats import markdown_table, percentiles
from autocrm.core.errors import AutoCRMError, InvalidInput
from autocrm.core.settings import Settings
from autocrm.db.connect import connect, resolve_url

ADMIN = "11111111-0000-4000-8000-000000000001"
CUSTOMERS = [f"22222222-0000-4000-8000-0000000000{n:02d}" for n in range(1, 11)]
QUESTIONS = [
    "How do I reset my password?",
    "What is the API rate limit on the Team plan?",
    "How do I export all my data as CSV?",
    "Can I pay annually instead of monthly?",
    "How do I set up SAML SSO with Okta?",
    "Slack notifications stopped arriving",
    "How do webhooks retry failed deliveries?",
    "How do I invite a guest to a project?",
]
COUNT_RESPONSES = """
SELECT count(*) FILTER (WHERE n = 0) AS lost, count(*) FILTER (WHERE n > 1) AS duplicated,
       count(*) AS tickets
  FROM (SELECT t.id, (SELECT count(*) FROM ai_responses r WHERE r.ticket_id = t.id
                        AND r.kind = 'auto_reply') AS n
          FROM tickets t WHERE t.subject LIKE %s) x
"""
PENDING_JOBS = (
    "SELECT count(*) AS n FROM procrastinate_jobs WHERE status IN ('todo', 'doing') "
    "AND task_name = 'autocrm:auto_respond'"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.samples: list[str] = []
        self.stages: dict[str, list[float]] = defaultdict(list)  # suggestions' server-side ms

    async def call(self, client: httpx.AsyncClient, route: str, method: str, url: str, **kw):
        start = time.perf_counter()
        try:
            response = await client.request(method, url, **kw)
            ok = response.status_code < 400
        except httpx.HTTPError as exc:
            response, ok = None, False
            self.samples.append(f"{route}: {type(exc).__name__}")
        self.latency[route].append((time.perf_counter() - start) * 1000)
        if not ok:
            self.errors[route] += 1
            if response is not None and len(self.samples) < 10:
                self.samples.append(f"{route}: {response.status_code} {response.text[:160]}")
        return response if ok else None


async def _client(
    n: int,
    base: str,
    tokens: dict,
    stop_at: float,
    rec: Recorder,
    tag: str,
    mine: list[str],
    think_s: float,
) -> None:
    rng = random.Random(n)
    customer = CUSTOMERS[n % len(CUSTOMERS)]
    auth = {"Authorization": f"Bearer {tokens[customer]}"}
    agent = {"Authorization": f"Bearer {tokens[ADMIN]}"}
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        while time.monotonic() < stop_at:
            if think_s:
                # A person reads and types between actions: exponential pauses, mean think_s.
                await asyncio.sleep(
                    min(rng.expovariate(1 / think_s), max(0.0, stop_at - time.monotonic()))
                )
                if time.monotonic() >= stop_at:
                    break
            roll = rng.random()
            if roll < 0.4 or not mine:
                q = rng.choice(QUESTIONS)
                r = await rec.call(
                    client,
                    "POST /tickets",
                    "POST",
                    "/tickets",
                    headers=auth,
                    json={"subject": f"{tag} {q}", "description": q},
                )
                if r is not None:
                    mine.append(r.json()["id"])
            elif roll < 0.8:
                await rec.call(
                    client,
                    "GET /tickets/{id}/messages",
                    "GET",
                    f"/tickets/{rng.choice(mine)}/messages",
                    headers=auth,
                )
            else:
                r = await rec.call(
                    client,
                    "POST /tickets/{id}/suggestions",
                    "POST",
                    f"/tickets/{rng.choice(mine)}/suggestions",
                    headers=agent,
                )
                if r is not None:
                    for stage, ms in r.json()["latency_ms"].items():
                        rec.stages[stage].append(ms)


def run_load(
    *,
    clients: int = 50,
    seconds: float = 60,
    think_ms: float = 0,
    drain_s: float = 300,
    worker_concurrency: int = 2,
) -> dict:
    """``think_ms`` = 0: every client sends its next request as soon as the last one answered (a
    closed loop at saturation: latency then measures the queue). > 0: clients pause between
    requests (exponential, that mean), like people working in the app."""
    settings = Settings()
    url = resolve_url(settings)
    with connect(url, autocommit=True) as conn:
        if not conn.execute("SELECT EXISTS (SELECT 1 FROM kb_chunks) AS ok").fetchone()["ok"]:
            raise InvalidInput("the knowledge base is empty: run `autocrm demo` first")
    port = _free_port()
    # The demo's dev secrets (dev mode) and no rate limits: this measures capacity, not the limiter
    # (scripts/bench_ratelimit.py measures that).
    env = os.environ | {
        "AUTOCRM_DATABASE_URL": url,
        "AUTOCRM_DEV_MODE": "true",
        "AUTOCRM_RATE_LIMIT_ENABLED": "false",
    }
    exe = str(Path(sys.executable).parent / "autocrm")
    server = subprocess.Popen(
        [exe, "serve", "--port", str(port), "--log-level", "warning"], env=env
    )
    worker = subprocess.Popen(
        [exe, "worker", "--concurrency", str(worker_concurrency)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    tag = f"[load {int(time.time())}]"
    try:
        _wait_ready(base)
        secret = settings.jwt_secret.get_secret_value()
        tokens = {u: mint_token(secret=secret, user_id=u) for u in [ADMIN, *CUSTOMERS]}
        rec = Recorder()
        load_before = os.getloadavg()
        per_client: list[list[str]] = [[] for _ in range(clients)]
        started = time.monotonic()

        async def main() -> None:
            stop_at = time.monotonic() + seconds
            await asyncio.gather(
                *(
                    _client(i, base, tokens, stop_at, rec, tag, per_client[i], think_ms / 1000)
                    for i in range(clients)
                )
            )

        asyncio.run(main())
        elapsed = time.monotonic() - started
        load_after = os.getloadavg()
        drained = _drain(url, drain_s)
        with connect(url, autocommit=True) as conn:
            counts = conn.execute(COUNT_RESPONSES, (f"{tag}%",)).fetchone()
    finally:
        for proc in (server, worker):
            proc.send_signal(signal.SIGINT)
        for proc in (server, worker):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    total = sum(len(v) for v in rec.latency.values())
    errors = sum(rec.errors.values())
    routes = {
        route: {
            "n": len(v),
            **percentiles(v, (50, 95, 99), method="nearest"),
            "mean": statistics.fmean(v),
            "errors": rec.errors.get(route, 0),
        }
        for route, v in rec.latency.items()
    }
    suggestion_p95 = routes.get("POST /tickets/{id}/suggestions", {}).get("p95", float("inf"))
    return {
        "clients": clients,
        "think_ms": think_ms,
        "seconds": round(elapsed, 1),
        "loadavg_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        "requests": total,
        "rps": round(total / elapsed, 1),
        "errors": errors,
        "error_rate": round(errors / max(1, total), 4),
        "routes": routes,
        "tickets_created": counts["tickets"],
        "lost": counts["lost"],
        "duplicated": counts["duplicated"],
        "queue_drained": drained,
        "error_samples": rec.samples,
        # "embed_cached": suggestions whose query vectors the worker had already computed (the
        # shared cache, pipeline/embedding_cache.py); "embed": the model ran in the API.
        "suggestion_stages_ms": {
            stage: {"n": len(v), **percentiles(v, (50, 95), method="nearest")}
            for stage, v in rec.stages.items()
        },
        "targets": {
            "zero_errors": errors == 0,
            "zero_lost": counts["lost"] == 0 and counts["duplicated"] == 0,
            "suggestion_p95_le_150ms": suggestion_p95 <= 150,
        },
    }


def _wait_ready(base: str, timeout_s: float = 120) -> None:
    deadline, last = time.monotonic() + timeout_s, "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{base}/readyz", timeout=2)
            if response.status_code == 200:
                return
            last = response.text[:300]
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.5)
    raise AutoCRMError(f"the API at {base} did not become ready in {timeout_s:.0f} s: {last}")


def _drain(url: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    with connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if conn.execute(PENDING_JOBS).fetchone()["n"] == 0:
                return True
            time.sleep(1)
    return False


def format_load(result: dict) -> str:
    lines = [
        f"{result['clients']} clients (mean think time {result['think_ms']:g} ms), "
        f"{result['seconds']} s: {result['requests']} requests, {result['rps']} req/s, "
        f"{result['errors']} errors ({result['error_rate']:.2%}); load average "
        f"{result['loadavg_before_after'][0]} before, {result['loadavg_before_after'][1]} at the end",
        "",
        *markdown_table(
            ("route", "n", "p50 ms", "p95 ms", "p99 ms", "errors"),
            (
                (
                    route,
                    r["n"],
                    f"{r['p50']:.1f}",
                    f"{r['p95']:.1f}",
                    f"{r['p99']:.1f}",
                    r["errors"],
                )
                for route, r in sorted(result["routes"].items())
            ),
        ),
    ]
    lines += [
        "",
        f"tickets created {result['tickets_created']}: lost {result['lost']}, "
        f"duplicated {result['duplicated']} (queue drained: {result['queue_drained']})",
    ]
    if result["suggestion_stages_ms"]:
        lines.append(
            "suggestion stages inside the server, p50/p95 ms: "
            + ", ".join(
                f"{k} {v['p50']:.1f}/{v['p95']:.1f} (n {v['n']})"
                for k, v in result["suggestion_stages_ms"].items()
            )
        )
    lines += [f"target {k}: {'PASS' if v else 'FAIL'}" for k, v in result["targets"].items()]
    lines += [f"  sample error: {s}" for s in result["error_samples"][:5]]
    return "\n".join(lines)
