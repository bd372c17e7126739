"""Step `dedup`: exact duplicate pairs, and several pairs for one prompt."""

from __future__ import annotations

import polars as pl

from curate.config import Recipe
from curate.steps import DROPS_SCHEMA

PAIR_KEY = ["system_key", "prompt_key", "chosen_key", "rejected_key"]
PROMPT_KEY = ["system_key", "prompt_key"]


def dedup(frame: pl.DataFrame, recipe: Recipe, has_ratings: bool) -> pl.DataFrame:
    copies = duplicate_pairs(frame)
    if recipe.dedup.prompt_duplicates == "keep_all":
        return copies
    remaining = frame.join(copies, on="row", how="anti")
    return pl.concat([copies, duplicate_prompts(remaining)]).sort("row")


def duplicate_pairs(frame: pl.DataFrame) -> pl.DataFrame:
    """The same pair after normalisation: the first seen is kept."""
    first = pl.col("row").min().over(PAIR_KEY)
    return _drops(frame, first, "duplicate_pair", "same pair as row {}")


def duplicate_prompts(frame: pl.DataFrame) -> pl.DataFrame:
    """One pair per prompt: largest rating gap, then highest chosen rating, then first seen."""
    ranked = frame.join(best_rows(frame, PROMPT_KEY), on=PROMPT_KEY, how="left", nulls_equal=True)
    return _drops(ranked, pl.col("kept_row"), "duplicate_prompt", "prompt kept in row {}")


def best_rows(frame: pl.DataFrame, group: list[str]) -> pl.DataFrame:
    """Per group, `kept_row`: the row with the largest rating gap, then highest chosen rating, then first seen."""
    order = frame.sort(
        [pl.col("chosen_rating") - pl.col("rejected_rating"), "chosen_rating", "row"],
        descending=[True, True, False],
        nulls_last=True,
    )
    return order.group_by(group, maintain_order=True).agg(pl.col("row").first().alias("kept_row"))


def _drops(frame: pl.DataFrame, kept_row: pl.Expr, reason: str, detail: str) -> pl.DataFrame:
    marked = frame.select("row", kept_row.alias("kept_row"))
    dropped = marked.filter(pl.col("row") != pl.col("kept_row"))
    return dropped.select(
        "row", pl.lit(reason).alias("reason"), pl.format(detail, pl.col("kept_row")).alias("detail")
    ).cast(DROPS_SCHEMA)
