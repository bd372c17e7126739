"""JSON Schemas of the source rows, the output rows and the recipe, generated from these models.

`python -m curate.schemas` rewrites `schemas/`; a test keeps the files and the code in sync.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from curate.config import Recipe
from curate.render import CHATML_FIELD_DOCS
from curate.report import Report
from curate.steps import ANSWER_COLUMNS, REASONS, REFERENCE_COLUMNS, STEPS


class DistilabelSourceRow(BaseModel):
    """One row of argilla/distilabel-math-preference-dpo (other sources map their columns in the recipe)."""

    instruction: str = Field(description="The math question.")
    chosen_response: str = Field(description="The response the judge rated higher.")
    chosen_rating: float | str | None = Field(
        description="Judge rating, 1-10 (text that parses as a number is accepted)."
    )
    rejected_response: str = Field(description="The response the judge rated lower.")
    rejected_rating: float | str | None = Field(description="Judge rating, 1-10.")
    metadata: str | None = Field(None, description="distilabel 0.x metadata as a JSON string; not used.")


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content: str
    role: Literal["system", "user", "assistant"]


class _AnswerColumns(BaseModel):
    """The answer columns, in the rows of builds with `answers.enabled` (the reference ones with a reference)."""

    chosen_answer: str | None = Field(None, description=ANSWER_COLUMNS["chosen_answer"])
    rejected_answer: str | None = Field(None, description=ANSWER_COLUMNS["rejected_answer"])
    answer_agreement: Literal["same", "different", "undetermined"] | None = Field(
        None, description=ANSWER_COLUMNS["answer_agreement"]
    )
    reference_answer: str | None = Field(None, description=REFERENCE_COLUMNS["reference_answer"])
    chosen_correct: Literal["correct", "incorrect", "undetermined"] | None = Field(
        None, description=REFERENCE_COLUMNS["chosen_correct"]
    )
    rejected_correct: Literal["correct", "incorrect", "undetermined"] | None = Field(
        None, description=REFERENCE_COLUMNS["rejected_correct"]
    )


class _OutputRow(_AnswerColumns):
    model_config = ConfigDict(extra="forbid")
    score_chosen: float | None = Field(description="The chosen response's rating (null when the source has none).")
    score_rejected: float | None = Field(description="The rejected response's rating.")
    source_row: int = Field(ge=0, description="0-based position of the pair in the source split.")


class ChatmlRow(_OutputRow):
    """A row of data/train-*.parquet and data/test-*.parquet with `render.format: chatml`."""

    prompt: str = Field(description=CHATML_FIELD_DOCS["prompt"])
    chosen: str = Field(description=CHATML_FIELD_DOCS["chosen"])
    rejected: str = Field(description=CHATML_FIELD_DOCS["rejected"])


class ConversationalRow(_OutputRow):
    """A row of the splits with `render.format: conversational`."""

    prompt: list[Message] = Field(description="Optional system message, then the user message.")
    chosen: list[Message] = Field(min_length=1, max_length=1, description="One assistant message.")
    rejected: list[Message] = Field(min_length=1, max_length=1, description="One assistant message.")


class DroppedRow(_AnswerColumns):
    """A row of dropped/dropped-*.parquet: the input row as read, and why it was dropped (with the answer
    columns, null for rows dropped before the answers step, when it ran)."""

    model_config = ConfigDict(extra="forbid")
    source_row: int = Field(ge=0)
    step: Literal[tuple(step.name for step in STEPS)]  # type: ignore[valid-type]
    reason: Literal[tuple(REASONS)]  # type: ignore[valid-type]
    detail: str | None = Field(description="Specifics: the ratings, the kept row a duplicate points to, ...")
    system: str | None
    prompt: str | None
    chosen: str | None
    rejected: str | None
    chosen_rating: float | None
    rejected_rating: float | None


SCHEMAS = {
    "source-row.distilabel.schema.json": DistilabelSourceRow,
    "output-row.chatml.schema.json": ChatmlRow,
    "output-row.conversational.schema.json": ConversationalRow,
    "dropped-row.schema.json": DroppedRow,
    "recipe.schema.json": Recipe,
    "report.schema.json": Report,
}


def schema_texts() -> dict[str, str]:
    texts = {}
    for name, model in SCHEMAS.items():
        schema = model.model_json_schema(by_alias=True)
        texts[name] = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    return texts


def write_schemas(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in schema_texts().items():
        (folder / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    write_schemas(Path(__file__).resolve().parent.parent / "schemas")
