"""The build's rules. Each step takes the rows still kept and returns the ones it drops, with a reason.

A step returns a frame of `row`, `reason`, `detail`; it never filters. The pipeline removes what a step
drops before the next step runs, so every row has exactly one reason: that of the first rule it fails.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

DROPS_SCHEMA = {"row": pl.Int64, "reason": pl.String, "detail": pl.String}


@dataclass(frozen=True)
class Rule:
    """A named check: rows for which `fails` is true are dropped with `reason` (and `detail`, if set)."""

    reason: str
    fails: pl.Expr
    detail: pl.Expr | None = None


def first_failing(frame: pl.DataFrame, rules: list[Rule]) -> pl.DataFrame:
    """Rows that fail any rule, each with the reason of the first rule it fails."""
    if not rules:
        return pl.DataFrame(schema=DROPS_SCHEMA)
    reason = pl.when(rules[0].fails).then(pl.lit(rules[0].reason))
    detail = pl.when(rules[0].fails).then(_detail(rules[0]))
    for rule in rules[1:]:
        reason = reason.when(rule.fails).then(pl.lit(rule.reason))
        detail = detail.when(rule.fails).then(_detail(rule))
    marked = frame.select("row", reason.alias("reason"), detail.alias("detail"))
    return marked.filter(pl.col("reason").is_not_null()).cast(DROPS_SCHEMA)


def _detail(rule: Rule) -> pl.Expr:
    return rule.detail if rule.detail is not None else pl.lit(None, pl.String)
