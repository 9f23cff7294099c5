"""Embedding throughput of all-MiniLM-L6-v2 on a GPU, for the README's ingestion figures.

Standalone on purpose: it runs on a lent GPU machine that has PyTorch and sentence-transformers but
not this project's other dependencies. Inputs (prepared on the project's machine, see
``--help``): the model folder, the chunk texts as gzipped JSON lines (``{"text": ...}``) and the
project's own CPU vectors for the first texts (float32 .npy), to check the GPU vectors match.

    python3 scripts/gpu_embedding_throughput.py --model M --texts T.jsonl.gz --reference R.npy
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="sentence-transformers model folder")
    parser.add_argument("--texts", required=True, help="gzipped JSON lines with a 'text' field")
    parser.add_argument("--reference", help="CPU vectors of the first texts (.npy, float32)")
    parser.add_argument("--batch-sizes", default="256,1024")
    parser.add_argument("--dtypes", default="fp32,fp16,bf16")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    with gzip.open(args.texts, "rt", encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for line in fh]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"device {device}: {torch.cuda.get_device_name(0) if device == 'cuda' else 'cpu'}")
    print(f"torch {torch.__version__}; {len(texts)} texts")
    reference = np.load(args.reference) if args.reference else None
    model = SentenceTransformer(args.model, device=device)
    tokens = sum(
        len(ids) for ids in model.tokenizer(texts, truncation=True, max_length=256)["input_ids"]
    )
    print(f"{tokens} model tokens (truncated at 256)")
    rows = []
    for name in args.dtypes.split(","):
        model = SentenceTransformer(args.model, device=device).to(DTYPES[name])
        for batch in (int(b) for b in args.batch_sizes.split(",")):
            model.encode(texts[:2048], batch_size=batch, normalize_embeddings=True)  # warm-up
            seconds = []
            for _ in range(args.repeats):
                if device == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
                vectors = model.encode(texts, batch_size=batch, normalize_embeddings=True)
                if device == "cuda":
                    torch.cuda.synchronize()
                seconds.append(time.perf_counter() - start)
            cos = None
            if reference is not None:
                n = len(reference)
                got = vectors[:n].astype(np.float32)
                got /= np.linalg.norm(got, axis=1, keepdims=True)
                sims = np.sum(got * reference, axis=1)
                cos = (float(sims.min()), float(sims.mean()))
            median = statistics.median(seconds)
            rows.append((name, batch, median, min(seconds), max(seconds), cos))
            print(
                f"{name} batch {batch}: median {median:.2f} s ({min(seconds):.2f}-{max(seconds):.2f}),"
                f" {len(texts) / median:,.0f} chunks/s, {tokens / median:,.0f} tokens/s"
                + (f", cosine to CPU vectors min {cos[0]:.4f} mean {cos[1]:.4f}" if cos else "")
            )
    print(
        json.dumps(
            [
                dict(
                    zip(("dtype", "batch", "median_s", "min_s", "max_s", "cosine"), r, strict=True)
                )
                for r in rows
            ]
        )
    )


if __name__ == "__main__":
    main()
