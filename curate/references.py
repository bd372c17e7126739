"""Reference answers for the answers step: a source column, or a reference set (a local file or a Hub dataset)
joined to the pairs on the normalised prompt.

A reference set is read like a benchmark (curate/eval_sets.py): local files with curate's own readers, Hub
datasets with `datasets` at the commit the Hub resolves first, and an unreachable Hub is an error, never a skip.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import polars as pl

from curate.config import AnswersConfig, Recipe, ReferenceSet
from curate.errors import InputError

# `--reference gsm8k`: GSM8K's test split, whose answers end in `#### 42`.
BUILTIN = {"gsm8k": {"dataset": "openai/gsm8k", "config": "main", "split": "test"}}
FILE_SUFFIXES = (".jsonl", ".ndjson", ".json", ".parquet")
SET_QUESTION_COLUMNS = ("question", "problem", "prompt", "instruction")
SET_ANSWER_COLUMNS = ("answer", "solution", "final_answer")


@dataclass(frozen=True)
class AnswerReferences:
    """Where the answers step finds each pair's reference answer. `none`: it compares the pair's two answers only."""

    kind: Literal["none", "column", "set"]
    by_question: pl.DataFrame | None = None  # a set's `prompt_key` (normalised question) -> `reference`, one per key
    source: dict[str, Any] = field(default_factory=dict)  # for the report: the column, or where the set came from


def reference_set(name: str) -> dict[str, str]:
    """A `--reference` value as its recipe mapping: `gsm8k`, a local file, or a Hub dataset id."""
    if name in BUILTIN:
        return dict(BUILTIN[name])
    if Path(name).exists() or name.lower().endswith(FILE_SUFFIXES) or name.count("/") != 1:
        return {"path": name}  # not a Hub id: reading it names the missing file
    return {"dataset": name}


def load_references(recipe: Recipe) -> AnswerReferences | None:
    """The reference answers of a build with the answer checks on; None when they are off (no answers step)."""
    config: AnswersConfig = recipe.answers
    if not config.enabled:
        return None
    _require_math_verify()
    if config.reference is not None:
        return load_reference_set(config.reference)
    column = recipe.source.columns.reference if recipe.source.columns else None
    if column:
        return AnswerReferences("column", source={"kind": "column", "column": column})
    return AnswerReferences("none")


def _require_math_verify() -> None:
    import importlib.util

    from curate.errors import DependencyError

    if importlib.util.find_spec("math_verify") is None:
        raise DependencyError(
            "the answer checks (answers.enabled) need math-verify, which is not installed",
            hint="pip install 'curate[answers]'",
        )


def load_reference_set(spec: ReferenceSet) -> AnswerReferences:
    from curate.normalize import normalize_series

    rows, source = _rows(spec)
    question = _column(spec.question, SET_QUESTION_COLUMNS, rows, "question")
    answer = _column(spec.answer, SET_ANSWER_COLUMNS, rows, "answer")
    table = pl.DataFrame({"question": rows[question], "reference": rows[answer]}, strict=False)
    table = table.select(pl.col("question").cast(pl.String), pl.col("reference").cast(pl.String))
    table = table.filter(pl.col("question").is_not_null() & pl.col("reference").is_not_null())
    keyed = table.select(normalize_series(table["question"]).alias("prompt_key"), "reference")
    # A question the set holds twice keeps its first answer: same file, same join.
    by_question = keyed.unique("prompt_key", keep="first", maintain_order=True)
    digest = hashlib.sha256("\x1e".join(f"{q}\x1f{a}" for q, a in by_question.iter_rows()).encode()).hexdigest()
    record = {"kind": "set", **source, "question": question, "answer": answer, "questions": by_question.height}
    return AnswerReferences("set", by_question, {**record, "items_sha256": digest})


# Hub errors name the way out of a build with reference answers: (online hint, HF_HUB_OFFLINE hint).
REFERENCE_WAY_OUT = (
    "Pass a local copy (answers.reference: {path: FILE}), set HF_HUB_OFFLINE=1 if it is in your Hub cache, or build "
    "without a reference.",
    "HF_HUB_OFFLINE is set and this reference set is not in the Hub cache: load it once online, pass a local copy "
    "(answers.reference: {path: FILE}), or build without a reference.",
)


def _rows(spec: ReferenceSet) -> tuple[dict[str, list], dict[str, Any]]:
    """The set's columns, read as the evaluation sets are (curate/eval_sets.py), and where they came from."""
    from curate.eval_sets import BenchmarkSpec, load_rows

    where = spec.model_dump(include={"dataset", "config", "revision", "path", "split"})
    rows, source = load_rows(BenchmarkSpec(**where), REFERENCE_WAY_OUT, what="reference set")
    source.pop("name")  # the report records a reference set by where it came from
    return rows, source


def _column(named: str | None, candidates: tuple[str, ...], rows: dict[str, list], role: str) -> str:
    found = named or next((name for name in candidates if name in rows), None)
    if found is None or found not in rows:
        raise InputError(
            f"reference set: no {role} column {found or ' or '.join(candidates)!r}; found {sorted(rows)}",
            hint=f"Name it under answers.reference in the recipe (`{role}:`).",
        )
    return found
