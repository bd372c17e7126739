"""Map a source's columns onto curate's canonical frame, checking names and types."""

from __future__ import annotations

import polars as pl

from curate.config import ColumnMap
from curate.errors import InputError

DISTILABEL_COLUMNS = ColumnMap(
    prompt="instruction",
    chosen="chosen_response",
    rejected="rejected_response",
    chosen_rating="chosen_rating",
    rejected_rating="rejected_rating",
)
TEXT_FIELDS = ("system", "prompt", "chosen", "rejected")
RATING_FIELDS = ("chosen_rating", "rejected_rating")
CANONICAL_SCHEMA = {
    "row": pl.Int64,
    "system": pl.String,
    "prompt": pl.String,
    "chosen": pl.String,
    "rejected": pl.String,
    "chosen_rating": pl.Float64,
    "rejected_rating": pl.Float64,
    "rating_problem": pl.String,
    "reference": pl.String,  # the pair's reference answer (`source.columns.reference`), else null
}


def detect_columns(names: list[str]) -> ColumnMap:
    """distilabel's math schema or TRL's preference columns, whichever the source has."""
    present = set(names)
    if {"instruction", "chosen_response", "rejected_response"} <= present:
        return DISTILABEL_COLUMNS
    if {"prompt", "chosen", "rejected"} <= present:
        return ColumnMap(
            prompt="prompt",
            chosen="chosen",
            rejected="rejected",
            chosen_rating=_first_present(present, "score_chosen", "chosen_rating"),
            rejected_rating=_first_present(present, "score_rejected", "rejected_rating"),
            system="system" if "system" in present else None,
        )
    hint = "Map your columns in the recipe under source.columns (see `curate recipe`)."
    if {"chosen", "rejected"} <= present:
        hint = (
            "Add an explicit `prompt` column: TRL's implicit prompt extraction corrupts pairs whose "
            "responses share a prefix. Or map columns under source.columns."
        )
    raise InputError(
        "cannot find preference columns: expected instruction/chosen_response/rejected_response "
        f"(distilabel) or prompt/chosen/rejected (TRL); found {sorted(names)}",
        hint=hint,
    )


def _first_present(present: set[str], *names: str) -> str | None:
    return next((name for name in names if name in present), None)


def to_canonical(frame: pl.DataFrame, columns: ColumnMap, origin: str) -> pl.DataFrame:
    """One row per input row: row, system, prompt, chosen, rejected, ratings, rating_problem, reference."""
    _require(frame, columns, origin)
    out = {"row": pl.Series("row", range(frame.height), pl.Int64)}
    for field in TEXT_FIELDS:
        name = getattr(columns, field)
        if field == "system" and not name and _is_message_list(frame[columns.prompt].dtype):
            name = columns.prompt  # a conversational prompt carries its own system turn
        if not name:
            out[field] = pl.Series(field, [None] * frame.height, pl.String)
        elif field in ("chosen", "rejected") and _is_message_list(frame[name].dtype):
            out[field] = _responses_to_text(frame[name], field, origin, out["system"], out["prompt"])
        else:
            out[field] = _text(frame[name], field, origin)
    problems = []
    for field in RATING_FIELDS:
        name = getattr(columns, field)
        rating, problem = _rating(frame[name], field, origin) if name else _no_rating(field, frame.height)
        out[field] = rating
        problems.append(problem)
    out["rating_problem"] = pl.select(pl.coalesce(problems)).to_series().alias("rating_problem")
    out["reference"] = _reference(frame[columns.reference], origin) if columns.reference else _nulls(frame.height)
    return pl.DataFrame(out).select(list(CANONICAL_SCHEMA)).cast(CANONICAL_SCHEMA)


def _reference(column: pl.Series, origin: str) -> pl.Series:
    """Reference answers as text: a number (`42`) is a value as good as the string "42"."""
    if column.dtype.is_numeric() and column.dtype != pl.Boolean:
        return column.cast(pl.String).alias("reference")
    return _text(column, "reference", origin)


def _nulls(height: int) -> pl.Series:
    return pl.Series("reference", [None] * height, pl.String)


def _require(frame: pl.DataFrame, columns: ColumnMap, origin: str) -> None:
    wanted = {field: name for field, name in columns.model_dump().items() if name}
    missing = {field: name for field, name in wanted.items() if name not in frame.columns}
    if missing:
        listed = ", ".join(f"'{name}' (for {field})" for field, name in missing.items())
        raise InputError(
            f"{origin}: missing column {listed}; expected {sorted(wanted.values())}, found {frame.columns}",
            hint="Map your columns in the recipe under source.columns.",
        )


def _text(column: pl.Series, field: str, origin: str) -> pl.Series:
    dtype = column.dtype
    if dtype == pl.String or dtype == pl.Null:
        return column.cast(pl.String).alias(field)
    if dtype in (pl.Categorical, pl.Enum):
        return column.cast(pl.String).alias(field)
    if _is_message_list(dtype):
        return _messages_to_text(column, field, origin)
    raise InputError(
        f"{origin}: column '{column.name}' ({field}) must hold text or a list of "
        f"{{role, content}} messages, found {dtype}"
    )


