"""Per-stage wall-clock accounting, shared by ingestion, the answer pipeline and the evals."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager


class StageTimer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - start

    def record(self, name: str, started: float) -> None:
        """Add the time since ``started`` (a ``perf_counter`` reading) to a stage named afterwards."""
        self.seconds[name] += time.perf_counter() - started

    def as_ms(self) -> dict[str, float]:
        return {name: round(s * 1000, 2) for name, s in self.seconds.items()}

    def as_seconds(self) -> dict[str, float]:
        return {name: round(s, 4) for name, s in self.seconds.items()}
