"""The report of a build (`report.json`): what was read, what each step dropped, what was written.

`build` returns it, the card, the funnel table, `curate push` and training preflight read it, and
`schemas/report.schema.json` is generated from it. Field order is the order of the keys in report.json.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from curate.config import ColumnMap, Recipe
from curate.steps import REASONS, STEPS

SplitName = Literal["train", "test"]
SPLITS: tuple[str, ...] = get_args(SplitName)
StepName = Literal[tuple(step.name for step in STEPS)]  # type: ignore[valid-type]
Reason = Literal[tuple(REASONS)]  # type: ignore[valid-type]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceFile(_Part):
    path: str = Field(description="The file, relative to the source folder (its name for a single file).")
    sha256: str


class LocalSource(_Part):
    """Local files or a folder."""

    kind: Literal["local"]
    path: str = Field(description="The path the recipe named.")
    split: str
    files: list[SourceFile]
    columns: ColumnMap = Field(description="Which source column held each canonical field.")


class HubSource(_Part):
    """A Hub dataset, pinned to the commit its revision resolved to."""

    kind: Literal["hub"]
    dataset: str
    revision: str = Field(description="The revision the recipe asked for.")
    sha: str = Field(description="The commit it resolved to, which was read.")
    split: str
    license: str | None = Field(description="The license in the dataset's card, if any.")
    files: list[SourceFile]
    columns: ColumnMap = Field(description="Which source column held each canonical field.")


class StepFunnel(_Part):
    """One step of the pipeline: rows it saw, rows it dropped per reason, rows it passed on."""

    step: StepName
    rows_in: int
    dropped: dict[Reason, int]
    rows_out: int


class NearDuplicates(_Part):
    """What the near_dedup step found among the prompts still kept (before it drops anything)."""

    clusters: int = Field(description="Clusters of near-duplicate rows holding more than one distinct prompt.")
    largest: int = Field(description="Rows in the largest such cluster.")
    rows_in_clusters: int
    candidate_pairs: int = Field(description="Prompt pairs MinHash LSH proposed.")
    similar_pairs: int = Field(description="Proposed pairs confirmed at or above the similarity threshold.")


class LocalContamination(_Part):
    """A local benchmark file, and the pairs dropped because they overlap its items."""

    name: str
    path: str
    sha256: str = Field(description="sha256 of the file.")
    column: str = Field(description="The column holding the items.")
    items: int = Field(description="Non-empty items read.")
    items_sha256: str = Field(description="sha256 of the items, joined by U+001E.")
    pairs_dropped: int = Field(description="Pairs dropped as `contaminated` by this benchmark (first match).")
    items_matched: int = Field(description="Distinct items those pairs matched.")


class HubContamination(_Part):
    """A Hub benchmark, and the pairs dropped because they overlap its items."""

    name: str
    dataset: str
    config: str | None
    split: str
    revision: str | None = Field(description="The revision the recipe asked for (null: the default branch).")
    sha: str | None = Field(description="The commit read (null when offline: the cached copy).")
    column: str = Field(description="The column holding the items.")
    items: int = Field(description="Non-empty items read.")
    items_sha256: str = Field(description="sha256 of the items, joined by U+001E.")
    pairs_dropped: int = Field(description="Pairs dropped as `contaminated` by this benchmark (first match).")
    items_matched: int = Field(description="Distinct items those pairs matched.")


Contamination = LocalContamination | HubContamination


class LengthStats(_Part):
    """Null when the split has no rows."""

    min: int | None
    median: float | None
    p95: float | None
    max: int | None


class LengthBias(_Part):
    pairs: int
    chosen_longer_share: float | None = Field(description="Share of pairs whose chosen response is longer.")
    median_length_ratio: float | None = Field(description="Median of chosen length / rejected length.")


class SplitLengths(_Part):
    prompt: LengthStats
    chosen: LengthStats
    rejected: LengthStats
    bias: LengthBias


class Lengths(_Part):
    unit: Literal["characters", "tokens"] = Field(description="tokens when the recipe names a tokenizer.")
    before_length_step: LengthBias = Field(description="The bias of the pairs the length step was given.")
    splits: dict[SplitName, SplitLengths]


class Agreement(_Part):
    """Pairs per answer agreement: both final answers found and equal (`same`), found and not equal
    (`different`), or anything else (`undetermined`: no single answer, a timeout, a known false positive)."""

    same: int
    different: int
    undetermined: int


class Correctness(_Part):
    """Responses per verdict against the reference answer (`undetermined`: no reference, no answer, a timeout)."""

    correct: int
    incorrect: int
    undetermined: int


class ColumnReference(_Part):
    kind: Literal["column"]
    column: str = Field(description="The source column holding the reference answers.")
    pairs: int = Field(description="Pairs the answers step saw that have a reference answer.")


class SetReference(_Part):
    """A reference set, joined to the pairs on the normalised prompt."""

    kind: Literal["set"]
    path: str | None = None
    sha256: str | None = Field(None, description="sha256 of the local file.")
    dataset: str | None = None
    config: str | None = None
    split: str | None = None
    revision: str | None = None
    sha: str | None = Field(None, description="The Hub commit read (null offline or for a local file).")
    question: str = Field(description="The column holding the questions.")
    answer: str = Field(description="The column holding the answers.")
    questions: int = Field(description="Distinct normalised questions with an answer.")
    items_sha256: str = Field(description="sha256 of the (question, answer) rows used.")
    pairs: int = Field(description="Pairs the answers step saw whose prompt is one of the questions.")


class KeptAnswers(_Part):
    """The answers of the pairs kept (both splits)."""

    pairs: int
    agreement: Agreement
    chosen_correct_share: float | None = Field(
        description="Share of kept pairs whose chosen answer is right (null without a reference or kept pairs)."
    )
    rejected_correct_share: float | None = Field(description="Share of kept pairs whose rejected answer is right.")


class Answers(_Part):
    """The answer checks (`answers` in the recipe): present only when they ran."""

    reference: Annotated[ColumnReference | SetReference, Field(discriminator="kind")] | None = Field(
        description="Where the reference answers came from; null: the pairs' answers were only compared."
    )
    pairs: int = Field(description="Pairs the answers step saw (those kept by the steps before it).")
    agreement: Agreement = Field(description="Of the pairs the step saw.")
    chosen: Correctness | None = Field(description="Chosen responses against the reference (null without one).")
    rejected: Correctness | None = Field(description="Rejected responses against the reference.")
    kept: KeptAnswers
    fast: int = Field(description="Distinct answer comparisons decided by the plain-number path.")
    math_verify: int = Field(description="Distinct answer comparisons sent to math-verify.")
    timeouts: int = Field(description="Pairs over `answers.item_timeout` (undetermined); depends on machine speed.")
    errors: int = Field(description="Pairs math-verify failed on (undetermined).")
    worker_restarts: int


class FileRecord(_Part):
    """A written data file. `rows` and `arrow_bytes` are absent in reports of older builds."""

    sha256: str
    bytes: int
    rows: int | None = None
    arrow_bytes: int | None = Field(None, description="Its Arrow size as `datasets` loads it (the card's num_bytes).")


class Report(_Part):
    """Everything a build did; `report.json` in the build folder."""

    curate_version: str
    source: Annotated[LocalSource | HubSource, Field(discriminator="kind")]
    recipe: Recipe
    rows_in: int
    rows_kept: int
    rows_dropped: int
    dropped: dict[Reason, int] = Field(description="Rows dropped per reason, in step order.")
    steps: list[StepFunnel]
    splits: dict[SplitName, int] = Field(description="Rows per split.")
    near_duplicates: NearDuplicates
    decontamination: list[Contamination] = Field(description="Per benchmark, in the recipe's order.")
    lengths: Lengths
    answers: Answers | None = Field(None, description="The answer checks; absent when they are off.")
    files: dict[str, FileRecord] = Field(description="The data files, by path in the folder; not README.md.")

    def written_splits(self) -> list[str]:
        """Splits with a file: train always (possibly empty), test when it has rows."""
        return [split for split, rows in self.splits.items() if rows > 0 or split == "train"]

    def to_json(self) -> str:
        """The text of report.json."""
        # json.dumps, not model_dump_json: the same number formatting as the files curate always wrote.
        data = self.model_dump(mode="json", by_alias=True)
        if data["answers"] is None:  # off: the report of a build without the answer checks, unchanged
            del data["answers"]
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
