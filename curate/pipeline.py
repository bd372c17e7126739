"""Run the declared steps (`curate.steps.STEPS`) over the canonical frame, keep every dropped row with its reason,
and check the counts.

Each step is held to its declaration as it runs: it is given `row` and only the columns it declares it reads (a
`select`, which copies no data), so reading any other fails; the columns it adds, the reasons it gives and the
columns its drops hold are checked when it returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from curate.config import Recipe
from curate.errors import ConservationError, first_line
from curate.steps import KEYS, STEPS, Annotation, Step
from curate.steps.rules import without

if TYPE_CHECKING:
    from curate.eval_sets import Benchmark
    from curate.references import AnswerReferences

# Recipe sections by their name in the recipe (`validate` is the field `validate_`).
_SECTIONS = {info.alias or name: name for name, info in Recipe.model_fields.items()}


@dataclass(frozen=True)
class StepContext:
    """What a run knows besides its rows. A step is given only its own recipe sections and the fields it names."""

    recipe: Recipe
    has_ratings: bool  # the source has rating columns; without them the rating rules are skipped
    benchmarks: list[Benchmark]  # loaded evaluation sets to decontaminate against; none, no `decontaminate`
    answer_references: AnswerReferences | None = None  # the answer checks are on (with these references); None: off


class StepContractError(RuntimeError):
    """A step read, added or returned something its declaration does not list: a bug in curate."""


@dataclass
class StepCount:
    step: str
    rows_in: int
    dropped: dict[str, int]
    rows_out: int


@dataclass
class PipelineResult:
    kept: pl.DataFrame  # the canonical columns, keys and what the annotations added (`cluster`, lengths)
    dropped: pl.DataFrame  # row, step, reason, detail, the columns steps carry (not written), the canonical columns
    funnel: list[StepCount] = field(default_factory=list)
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)  # per step, what its annotation found
    written: list[str] = field(default_factory=list)  # columns of `written` annotations, on kept and dropped rows


def steps(**context: Any) -> list[Step]:
    """The steps that run, in order: one that `runs_with` a context field only when that field is non-empty
    (decontaminate, when the caller loaded benchmarks; `build` does)."""
    return [step for step in STEPS if step.runs_with is None or context.get(step.runs_with)]


def run_pipeline(
    frame: pl.DataFrame,
    recipe: Recipe,
    has_ratings: bool,
    on_step: Callable[[str], None] | None = None,
    benchmarks: list[Benchmark] | None = None,
    answer_references: AnswerReferences | None = None,
) -> PipelineResult:
    """Apply the steps in order; each sees only the rows the earlier ones kept."""
    context = StepContext(recipe, has_ratings, benchmarks or [], answer_references)
    kept = _added(KEYS, frame, _call(KEYS, frame, context))
    drops, funnel, stats, written = [], [], {}, []
    for step in steps(**vars(context)):
        if on_step:
            on_step(step.name)
        if step.annotate:
            annotated, stats[step.name] = _call(step.annotate, kept, context)
            kept = _added(step.annotate, kept, annotated)
            if step.annotate.written:  # every row from here on, kept or dropped, has these columns
                written.append(kept.select("row", *step.annotate.adds))
        dropped = _drops(step, kept, context)
        funnel.append(_count(step.name, kept.height, dropped))
        kept = without(kept, dropped)
        drops.append(dropped)
    dropped_rows = _with_written(_dropped_rows(frame, drops), written)
    result = PipelineResult(kept, dropped_rows, funnel, stats, [c for w in written for c in w.columns[1:]])
    check_conservation(frame.height, result)
    return result


def _call(declared: Step | Annotation, frame: pl.DataFrame, context: StepContext) -> Any:
    """Run a step or annotation on its declared columns, with its recipe sections and context fields."""
    function = declared.resolve()
    sections = [getattr(context.recipe, _SECTIONS[name]) for name in declared.config]
    fields = {name: getattr(context, name) for name in declared.context}
    try:
        return function(frame.select("row", *declared.reads), *sections, **fields)
    except pl.exceptions.ColumnNotFoundError as error:
        raise StepContractError(
            f"{function.__module__}.{function.__name__} reads a column it does not declare "
            f"(declared: {', '.join(declared.reads)}): {first_line(error)}"
        ) from error


def _added(annotation: Annotation, kept: pl.DataFrame, annotated: pl.DataFrame) -> pl.DataFrame:
    """`kept` with the columns `annotated` adds to it, once they are the declared ones, in the same row order."""
    added = [name for name in annotated.columns if name != "row" and name not in annotation.reads]
    if sorted(added) != sorted(annotation.adds) or not annotated["row"].equals(kept["row"]):
        raise StepContractError(
            f"{annotation.function} added {added}, declared {list(annotation.adds)} (or changed the rows' order)"
        )
    return kept.with_columns(annotated.select(annotation.adds).get_columns())


def _drops(step: Step, kept: pl.DataFrame, context: StepContext) -> pl.DataFrame:
    """The rows `step` drops as row, step, reason, detail and the columns it carries."""
    dropped = _call(step, kept, context)
    columns = ["row", "reason", "detail", *step.carries]
    if dropped.columns != columns:
        raise StepContractError(f"step {step.name} returned the columns {dropped.columns}, declared {columns}")
    undeclared = set(dropped["reason"].unique()) - {reason.name for reason in step.reasons}
    if undeclared:
        raise StepContractError(f"step {step.name} gave reasons it does not declare: {sorted(undeclared)}")
    return dropped.select("row", pl.lit(step.name).alias("step"), pl.exclude("row"))


def _count(step: str, rows_in: int, dropped: pl.DataFrame) -> StepCount:
    by_reason = dropped.group_by("reason").len().sort("reason")
    counts = dict(zip(by_reason["reason"].to_list(), by_reason["len"].to_list(), strict=True))
    return StepCount(step, rows_in, counts, rows_in - dropped.height)


def _dropped_rows(frame: pl.DataFrame, drops: list[pl.DataFrame]) -> pl.DataFrame:
    # Diagonal: a column one step carries (decontaminate's matches) is null in the others' rows.
    return pl.concat(drops, how="diagonal").join(frame, on="row", how="left").sort("row")


def _with_written(dropped: pl.DataFrame, written: list[pl.DataFrame]) -> pl.DataFrame:
    """The dropped rows with the written annotations' columns: null for rows dropped before they were made."""
    for columns in written:
        dropped = dropped.join(columns, on="row", how="left", maintain_order="left")
    return dropped


def check_conservation(rows_in: int, result: PipelineResult) -> None:
    """Every input row is kept or dropped, exactly once."""
    rows = pl.concat([result.kept["row"], result.dropped["row"]])
    if rows.len() != rows_in or rows.n_unique() != rows_in:
        raise ConservationError(
            f"row accounting failed: {rows_in} rows in, {result.kept.height} kept + "
            f"{result.dropped.height} dropped ({rows.n_unique()} distinct)",
            hint="This is a bug in curate; please report it with the recipe and input.",
        )
