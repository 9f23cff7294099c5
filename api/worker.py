"""The worker entry: build the shared resources once, then run the queue's worker loop."""

from __future__ import annotations

from api import tasks
from autocrm.settings import Settings
from db.connect import make_pool, resolve_url
from pipeline.chat import build_chat_model
from pipeline.embedder import Embedder, build_embedder


def run_worker(
    settings: Settings,
    *,
    concurrency: int = 2,
    once: bool = False,
    embedder: Embedder | None = None,
) -> None:
    """Process jobs until stopped (or, with ``once``, until the queue has nothing runnable)."""
    url = resolve_url(settings)
    pool = make_pool(url, min_size=1, max_size=concurrency + 2)
    tasks.install(
        tasks.WorkerResources(
            pool=pool,
            embedder=embedder or build_embedder(settings),
            chat_model=build_chat_model(settings),
            settings=settings,
        )
    )
    queue = tasks.build_queue(url)
    try:
        with queue.open():
            queue.run_worker(
                queues=["auto", "kb"],
                concurrency=concurrency,
                wait=not once,
                install_signal_handlers=not once,
            )
    finally:
        pool.close()
