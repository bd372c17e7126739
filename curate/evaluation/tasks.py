"""Evaluation sets: questions with reference answers, from the same specs decontamination reads
(curate/eval_sets.py: `gsm8k`, `math500`, a Hub dataset id or a local JSONL/JSON/parquet file)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from curate import eval_sets
from curate.errors import ConfigError, InputError

DEFAULT_TASKS = ("gsm8k", "math500")
EVAL_WAY_OUT = (
    "Pass a local copy instead (--tasks PATH: a JSONL, JSON or parquet file with a `question` or `problem` column "
    "and an `answer` column), or set HF_HUB_OFFLINE=1 if the set is in your Hub cache.",
    "HF_HUB_OFFLINE is set and this set is not in the Hub cache: load it once online, or pass a local copy "
    "(--tasks PATH: a JSONL, JSON or parquet file with a `question` or `problem` column and an `answer` column).",
)


@dataclass(frozen=True)
class EvalSet:
    name: str
    questions: list[str]
    references: list[str]
    source: dict[str, Any] = field(default_factory=dict)  # where it came from, its columns and an items hash

    @property
    def gsm8k_style(self) -> bool:
        """References in GSM8K's `... #### 42` form: lm-eval's strict-match and flexible-extract apply."""
        return bool(self.references) and all("####" in r for r in self.references)


def parse_tasks(flag: str | None) -> list[str]:
    """`gsm8k,math500,evals.jsonl` -> its names (an empty name is a mistake, not a way to skip a task)."""
    if flag is None:
        return list(DEFAULT_TASKS)
    names = [name.strip() for name in flag.split(",")]
    if not all(names):
        raise ConfigError(
            f"--tasks {flag!r} has an empty task name", hint="Give comma-separated names: gsm8k,math500,PATH"
        )
    return names


def load_eval_set(entry: str, limit: int | None = None) -> EvalSet:
    """The first `limit` items (all when None) of a set, in the set's own order."""
    spec = eval_sets.resolve(entry)
    rows, source = eval_sets.load_rows(spec, way_out=EVAL_WAY_OUT)
    name = eval_sets.name_of(spec)
    question_column = spec.column or _first_present(rows, eval_sets.ITEM_COLUMNS, name, "question")
    reference_column = _first_present(rows, eval_sets.REFERENCE_COLUMNS, name, "reference answer")
    pairs = [
        (q, _as_text(r))
        for q, r in zip(rows[question_column], rows[reference_column], strict=True)
        if isinstance(q, str) and q.strip() and _as_text(r).strip()
    ]
    if not pairs:
        raise InputError(f"eval set {name}: no item has both a question and a reference answer")
    pairs = pairs[:limit] if limit is not None else pairs
    digest = hashlib.sha256("\x1e".join(f"{q}\x1f{r}" for q, r in pairs).encode()).hexdigest()
    record = {**source, "question_column": question_column, "reference_column": reference_column}
    record |= {"items": len(pairs), "items_sha256": digest}
    record.pop("name", None)
    return EvalSet(name, [q for q, _ in pairs], [r for _, r in pairs], record)


def _first_present(rows: dict[str, list], candidates: tuple[str, ...], name: str, what: str) -> str:
    found = next((c for c in candidates if c in rows), None)
    if found is None:
        raise InputError(
            f"eval set {name}: no {what} column; expected one of {list(candidates)}, found {sorted(rows)}",
            hint="Rename the columns of the file: the question in `question` or `problem`, the answer in `answer`.",
        )
    return found


def _as_text(value: Any) -> str:
    """References may be numbers in a local file (`"answer": 42`)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)
