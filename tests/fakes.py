"""A tiny deterministic embedder for plumbing tests (the real model is used where quality matters)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence

import numpy as np


class FakeEmbedder:
    """Bag-of-words hashed into ``dim`` buckets: texts sharing words get similar vectors."""

    def __init__(self, *, name: str = "fake-embedder", dim: int = 384, delay_s: float = 0.0):
        self.name = name
        self.dim = dim
        self.max_tokens = 256
        self.delay_s = delay_s
        self.calls: list[int] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        if self.delay_s:
            time.sleep(self.delay_s)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                bucket = int.from_bytes(
                    hashlib.blake2b(word.encode(), digest_size=4).digest(), "big"
                )
                out[row, bucket % self.dim] += 1.0
            out[row, 0] += 1e-3  # never the zero vector
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def count_tokens(self, text: str) -> int:
        return len(text.split())
