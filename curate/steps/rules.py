"""What the steps share over polars frames: the frame of drops every step returns, named rules, and `without`."""

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
    """Rows that fail any rule, each with the reason of the first rule it fails. The details (formatted
    strings) are made for the failing rows only."""
    if not rules:
        return pl.DataFrame(schema=DROPS_SCHEMA)
    first = pl.when(rules[0].fails).then(0)
    for index, rule in enumerate(rules[1:], start=1):
        first = first.when(rule.fails).then(index)
    failing = frame.with_columns(first_rule=first).filter(pl.col("first_rule").is_not_null())
    reason = pl.col("first_rule").replace_strict(range(len(rules)), [rule.reason for rule in rules])
    detail = pl.when(pl.col("first_rule") == 0).then(_detail(rules[0]))
    for index, rule in enumerate(rules[1:], start=1):
        detail = detail.when(pl.col("first_rule") == index).then(_detail(rule))
    return failing.select("row", reason.alias("reason"), detail.alias("detail")).cast(DROPS_SCHEMA)


def without(frame: pl.DataFrame, dropped: pl.DataFrame) -> pl.DataFrame:
    """`frame` less the rows in `dropped`, in order (a hash-set filter; the frame itself when none)."""
    return frame.filter(~pl.col("row").is_in(dropped["row"].implode())) if dropped.height else frame


def _detail(rule: Rule) -> pl.Expr:
    return rule.detail if rule.detail is not None else pl.lit(None, pl.String)
