"""Deterministic train/test split, grouped by near-duplicate cluster so no cluster lands on both sides."""

from __future__ import annotations

import numpy as np
import polars as pl

from curate.hashing import GOLDEN, mix

GROUP_KEY = ["system_key", "prompt_key"]


def assign_splits(kept: pl.DataFrame, test_size: float, seed: int) -> pl.Series:
    """A `split` value ("train" / "test") per kept row, in the frame's order.

    Rows are grouped by near-duplicate cluster (by normalised prompt when the frame has no clusters);
    exact duplicates of a prompt are always in one cluster. Groups are ordered by a seeded hash of the
    (system, prompt) keys of their first row and taken into test until the next one would pass
    round(test_size * rows): exact for one pair per prompt, never splitting a group.
    """
    group = "cluster" if "cluster" in kept.columns else GROUP_KEY
    groups = kept.group_by(group, maintain_order=True).agg(pl.col("key_hash").first(), pl.len())
    hashes = pl.Series("hash", _group_hashes(groups, seed), pl.UInt64)
    ordered = groups.with_row_index("first_seen").with_columns(hashes).sort("hash", "first_seen")
    target = round(test_size * kept.height)
    ordered = ordered.with_columns(
        split=pl.when(pl.col("len").cum_sum() <= target).then(pl.lit("test")).otherwise(pl.lit("train"))
    ).select(group, "split")
    assigned = kept.select(group).join(ordered, on=group, how="left", nulls_equal=True, maintain_order="left")
    return assigned["split"]


def _group_hashes(groups: pl.DataFrame, seed: int) -> np.ndarray:
    """A seeded 64-bit hash of each group's first (system, prompt) keys: fixed arithmetic over their stable
    `key_hash`, so the split is the same in any process. Groups with equal hashes keep the order they were
    first seen in."""
    with np.errstate(over="ignore"):
        start = mix(np.full(1, seed % 2**64, np.uint64) * GOLDEN + np.uint64(1))
        return mix(start ^ groups["key_hash"].to_numpy())
