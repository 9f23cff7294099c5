"""Inter-process locks for jobs that must not run twice at once on one machine (e.g. ``demo``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import fasteners

from autocrm.core.errors import AlreadyRunning, DataDirError


@contextmanager
def exclusive(path: Path, *, what: str) -> Iterator[None]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = fasteners.InterProcessLock(str(path))
        acquired = lock.acquire(blocking=False)
    except OSError as exc:
        raise DataDirError(f"cannot create lock file {path}: {exc.strerror}") from exc
    if not acquired:
        raise AlreadyRunning(
            f"another {what} is already running (lock {path}); wait for it to finish"
        )
    try:
        yield
    finally:
        lock.release()
