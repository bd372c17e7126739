"""Step `validate`: rows that cannot become a training pair at all."""

from __future__ import annotations

import polars as pl

from curate.config import ValidateConfig
from curate.steps.rules import Rule, first_failing

TEXTS = ("prompt", "chosen", "rejected")


def validate(frame: pl.DataFrame, config: ValidateConfig, has_ratings: bool) -> pl.DataFrame:
    return first_failing(frame, rules(config, has_ratings))


def rules(config: ValidateConfig, has_ratings: bool) -> list[Rule]:
    checks = [Rule(f"empty_{text}", _is_empty(text)) for text in TEXTS]
    if has_ratings:
        checks += [
            Rule("missing_rating", _missing_rating(), pl.lit("chosen_rating or rejected_rating is null")),
            Rule("non_numeric_rating", _rating_problem().is_not_null(), _rating_problem()),
        ]
    tokens = config.control_tokens
    if tokens:
        checks.append(Rule("control_token", _has_control_token(tokens), _which_control_token(tokens)))
    checks.append(Rule("text_too_long", _length() > config.max_chars, _length_detail(config.max_chars)))
    return checks


def _is_empty(text: str) -> pl.Expr:
    # `with_keys` marks the texts that are null or show nothing (curate/normalize.py, `INVISIBLE`).
    return pl.col(f"{text}_blank")


def _missing_rating() -> pl.Expr:
    unset = pl.col("chosen_rating").is_null() | pl.col("rejected_rating").is_null()
    return unset & pl.col("rating_problem").is_null()


def _rating_problem() -> pl.Expr:
    """Why a row's ratings are unusable: one is not a finite number (`to_canonical` says which), or both are but
    their gap overflows to infinity (1.7e308 and -1.7e308): an infinite gap says nothing about how much better
    the chosen response is, and the dedup rules rank pairs by it."""
    gap = pl.col("chosen_rating") - pl.col("rejected_rating")
    ratings = pl.format(
        "rating gap overflows: chosen {} - rejected {}", pl.col("chosen_rating"), pl.col("rejected_rating")
    )
    return pl.coalesce(pl.col("rating_problem"), pl.when(~gap.is_finite()).then(ratings))


def _has_control_token(tokens: list[str]) -> pl.Expr:
    columns = [*TEXTS, "system"]
    return pl.any_horizontal(pl.col(c).str.contains_any(tokens).fill_null(False) for c in columns)


def _which_control_token(tokens: list[str]) -> pl.Expr:
    found = [
        pl.when(pl.col(c).str.contains_any(tokens).fill_null(False)).then(pl.lit(f"control token in {c}"))
        for c in ("system", *TEXTS)
    ]
    return pl.coalesce(found)


def _length() -> pl.Expr:
    responses = pl.max_horizontal(pl.col("chosen").str.len_chars(), pl.col("rejected").str.len_chars())
    return pl.col("prompt").str.len_chars() + responses


def _length_detail(limit: int) -> pl.Expr:
    return pl.format("{} characters (limit {})", _length(), pl.lit(limit))
