"""Text normalisation shared by the dedup rules and the grouped split."""

from __future__ import annotations

import unicodedata

import polars as pl

# `\s\s+|[^\S ]` replaces the same characters as `\s+` but leaves single spaces alone, which makes
# the replacement several times faster on long texts (shared/notes/perf.md).
_WHITESPACE_RUNS = r"\s\s+|[^\S ]"
_NON_ASCII = r"[^\x00-\x7F]"

KEY_COLUMNS = {"system": "system_key", "prompt": "prompt_key", "chosen": "chosen_key", "rejected": "rejected_key"}


def normalize_series(texts: pl.Series) -> pl.Series:
    """Unicode NFC, every whitespace run collapsed to one space, ends stripped; case kept.

    NFC, not NFKC: compatibility folding would make `x²` equal `x2` and merge different math problems.
    """
    return _collapse_whitespace(_nfc(texts))


def _nfc(texts: pl.Series) -> pl.Series:
    # ASCII text is already NFC, and CPython's normalize returns at once for text that passes its quick
    # check, so only the rare non-NFC rows are rewritten. polars' str.normalize re-encodes every row and
    # took ~60% of a 100k-row build.
    candidates = texts.str.contains(_NON_ASCII).fill_null(False).arg_true()
    rows, values = [], []
    for row, text in zip(candidates.to_list(), texts.gather(candidates).to_list(), strict=True):
        normal = unicodedata.normalize("NFC", text)
        if normal != text:
            rows.append(row)
            values.append(normal)
    if not rows:
        return texts
    return texts.clone().scatter(rows, pl.Series(values, dtype=pl.String))


def _collapse_whitespace(texts: pl.Series) -> pl.Series:
    return texts.str.replace_all(_WHITESPACE_RUNS, " ").str.strip_chars()


def with_keys(frame: pl.DataFrame) -> pl.DataFrame:
    """Add the normalised key columns the preference, dedup and split steps compare."""
    return frame.with_columns(normalize_series(frame[text]).alias(key) for text, key in KEY_COLUMNS.items())


def normalize_text(text: str) -> str:
    """The same normalisation for one Python string (tests, docs)."""
    return normalize_series(pl.Series([text], dtype=pl.String))[0]
