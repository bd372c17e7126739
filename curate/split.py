"""Deterministic train/test split, grouped by near-duplicate cluster so no cluster lands on both sides."""

from __future__ import annotations

import hashlib

import polars as pl

GROUP_KEY = ["system_key", "prompt_key"]


def assign_splits(kept: pl.DataFrame, test_size: float, seed: int) -> pl.Series:
    """A `split` value ("train" / "test") per kept row, in the frame's order.

    Rows are grouped by near-duplicate cluster (by normalised prompt when the frame has no clusters);
    exact duplicates of a prompt are always in one cluster. Groups are ordered by a seeded hash of the
    (system, prompt) keys of their first row and taken into test until the next one would pass
    round(test_size * rows): exact for one pair per prompt, never splitting a group.
    """
    group = "cluster" if "cluster" in kept.columns else GROUP_KEY
    groups = kept.group_by(group, maintain_order=True).agg(pl.col(GROUP_KEY).first(), pl.len())
    hashes = [_group_hash(seed, system, prompt) for system, prompt in groups.select(GROUP_KEY).iter_rows()]
    ordered = groups.with_columns(pl.Series("hash", hashes, pl.String)).sort("hash")
    target = round(test_size * kept.height)
    ordered = ordered.with_columns(
        split=pl.when(pl.col("len").cum_sum() <= target).then(pl.lit("test")).otherwise(pl.lit("train"))
    ).select(group, "split")
    assigned = kept.select(group).join(ordered, on=group, how="left", nulls_equal=True, maintain_order="left")
    return assigned["split"]


def _group_hash(seed: int, system: str | None, prompt: str | None) -> str:
    key = f"{seed}\x1f{system or ''}\x1f{prompt or ''}".encode()
    return hashlib.blake2b(key, digest_size=16).hexdigest()
