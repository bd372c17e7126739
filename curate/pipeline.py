"""Run the steps over the canonical frame, keep every dropped row with its reason, and check the counts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from curate.config import Recipe
from curate.errors import ConservationError
from curate.normalize import with_keys
from curate.steps import without
from curate.steps.decontaminate import decontaminate
from curate.steps.dedup import dedup
from curate.steps.length import length, with_lengths
from curate.steps.near_dedup import near_dedup, with_clusters
from curate.steps.preference import preference
from curate.steps.validate import validate

StepFn = Callable[[pl.DataFrame, Recipe, bool], pl.DataFrame]
Annotate = Callable[[pl.DataFrame, Recipe], tuple[pl.DataFrame, dict[str, Any]]]


@dataclass(frozen=True)
class Step:
    name: str
    drops: StepFn
    annotate: Annotate | None = None  # columns the rule reads, computed over the rows still kept, and their stats


@dataclass
class StepCount:
    step: str
    rows_in: int
    dropped: dict[str, int]
    rows_out: int


@dataclass
class PipelineResult:
    kept: pl.DataFrame  # the canonical columns, keys and `cluster`
    dropped: pl.DataFrame  # the canonical columns plus step, reason, detail
    funnel: list[StepCount] = field(default_factory=list)
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)  # per step, what its annotation found


def steps(benchmarks: list | None = None) -> list[Step]:
    """The rules in order. Decontamination comes before dedup, so a duplicate group never keeps the copy that
    leaks a benchmark item; it runs only when the caller loaded benchmarks (`build` does)."""
    checks = [Step("validate", validate), Step("preference", preference)]
    if benchmarks:
        checks.append(Step("decontaminate", lambda frame, recipe, _: decontaminate(frame, recipe, benchmarks)))
    dedups = [Step("dedup", dedup), Step("near_dedup", near_dedup, annotate=with_clusters)]
    return [*checks, *dedups, Step("length", length, annotate=with_lengths)]


def run_pipeline(
    frame: pl.DataFrame,
    recipe: Recipe,
    has_ratings: bool,
    on_step: Callable[[str], None] | None = None,
    benchmarks: list | None = None,
) -> PipelineResult:
    """Apply the steps in order; each sees only the rows the earlier ones kept."""
    kept = with_keys(frame)
    drops, funnel, stats = [], [], {}
    for step in steps(benchmarks):
        if on_step:
            on_step(step.name)
        if step.annotate:
            kept, stats[step.name] = step.annotate(kept, recipe)
        dropped = step.drops(kept, recipe, has_ratings).with_columns(step=pl.lit(step.name))
        funnel.append(_count(step.name, kept.height, dropped))
        kept = without(kept, dropped)
        drops.append(dropped)
    result = PipelineResult(kept, _dropped_rows(frame, drops), funnel, stats)
    check_conservation(frame.height, result)
    return result


def _count(step: str, rows_in: int, dropped: pl.DataFrame) -> StepCount:
    by_reason = dropped.group_by("reason").len().sort("reason")
    counts = dict(zip(by_reason["reason"].to_list(), by_reason["len"].to_list(), strict=True))
    return StepCount(step, rows_in, counts, rows_in - dropped.height)


def _dropped_rows(frame: pl.DataFrame, drops: list[pl.DataFrame]) -> pl.DataFrame:
    reasons = pl.concat(drops).select("row", "step", "reason", "detail")
    return reasons.join(frame, on="row", how="left").sort("row")


def check_conservation(rows_in: int, result: PipelineResult) -> None:
    """Every input row is kept or dropped, exactly once."""
    rows = pl.concat([result.kept["row"], result.dropped["row"]])
    if rows.len() != rows_in or rows.n_unique() != rows_in:
        raise ConservationError(
            f"row accounting failed: {rows_in} rows in, {result.kept.height} kept + "
            f"{result.dropped.height} dropped ({rows.n_unique()} distinct)",
            hint="This is a bug in curate; please report it with the recipe and input.",
        )
