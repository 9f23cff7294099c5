"""Serving processes (`serve`, `worker`) run torch with one intra-op thread per call."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import torch
from pipeline.embedder import limit_torch_threads
before = torch.get_num_threads()
limit_torch_threads({threads})
print(before, torch.get_num_threads())
"""


@pytest.mark.parametrize(("threads", "expect_default"), [(1, False), (0, True)])
def test_limit_torch_threads(threads, expect_default):
    # In a child process: the setting is process-wide and other tests embed with every core.
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(threads=threads)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    before, after = int(out[0]), int(out[1])
    assert after == (before if expect_default else 1)
