"""Evaluation datasets → ``EvalQuestion`` + the knowledge-base source they are asked against.

- ``aws-docs-qa``: ../shared/datasets/aws-docs-qa (Markdown help centre + questions_dev.tsv);
- ``mtrag``: ../shared/datasets/mtrag (passages + multi-turn tasks; cloud and govt by default);
- ``support-answers``: the project's own help centre and questions (evals/data/support-answers),
  with required facts per question; runs with no ../shared;
- a user's own JSONL (``id, user_input, reference, reference_context_ids, conversation?,
  answerable?``) with ``--kb SOURCE``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from autocrm.core.errors import InvalidInput

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
PROJECT_SETS = Path(__file__).resolve().parent / "data"
SPLITS = ("dev", "tune", "holdout", "all")
HOLDOUT_SHARE = 3  # one question (or conversation) in three is held back from tuning
ANSWERABLE = {"ANSWERABLE", "PARTIAL"}
NOT_ANSWERABLE = {"UNANSWERABLE", "UNDERSPECIFIED"}


@dataclass
class EvalQuestion:
    id: str
    user_input: str
    reference: str
    reference_context_ids: list[str]
    conversation: list[dict] = field(default_factory=list)  # [{speaker, text}] before the question
    answerable: bool | None = True
    meta: dict = field(default_factory=dict)
    required_facts: list[str] = field(default_factory=list)  # strings a complete reply holds
    part: str = "tune"  # "tune" (settings may be chosen on it) or "holdout" (reported only)


@dataclass
class EvalDataset:
    name: str
    questions: list[EvalQuestion]
    kb_source: Path  # what `ingest` reads


def load_dataset(
    name: str,
    *,
    split: str = "dev",
    kb: Path | None = None,
    domains: tuple[str, ...] = ("cloud", "govt"),
    cache_dir: Path,
) -> EvalDataset:
    """``split``: "dev" (every question of the dev files), "tune" or "holdout" (its two parts:
    settings are chosen on "tune", "holdout" is reported beside it), or "all"."""
    if split not in SPLITS:
        raise InvalidInput(f"unknown split {split!r}: use {', '.join(SPLITS)}")
    if name == "aws-docs-qa":
        data = _aws()
    elif name == "mtrag":
        data = _mtrag(domains, cache_dir)
    elif name == "support-answers":
        root = PROJECT_SETS / "support-answers"
        data = EvalDataset(name, list(_jsonl_questions(root / "questions.jsonl")), root / "kb")
    else:
        path = Path(name)
        if not path.is_file():
            raise InvalidInput(
                f"unknown dataset {name!r}: use aws-docs-qa, mtrag, support-answers or a JSONL file"
            )
        if kb is None:
            raise InvalidInput(
                "a JSONL dataset needs --kb SOURCE (the knowledge base it is asked against)"
            )
        data = EvalDataset(path.stem, list(_jsonl_questions(path)), kb)
    if split in ("tune", "holdout"):
        data.questions = [q for q in data.questions if q.part == split]
    return data


def part_of(key: str) -> str:
    """A fixed, content-independent split: one key in ``HOLDOUT_SHARE`` is held back."""
    digest = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
    return "holdout" if digest % HOLDOUT_SHARE == 0 else "tune"


def _require(path: Path) -> Path:
    if not path.exists():
        raise InvalidInput(f"{path} not found (the shared datasets live in ../shared/datasets)")
    return path


def _aws() -> EvalDataset:
    root = _require(SHARED / "aws-docs-qa")
    questions = []
    with (root / "questions_dev.tsv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            guide, page = row["gold_doc_id"].split("/", 1)
            questions.append(
                EvalQuestion(
                    id=row["qid"],
                    user_input=row["question"],
                    reference=row["gold_answer"],
                    reference_context_ids=[f"{guide}/doc_source/{page}"],
                    meta={"yes_no": row["yes_no"]},
                    part=part_of(row["qid"]),
                )
            )
    return EvalDataset("aws-docs-qa", questions, root / "kb")


def _mtrag(domains: tuple[str, ...], cache_dir: Path) -> EvalDataset:
    root = _require(SHARED / "mtrag")
    questions = []
    for line in (root / "tasks_dev.jsonl").read_text(encoding="utf-8").splitlines():
        task = json.loads(line)
        if task["domain"] not in domains:
            continue
        label = task["answerability"][0] if task["answerability"] else ""
        if label not in ANSWERABLE | NOT_ANSWERABLE:
            continue  # CONVERSATIONAL turns ("thanks!") are neither
        turns = task["conversation"]
        questions.append(
            EvalQuestion(
                id=task["task_id"],
                user_input=task["question"],
                reference=task.get("gold_answer", ""),
                reference_context_ids=list(task["gold_passage_ids"]),
                conversation=[{"speaker": t["speaker"], "text": t["text"]} for t in turns[:-1]],
                answerable=label in ANSWERABLE,
                meta={
                    "domain": task["domain"],
                    "answerability": label,
                    "question_type": task.get("question_type"),
                },
                # by conversation: its turns share context, so they stay on one side
                part=part_of(task["task_id"].split("<::>")[0]),
            )
        )
    return EvalDataset("mtrag", questions, _mtrag_kb(root, cache_dir))


def _mtrag_kb(root: Path, cache_dir: Path) -> Path:
    """The passage pool as a generic JSONL source: one article per passage, titled by its start."""
    out = cache_dir / "mtrag_kb.jsonl"
    src = root / "kb_passages.jsonl"
    if out.exists() and out.stat().st_mtime >= src.stat().st_mtime:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as handle:
        for line in src.read_text(encoding="utf-8").splitlines():
            p = json.loads(line)
            text = p["text"].strip()
            handle.write(
                json.dumps(
                    {
                        "id": p["passage_id"],
                        "title": _title(text),
                        "body": text,
                        "domain": p["domain"],
                    }
                )
                + "\n"
            )
    return out


def _title(text: str) -> str:
    plain = re.sub(r"\[([^\]]*)\]\([^)]*\)|<[^>]+>|[#*_`]", r"\1", text)
    first = re.split(r"(?<=[.!?])\s|\n", plain.strip(), maxsplit=1)[0]
    return (first[:80].rsplit(" ", 1)[0] if len(first) > 80 else first) or "Passage"


def _jsonl_questions(path: Path):
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            split = row.get("split")
            yield EvalQuestion(
                id=str(row["id"]),
                user_input=row["user_input"],
                reference=row.get("reference", ""),
                reference_context_ids=[str(x) for x in row["reference_context_ids"]],
                conversation=row.get("conversation") or [],
                answerable=row.get("answerable", True),
                meta={k: row[k] for k in ("kind", "expected") if k in row},
                required_facts=[str(f) for f in row.get("required_facts") or []],
                part={"test": "holdout", "dev": "tune"}.get(split, part_of(str(row["id"]))),
            )
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidInput(f"{path}:{number}: not a valid eval record ({exc})") from exc
