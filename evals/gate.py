"""The CI quality gate: a fixed, small subset of both shared datasets and the project's own
support-answers set, evaluated with the production pipeline in a few minutes, checked against
thresholds committed in ``evals/gate.json``: ``min`` (measured values minus a small margin: retrieval
and reply metrics) and ``max`` (cut units and sent unanswerables: none allowed).

support-answers grows every session (a blind part is read, joins ``dev``, and a new one is
written), so its whole-set figures fall a little each time without any reply getting worse. Its
gate therefore also reads the replies one by one: of the questions ``evals/gate-complete.json``
lists (complete when it was last refreshed), the share still complete (``kept_complete``)."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

from autocrm.evals.datasets import EvalDataset, load_dataset

THRESHOLDS = Path(__file__).with_name("gate.json")
COMPLETE_BASELINE = Path(__file__).with_name("gate-complete.json")
SEED = 20261125


def aws_subset(*, work_dir: Path, questions: int = 20, distractors: int = 40) -> EvalDataset:
    """The first N dev questions whose gold page is small, their pages, and fixed distractors."""
    full = load_dataset("aws-docs-qa", cache_dir=work_dir)
    kb = full.kb_source
    size = {q.id: (kb / q.reference_context_ids[0]).stat().st_size for q in full.questions}
    chosen = sorted(full.questions, key=lambda q: (size[q.id], q.id))[:questions]
    gold = sorted({q.reference_context_ids[0] for q in chosen})
    pool = sorted(p.relative_to(kb).as_posix() for p in kb.rglob("*.md"))
    rng = random.Random(SEED)
    others = rng.sample(
        [p for p in pool if p not in gold and (kb / p).stat().st_size < 6000], distractors
    )
    root = work_dir / "aws-subset"
    shutil.rmtree(root, ignore_errors=True)
    for rel in gold + others:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(kb / rel, root / rel)
    return EvalDataset("aws-docs-qa-gate", chosen, root)


def mtrag_subset(*, work_dir: Path, tasks: int = 40, distractors: int = 100) -> EvalDataset:
    """Fixed cloud/govt tasks (answerable and not), their gold passages, fixed distractors."""
    full = load_dataset("mtrag", cache_dir=work_dir)
    rng = random.Random(SEED)
    chosen = sorted(rng.sample(full.questions, tasks), key=lambda q: q.id)
    gold = {pid for q in chosen for pid in q.reference_context_ids}
    rows = [json.loads(line) for line in full.kb_source.read_text().splitlines()]
    others = rng.sample([r for r in rows if r["id"] not in gold], distractors)
    out = work_dir / "mtrag-subset.jsonl"
    out.write_text(
        "".join(json.dumps(r) + "\n" for r in rows if r["id"] in gold)
        + "".join(json.dumps(r) + "\n" for r in others)
    )
    return EvalDataset("mtrag-gate", chosen, out)


def support_answers(*, work_dir: Path) -> EvalDataset:
    """The project's own set, whole: it ships with the repo, so the gate runs without ../shared."""
    return load_dataset("support-answers", split="all", cache_dir=work_dir)


def thresholds() -> dict[str, dict[str, dict[str, float]]]:
    return json.loads(THRESHOLDS.read_text())


def kept_complete(complete_ids: set[str], *, baseline: Path = COMPLETE_BASELINE) -> float:
    """Of the questions the baseline lists as complete, the share ``complete_ids`` (a run's
    complete replies) still holds; a listed question the run did not ask counts as lost."""
    listed = set(json.loads(baseline.read_text())["complete"])
    return round(len(listed & complete_ids) / len(listed), 4) if listed else 1.0


def write_complete_baseline(
    complete_ids: set[str], *, run: str, baseline: Path = COMPLETE_BASELINE
) -> None:
    """Record which questions a run answered completely: after a run that is better, or a
    deliberate trade (``autocrm eval gate-baseline RUN``)."""
    body = {"run": run, "complete": sorted(complete_ids)}
    baseline.write_text(json.dumps(body, indent=1) + "\n")
