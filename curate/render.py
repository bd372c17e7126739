"""Render kept rows as TRL preference triples: ChatML strings or conversational message lists."""

from __future__ import annotations

import polars as pl

from curate.config import RenderConfig

IM_START, IM_END = "<|im_start|>", "<|im_end|>"
OUTPUT_COLUMNS = ["prompt", "chosen", "rejected", "score_chosen", "score_rejected", "source_row"]


def render(kept: pl.DataFrame, config: RenderConfig) -> pl.DataFrame:
    """prompt / chosen / rejected in the configured format, plus the ratings and the source row."""
    system = _system(config.system_prompt)
    texts = chatml(system) if config.format == "chatml" else conversational(system)
    return kept.select(
        *texts,
        pl.col("chosen_rating").alias("score_chosen"),
        pl.col("rejected_rating").alias("score_rejected"),
        pl.col("row").alias("source_row"),
    )


def _system(default: str | None) -> pl.Expr:
    """The row's own system turn if it has one, else the recipe's; empty means none."""
    own = pl.col("system").str.strip_chars()
    text = pl.when(own != "").then(own).otherwise(pl.lit(default.strip() if default else None, pl.String))
    return pl.when(text != "").then(text)


def chatml(system: pl.Expr) -> list[pl.Expr]:
    """OpenHermes-2.5 ChatML. No BOS (the tokenizer adds it); responses end in exactly `<|im_end|>`,
    which is the model's EOS, so TRL appends nothing and no second `<|im_end|>` appears."""
    system_turn = pl.format(f"{IM_START}system\n{{}}{IM_END}\n", system).fill_null("")
    user_turn = pl.format(f"{IM_START}user\n{{}}{IM_END}\n{IM_START}assistant\n", _stripped("prompt"))
    return [
        pl.concat_str(system_turn, user_turn).alias("prompt"),
        (_stripped("chosen") + IM_END).alias("chosen"),
        (_stripped("rejected") + IM_END).alias("rejected"),
    ]


def conversational(system: pl.Expr) -> list[pl.Expr]:
    """Message lists; TRL applies the model's chat template itself."""
    system_turn = pl.when(system.is_not_null()).then(_message("system", system))
    prompt = pl.concat_list(system_turn, _message("user", _stripped("prompt"))).list.drop_nulls()
    return [
        prompt.alias("prompt"),
        pl.concat_list(_message("assistant", _stripped("chosen"))).alias("chosen"),
        pl.concat_list(_message("assistant", _stripped("rejected"))).alias("rejected"),
    ]


def _message(role: str, content: pl.Expr) -> pl.Expr:
    return pl.struct(content.alias("content"), pl.lit(role).alias("role"))


def _stripped(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars()
