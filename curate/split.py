"""Deterministic train/test split, grouped by normalised prompt so a prompt never lands in both."""

from __future__ import annotations

import hashlib

import polars as pl

GROUP_KEY = ["system_key", "prompt_key"]


def assign_splits(kept: pl.DataFrame, test_size: float, seed: int) -> pl.Series:
    """A `split` value ("train" / "test") per kept row, in the frame's order.

    Groups are ordered by a seeded hash of their key and taken into test until the next one would
    pass round(test_size * rows): exact for one pair per prompt, never splitting a group.
    """
    groups = kept.group_by(GROUP_KEY, maintain_order=True).len()
    hashes = [_group_hash(seed, system, prompt) for system, prompt, _ in groups.iter_rows()]
    ordered = groups.with_columns(pl.Series("hash", hashes, pl.String)).sort("hash")
    target = round(test_size * kept.height)
    ordered = ordered.with_columns(
        split=pl.when(pl.col("len").cum_sum() <= target).then(pl.lit("test")).otherwise(pl.lit("train"))
    )
    assigned = kept.select(GROUP_KEY).join(ordered, on=GROUP_KEY, how="left", nulls_equal=True, maintain_order="left")
    return assigned["split"]


def _group_hash(seed: int, system: str | None, prompt: str | None) -> str:
    key = f"{seed}\x1f{system or ''}\x1f{prompt or ''}".encode()
    return hashlib.blake2b(key, digest_size=16).hexdigest()
