"""Render kept rows as TRL preference triples: ChatML strings or conversational message lists."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from curate.config import RenderConfig

OUTPUT_COLUMNS = ["prompt", "chosen", "rejected", "score_chosen", "score_rejected", "source_row"]
TEXT_COLUMNS = ["system", "prompt", "chosen", "rejected"]
Renderer = Callable[[pl.Series], pl.DataFrame]

# The `chatml` format, stated once (OpenHermes-2.5's ChatML): `chatml` renders from these templates (tests hold
# it to `chatml_prompt` / `chatml_response`); check.CHATML_PROMPT parses them.
SYSTEM_TURN = "<|im_start|>system\n{system}<|im_end|>\n"
USER_TURN = "<|im_start|>user\n{prompt}<|im_end|>\n"
ASSISTANT_HEADER = "<|im_start|>assistant\n"
RESPONSE_END = "<|im_end|>"  # the model's EOS: TRL appends none to a response that ends with it


def shown(text: str) -> str:
    """A template as the docs write it: newlines as `\\n`."""
    return text.replace("\n", "\\n")


# The format in words, built from the templates. The card (curate/templates/dataset_card.md) quotes the
# PROMPT / RESPONSE phrases, the output-row JSON Schema the field descriptions.
CHATML_PROMPT_DOC = f"optional system turn + `{shown(USER_TURN.format(prompt='...') + ASSISTANT_HEADER)}`, no BOS"
CHATML_RESPONSE_DOC = f"`{RESPONSE_END}` (the model's EOS, exactly once)"
CHATML_FIELD_DOCS = {
    "prompt": f"[system turn] + user turn + '{shown(ASSISTANT_HEADER)}'; no BOS.",
    "chosen": f"The preferred response, ending in exactly one '{RESPONSE_END}'.",
    "rejected": f"The dispreferred response, ending in exactly one '{RESPONSE_END}'.",
}
CHATML_FORMAT_DOC = f"""The `chatml` format (OpenHermes-2.5 ChatML strings):
- prompt: {CHATML_PROMPT_DOC}; the system turn is `{shown(SYSTEM_TURN.format(system="..."))}`
  with the row's own system text, else the recipe's; the tokenizer adds the BOS.
- chosen, rejected: the response + {CHATML_RESPONSE_DOC}; TRL appends nothing.
Every text is stripped of surrounding whitespace (Unicode White_Space, as polars' `strip_chars`)."""


def chatml_prompt(system: str | None, prompt: str) -> str:
    """One prompt in the `chatml` format from already stripped texts (the renderer's rule, in Python)."""
    return (SYSTEM_TURN.format(system=system) if system else "") + USER_TURN.format(prompt=prompt) + ASSISTANT_HEADER


def chatml_response(response: str) -> str:
    return response + RESPONSE_END


def render(kept: pl.DataFrame, config: RenderConfig) -> pl.DataFrame:
    """Every kept row rendered (see `renderer`)."""
    return renderer(kept, config)(pl.int_range(kept.height, eager=True))


def renderer(kept: pl.DataFrame, config: RenderConfig) -> Renderer:
    """A function from positions in `kept` to those rows rendered: prompt / chosen / rejected in the
    configured format, plus the ratings and the source row. A large split is rendered a shard at a time."""
    numbers = kept.select(
        pl.col("chosen_rating").alias("score_chosen"),
        pl.col("rejected_rating").alias("score_rejected"),
        pl.col("row").alias("source_row"),
    )
    if config.format == "chatml":
        texts = chatml(kept, config.system_prompt)
    else:
        messages = conversational(_system(config.system_prompt))
        texts = lambda rows: kept.gather(rows).select(messages)  # noqa: E731
    return lambda rows: pl.concat([texts(rows), numbers.gather(rows)], how="horizontal")


def chatml(kept: pl.DataFrame, system_prompt: str | None) -> Renderer:
    """The `chatml` format (CHATML_FORMAT_DOC) as polars string expressions built from the templates. A null
    prompt or response is an error (validate drops those rows before)."""
    system_head, system_tail = SYSTEM_TURN.split("{system}")
    user_head, user_tail = USER_TURN.split("{prompt}")
    system = _system(system_prompt)
    system_turn = pl.concat_str(pl.lit(system_head), system, pl.lit(system_tail)).fill_null("")
    prompt = pl.concat_str(system_turn, pl.lit(user_head), _stripped("prompt"), pl.lit(user_tail + ASSISTANT_HEADER))
    responses = [pl.concat_str(_stripped(name), pl.lit(RESPONSE_END)).alias(name) for name in ("chosen", "rejected")]

    def texts(rows: pl.Series) -> pl.DataFrame:
        rendered = kept.gather(rows).select(prompt.alias("prompt"), *responses)
        if rendered.null_count().sum_horizontal().item():
            raise ValueError("a prompt or response to render is null")
        return rendered

    return texts


def _system(default: str | None) -> pl.Expr:
    """The row's own system turn if it has one, else the recipe's; empty means none."""
    own = pl.col("system").str.strip_chars()
    text = pl.when(own != "").then(own).otherwise(pl.lit(default.strip() if default else None, pl.String))
    return pl.when(text != "").then(text)


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
