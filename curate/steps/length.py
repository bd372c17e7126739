"""Step `length`: pairs too long for the trainer, and the length bias DPO would learn from.

Lengths are tokens of the target tokenizer when the recipe names one (measured the way TRL's DPOTrainer
tokenizes: the rendered prompt, and prompt + response minus the prompt), else characters of the source texts.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import polars as pl

from curate.config import LengthBiasConfig, RenderConfig, TokensConfig
from curate.steps.rules import DROPS_SCHEMA, Rule, first_failing, without

LENGTH_COLUMNS = ["prompt_len", "chosen_len", "rejected_len"]


def with_lengths(
    frame: pl.DataFrame, tokens: TokensConfig, render_config: RenderConfig
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The rows with their three lengths, and the length-bias figures before this step drops anything."""
    name = tokens.tokenizer
    measured = _token_lengths(frame, render_config, name) if name else _char_lengths(frame)
    return frame.with_columns(measured.get_columns()), {"unit": "tokens" if name else "characters", **bias(measured)}


def length(frame: pl.DataFrame, tokens: TokensConfig, bias_config: LengthBiasConfig) -> pl.DataFrame:
    limit = tokens.max_length
    rules = []
    if limit is not None:
        total = pl.col("prompt_len") + pl.max_horizontal("chosen_len", "rejected_len")
        detail = pl.format(
            "prompt {} + chosen {} / rejected {} tokens > {}", *[pl.col(c) for c in LENGTH_COLUMNS], pl.lit(limit)
        )
        rules.append(Rule("too_long", total > limit, detail))
    too_long = first_failing(frame, rules)
    remaining = without(frame, too_long)
    return pl.concat([too_long, length_bias(remaining, bias_config.max_chosen_longer_share)]).sort("row")


def length_bias(frame: pl.DataFrame, max_share: float | None) -> pl.DataFrame:
    """Drop the fewest, most length-skewed chosen-longer pairs that bring their share down to `max_share`."""
    longer = frame.filter(pl.col("chosen_len") > pl.col("rejected_len"))
    if max_share is None or frame.height == 0 or longer.height <= max_share * frame.height:
        return pl.DataFrame(schema=DROPS_SCHEMA)
    # Dropping k chosen-longer pairs gives a share of (L - k) / (N - k); the smallest k with share <= bound:
    needed = math.ceil((longer.height - max_share * frame.height) / (1 - max_share) - 1e-9)
    ratio = pl.col("chosen_len") / pl.max_horizontal(pl.col("rejected_len"), pl.lit(1))
    skewed = longer.sort([ratio, "row"], descending=[True, False]).head(needed)
    return (
        skewed.select(
            "row",
            pl.lit("length_bias").alias("reason"),
            pl.format("chosen {} vs rejected {} ({}x)", "chosen_len", "rejected_len", ratio.round(2)).alias("detail"),
        )
        .cast(DROPS_SCHEMA)
        .sort("row")
    )


def bias(lengths: pl.DataFrame) -> dict[str, Any]:
    """Share of pairs whose chosen response is longer, and the median chosen/rejected length ratio."""
    if lengths.height == 0:
        return {"pairs": 0, "chosen_longer_share": None, "median_length_ratio": None}
    figures = lengths.select(
        (pl.col("chosen_len") > pl.col("rejected_len")).mean().alias("share"),
        (pl.col("chosen_len") / pl.max_horizontal(pl.col("rejected_len"), pl.lit(1))).median().alias("ratio"),
    ).row(0)
    return {
        "pairs": lengths.height,
        "chosen_longer_share": round(figures[0], 4),
        "median_length_ratio": round(figures[1], 4),
    }


def length_stats(lengths: pl.DataFrame) -> dict[str, dict[str, float | None]]:
    """min / median / p95 / max of prompt, chosen and rejected lengths."""
    stats = {}
    for column in LENGTH_COLUMNS:
        values = lengths[column]
        empty = values.len() == 0
        stats[column.removesuffix("_len")] = {
            "min": None if empty else int(values.min()),
            "median": None if empty else float(values.median()),
            "p95": None if empty else float(values.quantile(0.95, interpolation="nearest")),
            "max": None if empty else int(values.max()),
        }
    return stats


def length_report(kept: pl.DataFrame, split_of: dict[str, pl.Series], before: dict[str, Any]) -> dict[str, Any]:
    """Per split: prompt/chosen/rejected length statistics and the length-bias figures of what was kept."""
    splits = {}
    for name, rows in split_of.items():
        lengths = kept.select(LENGTH_COLUMNS).gather(rows)
        splits[name] = {**length_stats(lengths), "bias": bias(lengths)}
    return {
        "unit": before.get("unit"),
        "before_length_step": {k: v for k, v in before.items() if k != "unit"},
        "splits": splits,
    }


def _char_lengths(frame: pl.DataFrame) -> pl.DataFrame:
    # Raw lengths: stripping first would copy every text (1.4 GB at a million rows) to shave a few spaces.
    return frame.select(
        pl.col(c).str.len_chars().cast(pl.Int64).alias(f"{c}_len") for c in ("prompt", "chosen", "rejected")
    )


def _token_lengths(frame: pl.DataFrame, render_config: RenderConfig, name: str) -> pl.DataFrame:
    """Batched, split where TRL splits them (curate/tokens.py): the rendered prompt's tokens, and each
    response's tokens after them."""
    from curate.render import render
    from curate.tokens import encode_pairs

    rendered = render(frame, render_config)
    if rendered.height == 0:
        return pl.DataFrame(schema=dict.fromkeys(LENGTH_COLUMNS, pl.Int64))
    texts = [rendered[c].to_list() for c in ("prompt", "chosen", "rejected")]
    encoded = encode_pairs(*texts, _tokenizer(name))
    return pl.DataFrame(
        {
            "prompt_len": [len(pair.prompt) for pair in encoded],
            "chosen_len": [len(pair.chosen) for pair in encoded],
            "rejected_len": [len(pair.rejected) for pair in encoded],
        },
        schema=dict.fromkeys(LENGTH_COLUMNS, pl.Int64),
    )


@functools.cache
def _tokenizer(name: str):
    from curate.tokenizer_loading import load_tokenizer

    return load_tokenizer(name)
