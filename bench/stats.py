"""The benchmarks' shared figures: percentiles, median and spread, and Markdown tables.

Two percentile methods, because the benchmarks' reports were written with each and a report read
next to an older one must compare like with like:

- ``"linear"``: numpy's default (linear interpolation between closest ranks), as ``np.percentile``;
  the retrieval benchmark's.
- ``"nearest"``: the nearest rank, the index ``round(p/100 * (n - 1))`` into the sorted values
  (Python's ``round``: half to even); the load and rate-limit benchmarks'. Always an observed value.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from typing import Literal, TypedDict

import numpy as np

Method = Literal["linear", "nearest"]


class Spread(TypedDict):
    median: float
    min: float
    max: float


def percentile(values: Sequence[float], pct: float, *, method: Method = "linear") -> float:
    """The ``pct``-th percentile (0-100) of ``values``. ValueError when there are none."""
    if len(values) == 0:
        raise ValueError("percentile of no values")
    if method == "linear":
        return float(np.percentile(np.asarray(values, dtype=float), pct))
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def percentiles(
    values: Sequence[float], pcts: Iterable[int] = (50, 95, 99), *, method: Method = "linear"
) -> dict[str, float]:
    """``{"p50": …, "p95": …, "p99": …}`` (the keys the reports use)."""
    return {f"p{pct}": percentile(values, pct, method=method) for pct in pcts}


def spread(values: Sequence[float]) -> Spread:
    """Median and min-max of repeated measurements (wall clock on a shared machine is noisy: the
    median is the figure, the range says how much to trust it)."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def format_spread(s: Spread, *, unit: str = "", width: int = 0, dash: str = "–") -> str:
    """``"12.3 unit (11.0–14.2)"``: the median, then min-max, one decimal each; ``width`` pads
    the median (to line up several)."""
    unit_part = f" {unit}" if unit else ""
    return f"{s['median']:{width}.1f}{unit_part} ({s['min']:.1f}{dash}{s['max']:.1f})"


def markdown_table(
    header: Sequence[str], rows: Iterable[Sequence[object]], *, align: str | None = None
) -> list[str]:
    """The lines of a Markdown table. ``align``: one letter per column, ``l`` (the default) or
    ``r`` (right-aligned: ``---:``)."""
    marks = {"l": "---", "r": "---:"}
    separator = [marks[a] for a in (align or "l" * len(header))]
    if len(separator) != len(header):
        raise ValueError(f"align has {len(separator)} columns, the header {len(header)}")
    return [_row(header), "|" + "|".join(separator) + "|", *(_row(row) for row in rows)]


def _row(cells: Sequence[object]) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"
