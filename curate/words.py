"""Match words: the text rule decontamination and near-duplicate search compare by.

A text's match words are its maximal runs of ASCII letters and digits, lowercased; every other character
separates words, so case, punctuation, whitespace and LaTeX spacing (`\\frac {1}{2}`, `\\,`) do not count.
A word right after a backslash is a LaTeX command: spacing and sizing commands (`\\left`, `\\quad`,
`\\big`, ...) are no word at all, and `\\dfrac`, `\\tfrac`, `\\dbinom`, `\\tbinom` count as `\\frac` and
`\\binom`. Characters outside ASCII separate words: GSM8K and MATH write math in ASCII and LaTeX.

`match_words` states the rule in Python (tests, and the exact checks of the few texts a search flags);
the C loops in `curate/_text.c` apply it to whole columns, reading polars' string buffers in place, one
chunk of rows per thread.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import polars as pl

from curate import _text

LATEX_SPACING = frozenset(
    {"displaystyle", "textstyle", "qquad", "quad", "left", "right", "big", "bigl", "bigr", "bigg", "biggl", "biggr"}
)
LATEX_SAME = {"dfrac": "frac", "tfrac": "frac", "dbinom": "binom", "tbinom": "binom"}
_WORD = re.compile(r"[A-Za-z0-9]+")
CHUNK_ROWS = 20_000  # rows per C call: small enough to spread over the threads, large enough to be cheap


def match_words(text: str) -> list[str]:
    """The match words of one text."""
    words = []
    for found in _WORD.finditer(text):
        word = found.group().lower()
        start = found.start()
        if start and text[start - 1] == "\\":
            if word in LATEX_SPACING:
                continue
            word = LATEX_SAME.get(word, word)
        words.append(word)
    return words


def windows(texts: pl.Series, size: int, min_words: int) -> tuple[np.ndarray, np.ndarray]:
    """(text index, key): each text's distinct keys of `size` consecutive match words; a text with fewer
    words, but at least `min_words`, gives one key of all its words."""
    return _per_chunk(texts, lambda *where: _text.windows(*where, size, min_words))


def find(texts: pl.Series, keys: np.ndarray, lengths: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
    """(text index, key): every run of match words, of one of `lengths` words, whose key is in `keys`."""
    wanted, sizes = np.ascontiguousarray(keys, np.uint64).tobytes(), sorted(set(lengths))
    return _per_chunk(texts, lambda *where: _text.find(*where, wanted, sizes))


def space_hashes(texts: pl.Series, stable: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Per text, a 64-bit hash of it with each whitespace run made one space and the ends stripped, and
    whether it holds a character NFC might change: one not in ASCII nor in `stable` (a bitmap of the
    NFC-stable code points below U+3000). Those texts are the caller's to normalise and hash again."""
    hashed, flags = _per_chunk(texts, lambda *where: _text.space_hashes(*where, stable), offset_first=False)
    return hashed.view(np.uint64), flags.view(np.bool_)


def _per_chunk(texts: pl.Series, call: Callable[..., Any], offset_first: bool = True) -> tuple[np.ndarray, ...]:
    """Run a C loop over chunks of rows on all threads; concatenate its two outputs in row order, with the
    text index of the first (when `offset_first`) made global."""
    buffers = _string_view(texts)
    starts = range(0, len(texts), CHUNK_ROWS)
    jobs = [(start, min(CHUNK_ROWS, len(texts) - start)) for start in starts]
    with ThreadPoolExecutor(max_workers=_threads()) as pool:
        parts = list(pool.map(lambda job: call(*buffers[:3], buffers[3] + job[0], job[1]), jobs))
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.uint64)
    first = [np.frombuffer(a, np.int64 if offset_first else np.uint8) for a, _ in parts]
    if offset_first:
        first = [index + start for index, (start, _) in zip(first, jobs, strict=True)]
    second = [np.frombuffer(b, np.uint64 if offset_first else np.uint8) for _, b in parts]
    return np.concatenate(first), np.concatenate(second)


def _string_view(texts: pl.Series) -> tuple[Any, Any, list[Any], int]:
    """views, validity (or None), data buffers and offset of the series as one Arrow string_view array:
    polars' own layout, so nothing is copied."""
    import pyarrow as pa

    array = texts.cast(pl.String).rechunk().to_arrow(compat_level=pl.CompatLevel.newest())
    if not pa.types.is_string_view(array.type):
        array = array.cast(pa.string_view())
    validity, views, *data = array.buffers()
    return views if views is not None else b"", validity, data, array.offset


def _threads() -> int:
    return max(1, min(pl.thread_pool_size(), os.cpu_count() or 1))
