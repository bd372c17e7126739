"""Text normalisation shared by the dedup rules and the grouped split."""

from __future__ import annotations

import polars as pl

# `\s\s+|[^\S ]` replaces the same characters as `\s+` but leaves single spaces alone, which makes
# the replacement several times faster on long texts (shared/notes/perf.md).
_WHITESPACE_RUNS = r"\s\s+|[^\S ]"

KEY_COLUMNS = {
    "system": "system_key",
    "prompt": "prompt_key",
    "chosen": "chosen_key",
    "rejected": "rejected_key",
}


def normalized(column: str) -> pl.Expr:
    """NFKC, every whitespace run collapsed to one space, ends stripped; case kept."""
    text = pl.col(column).str.normalize("NFKC").str.replace_all(_WHITESPACE_RUNS, " ")
    return text.str.strip_chars()


def with_keys(frame: pl.DataFrame) -> pl.DataFrame:
    """Add the normalised key columns the preference, dedup and split steps compare."""
    return frame.with_columns(normalized(text).alias(key) for text, key in KEY_COLUMNS.items())


def normalize_text(text: str) -> str:
    """The same normalisation for one Python string (tests, docs)."""
    return pl.DataFrame({"t": [text]}).select(normalized("t")).item()
