"""Step `near_dedup`: prompts that are near-duplicates of a kept prompt (reworded, a number changed, ...)."""

from __future__ import annotations

from typing import Any

import polars as pl

from curate.config import NearDedupConfig
from curate.steps.dedup import PROMPT_KEY, best_row
from curate.steps.rules import DROPS_SCHEMA


def with_clusters(frame: pl.DataFrame, config: NearDedupConfig) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Add `cluster` (the smallest row of the near-duplicate cluster) to the rows still kept."""
    from curate.minhash_lsh import prompt_clusters

    found = prompt_clusters(frame.select("row", *PROMPT_KEY, "key_hash"), config.threshold, config.shingle_words)
    annotated = frame.with_columns(found.rows["cluster"])  # in the frame's row order
    grouped = annotated.select("cluster", "prompt_key").filter(pl.len().over("cluster") > 1)  # a lone row: no cluster
    sizes = grouped.group_by("cluster").agg(pl.col("prompt_key").n_unique().alias("prompts"), pl.len().alias("rows"))
    shared = sizes.filter(pl.col("prompts") > 1)
    stats = {
        "clusters": shared.height,
        "largest": int(shared["rows"].max() or 0),
        "rows_in_clusters": int(shared["rows"].sum()),
        "candidate_pairs": found.candidates,
        "similar_pairs": found.pairs,
    }
    return annotated, stats


def near_dedup(frame: pl.DataFrame, config: NearDedupConfig) -> pl.DataFrame:
    """One prompt per cluster, chosen by the exact-duplicate rule (largest gap, highest chosen rating, first)."""
    if config.prompt_duplicates == "keep_all":
        return pl.DataFrame(schema=DROPS_SCHEMA)
    columns = ["row", *PROMPT_KEY, "cluster", "chosen_rating", "rejected_rating"]
    shared = frame.select(columns).filter(pl.len().over("cluster") > 1)  # a row alone in its cluster stays
    marked = shared.with_columns(kept_row=best_row(["cluster"]))
    kept_keys = [pl.col(key).filter(pl.col("row") == pl.col("kept_row")).first().over("cluster") for key in PROMPT_KEY]
    same_prompt = pl.all_horizontal(pl.col(k).eq_missing(kept) for k, kept in zip(PROMPT_KEY, kept_keys, strict=True))
    dropped = marked.filter(~same_prompt)
    detail = pl.format("near-duplicate of the prompt kept in row {}", pl.col("kept_row"))
    return dropped.select("row", pl.lit("near_duplicate_prompt").alias("reason"), detail.alias("detail")).cast(
        DROPS_SCHEMA
    )