def _is_message_list(dtype: pl.DataType) -> bool:
    if not isinstance(dtype, pl.List) or not isinstance(dtype.inner, pl.Struct):
        return False
    return {"role", "content"} <= {f.name for f in dtype.inner.fields}


def _messages_to_text(column: pl.Series, field: str, origin: str) -> pl.Series:
    """Conversational prompts: the user turn, or (for `system`) the system turn read apart."""
    pick = _prompt_turn if field == "prompt" else _system_turn
    values = []
    for index, messages in enumerate(column.to_list()):
        try:
            values.append(pick(messages or []))
        except ValueError as err:
            raise InputError(f"{origin}, row {index}: column '{column.name}' {err}") from None
    return pl.Series(field, values, pl.String)


def _prompt_turn(messages: list[dict]) -> str | None:
    turns = [m for m in messages if m.get("role") != "system"]
    if len(turns) > 1 or (turns and turns[0].get("role") != "user"):
        roles = [m.get("role") for m in messages]
        raise ValueError(f"has turns {roles}; curate builds single-turn prompts (optional system + user)")
    return turns[0].get("content") if turns else None


def _system_turn(messages: list[dict]) -> str | None:
    return next((m.get("content") for m in messages if m.get("role") == "system"), None)


# TRL's conversational preference format puts the prompt in `prompt` and only the reply in chosen/rejected, but
# HH-style data and distilabel's DPO formatters repeat the conversation in each response: [user, assistant],
# maybe with a system turn first. A repeated turn is accepted only when it equals the row's own prompt or
# system (ends stripped): then taking the reply loses nothing. Any other turn would be lost, so it is an error.
RESPONSE_HINT = (
    "chosen/rejected must hold one assistant reply, optionally after the row's own system and user turns "
    "repeated exactly (TRL's conversational format puts the conversation in `prompt`). Put the user turn in "
    "the prompt column, or map other columns under source.columns."
)


def _responses_to_text(column: pl.Series, field: str, origin: str, systems: pl.Series, prompts: pl.Series) -> pl.Series:
    """Conversational responses: the assistant reply, once any repeated prompt turns are checked."""
    values = []
    rows = zip(column.to_list(), systems.to_list(), prompts.to_list(), strict=True)
    for index, (messages, system, prompt) in enumerate(rows):
        try:
            values.append(_response_turn(messages or [], {"system": system, "user": prompt}))
        except ValueError as err:
            raise InputError(
                f"{origin}, row {index}: column '{column.name}' ({field}) {err}", hint=RESPONSE_HINT
            ) from None
    return pl.Series(field, values, pl.String)


def _response_turn(messages: list[dict], prompt_turns: dict[str, str | None]) -> str | None:
    """The reply, the last turn, after an optional system and user turn equal to the row's own."""
    if not messages:
        return None
    roles = [m.get("role") for m in messages]
    if roles[-1] != "assistant":
        raise ValueError(f"has turns {roles}; it must end with an assistant message")
    if roles[:-1] not in ([], ["user"], ["system"], ["system", "user"]):
        raise ValueError(f"has turns {roles}; expected one assistant reply, after at most a system and a user turn")
    for message in messages[:-1]:
        role = message.get("role")
        if _stripped(message.get("content")) != _stripped(prompt_turns[role]):
            mine = "the prompt" if role == "user" else "the system prompt"
            raise ValueError(f"has turns {roles}, and its {role} turn differs from {mine} of the row")
    return messages[-1].get("content")


def _stripped(text: str | None) -> str | None:
    return text.strip() if text is not None else None


def _rating(column: pl.Series, field: str, origin: str) -> tuple[pl.Series, pl.Series]:
    """The ratings as floats, and per row why a rating is unusable: NaN and infinities (JSON's `NaN`,
    `Infinity`, or `1e999`, which overflows to inf) compare as no score does, so they become null with a
    problem that names them, as does text that does not parse."""
    dtype = column.dtype
    if dtype.is_numeric() and dtype != pl.Boolean:
        values = column.cast(pl.Float64)
        bad = (~values.is_finite()).fill_null(False)
        text = pl.format("{} is {}", pl.lit(field), pl.lit(values.cast(pl.String)))
        problem = pl.select(pl.when(pl.lit(bad)).then(text)).to_series()
        return values.set(bad, None).alias(field), problem
    if dtype == pl.String:
        values = column.str.strip_chars().cast(pl.Float64, strict=False)
        unparsed = values.is_null() | values.is_nan()
        bad = (column.is_not_null() & ~values.is_finite().fill_null(False)).fill_null(False)
        quoted = pl.concat_str(pl.lit(f"{field}='"), pl.lit(column.str.slice(0, 40)), pl.lit("'"))
        why = pl.when(pl.lit(unparsed)).then(pl.lit(" is not a number")).otherwise(pl.lit(" is not finite"))
        problem = pl.select(pl.when(pl.lit(bad)).then(pl.concat_str(quoted, why))).to_series()
        return values.set(bad, None).alias(field), problem
    if dtype == pl.Null:
        return _no_rating(field, len(column))
    raise InputError(f"{origin}: column '{column.name}' ({field}) must hold numbers, found {dtype}")


def _no_rating(field: str, height: int) -> tuple[pl.Series, pl.Series]:
    return pl.Series(field, [None] * height, pl.Float64), pl.Series("p", [None] * height, pl.String)
