"""Train, tune and evaluate the hand-off intent classifier, and write its fitted parameters as plain
JSON to pipeline/intents/handoff_model.json.

Fits on the TRAIN split of pipeline/intents/handoff_intents.jsonl, picks each intent's threshold by
grouped 5-fold cross-validation on TRAIN, and prints per-intent precision/recall/F1/support and the
confusion matrix, cross-validated on TRAIN and on the held-back TEST split. Offline: the embedder
is all-MiniLM-L6-v2 from the installed package files (the project's Settings).

Examples:
    .venv/bin/python scripts/train_handoff_intents.py            # retrain, write the model
    .venv/bin/python scripts/train_handoff_intents.py --dry-run  # report only, write nothing
    .venv/bin/python scripts/train_handoff_intents.py --resplit  # re-draw train/test first
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autocrm.core.settings import Settings  # noqa: E402
from autocrm.pipeline.embedder import build_embedder  # noqa: E402
from autocrm.pipeline.intents.classifier import DATA_PATH, MODEL_PATH  # noqa: E402
from autocrm.pipeline.intents.training import (  # noqa: E402
    SEED,
    Params,
    assign_splits,
    load_dataset,
    train,
    write_dataset,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA_PATH, help="labelled JSONL")
    parser.add_argument("--out", type=Path, default=MODEL_PATH, help="model JSON to write")
    parser.add_argument("--resplit", action="store_true", help="re-draw the whole train/test split")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the split (--resplit)")
    parser.add_argument("--c", type=float, default=Params.c, help="inverse L2 strength")
    parser.add_argument(
        "--embedding-weight", type=float, default=Params.embedding_weight, help="MiniLM scale"
    )
    parser.add_argument("--min-df", type=int, default=Params.min_df, help="n-gram min df")
    parser.add_argument("--dry-run", action="store_true", help="print the report, write nothing")
    args = parser.parse_args(argv)

    records = load_dataset(args.data)
    if args.resplit or any(not r.get("split") for r in records):
        # New messages (no split yet) join one by group; --resplit re-draws every group.
        records = assign_splits(records, seed=args.seed, keep=not args.resplit)
        if not args.dry_run:
            write_dataset(records, args.data)
    embedder = build_embedder(Settings())
    params = Params(c=args.c, embedding_weight=args.embedding_weight, min_df=args.min_df)
    model, report = train(records, embedder=embedder, params=params)
    print(report)
    if not args.dry_run:
        args.out.write_text(
            json.dumps(model, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
        )
        print(f"\nwrote {args.out} ({args.out.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
