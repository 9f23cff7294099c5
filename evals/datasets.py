"""Evaluation datasets → ``EvalQuestion`` + the knowledge-base source they are asked against.

- ``aws-docs-qa``: ../shared/datasets/aws-docs-qa (Markdown help centre + questions_dev.tsv);
- ``mtrag``: ../shared/datasets/mtrag (passages + multi-turn tasks; cloud and govt by default);
- a user's own JSONL (``id, user_input, reference, reference_context_ids, conversation?,
  answerable?``) with ``--kb SOURCE``.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from autocrm.errors import InvalidInput

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
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
    if name == "aws-docs-qa":
        return _aws(split)
    if name == "mtrag":
        return _mtrag(split, domains, cache_dir)
    path = Path(name)
    if not path.is_file():
        raise InvalidInput(f"unknown dataset {name!r}: use aws-docs-qa, mtrag or a JSONL file")
    if kb is None:
        raise InvalidInput(
            "a JSONL dataset needs --kb SOURCE (the knowledge base it is asked against)"
        )
    return EvalDataset(path.stem, list(_jsonl_questions(path)), kb)


def _require(path: Path) -> Path:
    if not path.exists():
        raise InvalidInput(f"{path} not found (the shared datasets live in ../shared/datasets)")
    return path


def _aws(split: str) -> EvalDataset:
    root = _require(SHARED / "aws-docs-qa")
    questions = []
    with (root / f"questions_{split}.tsv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            guide, page = row["gold_doc_id"].split("/", 1)
            questions.append(
                EvalQuestion(
                    id=row["qid"],
                    user_input=row["question"],
                    reference=row["gold_answer"],
                    reference_context_ids=[f"{guide}/doc_source/{page}"],
                    meta={"yes_no": row["yes_no"]},
                )
            )
    return EvalDataset("aws-docs-qa", questions, root / "kb")


def _mtrag(split: str, domains: tuple[str, ...], cache_dir: Path) -> EvalDataset:
    root = _require(SHARED / "mtrag")
    questions = []
    for line in (root / f"tasks_{split}.jsonl").read_text(encoding="utf-8").splitlines():
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
            yield EvalQuestion(
                id=str(row["id"]),
                user_input=row["user_input"],
                reference=row.get("reference", ""),
                reference_context_ids=[str(x) for x in row["reference_context_ids"]],
                conversation=row.get("conversation") or [],
                answerable=row.get("answerable", True),
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InvalidInput(f"{path}:{number}: not a valid eval record ({exc})") from exc
