"""Text normalisation shared by the dedup rules and the grouped split."""

from __future__ import annotations

import functools
import unicodedata

import numpy as np
import polars as pl

from curate.hashing import GOLDEN, mix

# `\s\s+|[^\S ]` replaces the same characters as `\s+` but leaves single spaces alone, which makes
# the replacement several times faster on long texts (shared/notes/perf.md).
_WHITESPACE_RUNS = r"\s\s+|[^\S ]"

# The characters that show nothing. A text made only of them is blank (reasons empty_prompt, empty_chosen,
# empty_rejected): a pair whose response is zero-width spaces or NUL bytes trains on an empty turn just as one
# whose response is "" does. As a regex class (polars' Rust regex): whitespace (Unicode White_Space), control
# characters (Cc, NUL included), format characters (Cf: zero-width space and joiners, word joiner, BOM, soft
# hyphen, bidi marks), Unicode's Default_Ignorable_Code_Point (what a renderer shows as nothing: the Hangul
# fillers U+115F, U+1160, U+3164, U+FFA0, variation selectors, the combining grapheme joiner) and U+2800
# BRAILLE PATTERN BLANK, a blank-looking symbol used to fake empty text.
INVISIBLE = r"\s\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\x{2800}"
_VISIBLE = f"[^{INVISIBLE}]"

KEY_COLUMNS = {"system": "system_key", "prompt": "prompt_key"}
BLANK_COLUMNS = {"prompt": "prompt_blank", "chosen": "chosen_blank", "rejected": "rejected_blank"}
RESPONSE_KEYS = {"chosen": "chosen_key", "rejected": "rejected_key"}


@functools.cache
def whitespace() -> str:
    """Every character a whitespace run is made of: what polars' `\\s` matches (Unicode White_Space, all of it
    below U+3001). The C loops are given this set (`curate/native.py`)."""
    chars = pl.Series([chr(c) for c in range(0x3001) if not 0xD800 <= c < 0xE000], dtype=pl.String)
    return "".join(chars.filter(chars.str.contains(r"^\s$")).to_list())


def normalize_series(texts: pl.Series) -> pl.Series:
    """Unicode NFC, every whitespace run collapsed to one space, ends stripped; case kept.

    NFC, not NFKC: compatibility folding would make `x²` equal `x2` and merge different math problems.
    """
    return _collapse_whitespace(_nfc(texts))


def _nfc(texts: pl.Series) -> pl.Series:
    # Only rows holding a character outside ASCII and the NFC-stable characters below U+3000 (×, ², π,
    # ≤, ...) can change; CPython normalizes those few. polars' str.normalize re-encodes every row and
    # took ~60% of a 100k-row build.
    candidates = texts.str.contains(_unstable_characters()).fill_null(False).arg_true()
    rows, values = [], []
    for row, text in zip(candidates.to_list(), texts.gather(candidates).to_list(), strict=True):
        normal = unicodedata.normalize("NFC", text)
        if normal != text:
            rows.append(row)
            values.append(normal)
    if not rows:
        return texts
    return texts.clone().scatter(rows, pl.Series(values, dtype=pl.String))


@functools.cache
def _unstable_characters() -> str:
    """A regex class of every character that NFC might change or combine with what precedes it."""
    seconds = _composition_seconds()
    stable = [c for c in range(0x80, 0x3000) if _nfc_stable(c, seconds)]
    return "[^\\x00-\\x7F" + "".join(_class_range(a, b) for a, b in _runs(stable)) + "]"


@functools.cache
def _stable_bitmap() -> bytes:
    """The characters `_unstable_characters` leaves out, as a bitmap of the code points below U+3000."""
    bits = bytearray(0x3000 // 8)
    seconds = _composition_seconds()
    for code in range(0x80, 0x3000):
        if _nfc_stable(code, seconds):
            bits[code >> 3] |= 1 << (code & 7)
    return bytes(bits)


def _composition_seconds() -> set[int]:
    """Characters that come second in a canonical pair: NFC may merge them into the character before."""
    seconds = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))  # Hangul jamo, composed by rule
    for code in range(0x3000):
        parts = unicodedata.decomposition(chr(code)).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            seconds.add(int(parts[1], 16))
    return seconds


def _nfc_stable(code: int, seconds: set[int]) -> bool:
    char = chr(code)
    return unicodedata.combining(char) == 0 and unicodedata.is_normalized("NFC", char) and code not in seconds


