"""Step `preference`: pairs that teach the model nothing or the wrong thing."""

from __future__ import annotations

import polars as pl

from curate.config import PreferenceConfig
from curate.steps.rules import Rule, first_failing

GAP = pl.col("chosen_rating") - pl.col("rejected_rating")


def preference(frame: pl.DataFrame, config: PreferenceConfig, has_ratings: bool) -> pl.DataFrame:
    return first_failing(frame, rules(config, has_ratings))


def rules(config: PreferenceConfig, has_ratings: bool) -> list[Rule]:
    checks = [Rule("identical_responses", pl.col("responses_equal"))]
    if not has_ratings:
        return checks
    ratings = pl.format("chosen {} vs rejected {}", pl.col("chosen_rating"), pl.col("rejected_rating"))
    min_gap = config.min_rating_gap
    return [
        *checks,
        Rule("inverted_rating", GAP < 0, ratings),
        Rule("tie", GAP == 0, ratings),
        Rule("small_rating_gap", min_gap > GAP, pl.format("gap {} < {}", GAP, pl.lit(min_gap))),
    ]