def _runs(codes: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for code in codes:
        if runs and runs[-1][1] == code - 1:
            runs[-1] = (runs[-1][0], code)
        else:
            runs.append((code, code))
    return runs


def _class_range(first: int, last: int) -> str:
    return f"\\x{{{first:04X}}}-\\x{{{last:04X}}}" if last > first else f"\\x{{{first:04X}}}"


def _collapse_whitespace(texts: pl.Series | pl.Expr) -> pl.Series | pl.Expr:
    return texts.str.replace_all(_WHITESPACE_RUNS, " ").str.strip_chars()


def with_keys(frame: pl.DataFrame) -> pl.DataFrame:
    """Add what the preference, dedup and split steps compare: `system_key` and `prompt_key` (normalised
    texts) and `key_hash`, a stable hash of both (equal keys, equal hashes); `responses_equal` (chosen and
    rejected are equal once normalised); `responses_hash`, a hash of both normalised responses; and
    `prompt_blank`, `chosen_blank`, `rejected_blank` (null or nothing visible: `blank_texts`).
    Responses are long, so they are hashed in place by `curate/_text.c` rather than copied normalised.
    Hashes only propose: equal responses, shared prompts and duplicate pairs are confirmed on the
    normalised texts themselves (`response_keys`). The columns read and added are declared as
    `curate.steps.KEYS`; the pipeline gives it only those and checks what it adds."""
    (system, system_hash), (prompt, prompt_hash) = (_normal(frame[text]) for text in KEY_COLUMNS)
    with np.errstate(over="ignore"):
        key_hash = mix(system_hash * GOLDEN + prompt_hash)
    keyed = frame.with_columns(system.alias("system_key"), prompt.alias("prompt_key"), pl.Series("key_hash", key_hash))
    chosen, rejected = (_normal_hashes(frame[column]) for column in RESPONSE_KEYS)
    with np.errstate(over="ignore"):
        both = chosen * GOLDEN + rejected
    maybe_equal = np.flatnonzero(chosen == rejected)
    equal = np.zeros(frame.height, bool)
    if len(maybe_equal):
        pairs = response_keys(frame.select(*RESPONSE_KEYS)[maybe_equal])
        equal[maybe_equal] = (pairs["chosen_key"] == pairs["rejected_key"]).fill_null(False).to_numpy()
    missing = frame.select(pl.col(c).is_null() for c in RESPONSE_KEYS).select(pl.any_horizontal(pl.all()))
    summary = pl.DataFrame({"responses_equal": equal, "responses_hash": both}).with_columns(
        pl.when(missing.to_series()).then(None).otherwise(pl.col("responses_equal")).alias("responses_equal")
    )
    blank = {name: blank_texts(frame[text]) for text, name in BLANK_COLUMNS.items()}
    return keyed.hstack(summary).with_columns(**blank)


def blank_texts(texts: pl.Series) -> pl.Series:
    """Per text, whether it is null or holds no visible character (none outside `INVISIBLE`).

    A regex over every row costs ~0.1 s per column per million rows, nearly all of it per-row overhead, so
    only the texts that might be blank are searched: a text whose first character is printable ASCII other than
    space (0x21-0x7E) shows that character (an anchored match, a few nanoseconds a row)."""
    maybe = np.flatnonzero(~texts.str.contains(r"^[!-~]").fill_null(False).to_numpy())
    blank = np.zeros(len(texts), bool)
    blank[maybe] = ~texts.gather(maybe).str.contains(_VISIBLE).fill_null(False).to_numpy()
    return pl.Series(texts.name, blank) | texts.is_null()


def _normal(texts: pl.Series) -> tuple[pl.Series, np.ndarray]:
    """`normalize_series`, with the whitespace collapsed in place by C (only the texts NFC might change go
    through Python), and a stable hash of each result."""
    from curate.native import collapse_spaces

    collapsed, unstable, hashes = collapse_spaces(texts, _stable_bitmap())
    others = np.flatnonzero(unstable)
    if len(others) == 0:
        return collapsed, hashes
    normal = normalize_series(texts.gather(others))
    hashes[others] = collapse_spaces(normal, _stable_bitmap())[2]  # the hash of the normalised text
    return collapsed.scatter(others, normal), hashes


def _normal_hashes(texts: pl.Series) -> np.ndarray:
    """The hash of each normalised text. Texts NFC leaves alone are hashed as they are (the hash makes
    whitespace runs one space and strips the ends); the few others are normalised first."""
    from curate.native import space_hashes

    hashed, unstable = space_hashes(texts, _stable_bitmap())
    others = np.flatnonzero(unstable)
    if len(others):
        hashed = hashed.copy()
        hashed[others] = space_hashes(normalize_series(texts.gather(others)), _stable_bitmap())[0]
    return hashed


def response_keys(frame: pl.DataFrame) -> pl.DataFrame:
    """Add `chosen_key` and `rejected_key`, the normalised responses (for the few rows that need them)."""
    return frame.with_columns(_normal(frame[text])[0].alias(key) for text, key in RESPONSE_KEYS.items())


def normalize_text(text: str) -> str:
    """The same normalisation for one Python string (tests, docs)."""
    return normalize_series(pl.Series([text], dtype=pl.String))[0]
