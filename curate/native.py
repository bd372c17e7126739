"""The C text loops (`curate/_text.c`) over polars columns: each reads polars' string buffers in place through
the Arrow C stream, one chunk of rows per thread (the loops let go of the GIL). The rules they apply are stated
in Python beside their callers: match words in `curate/words.py`, whitespace in `curate/normalize.py`."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import polars as pl

from curate import _text

CHUNK_ROWS = 20_000  # rows per C call: small enough to spread over the threads, large enough to be cheap


def windows(
    texts: pl.Series, size: int, min_words: int, held: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(text index, key, held counts): each text's distinct keys of `size` consecutive match words; a text
    with fewer words, but at least `min_words`, gives one key of all its words. Keys in `held` are not
    returned; instead, per held key, the number of texts holding it."""
    return held_windows(texts, size, min_words, held)[:3]


def held_windows(
    texts: pl.Series, size: int, min_words: int, held: np.ndarray | None = None, record_from: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`windows`, and apart each (text index, position in `held`) where a held key at position `record_from`
    or later is (none by default), in text order."""
    held = np.zeros(0, np.uint64) if held is None else np.ascontiguousarray(held, np.uint64)
    listed, record_from = held.tobytes(), len(held) if record_from is None else record_from
    parts = _per_chunk(texts, lambda *where: _text.windows(*where, size, min_words, listed, record_from))
    counts = sum((np.frombuffer(part[3], np.int64) for part in parts), np.zeros(len(held), np.int64))
    return *_owned(parts), counts, *_owned(parts, at=4, dtype=np.int32)


def find(texts: pl.Series, keys: np.ndarray, lengths: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
    """(text index, key): every run of match words, of one of `lengths` words, whose key is in `keys`."""
    wanted, sizes = _text.key_set(np.ascontiguousarray(keys, np.uint64).tobytes()), sorted(set(lengths))
    return _owned(_per_chunk(texts, lambda *where: _text.find(*where, wanted, sizes)))  # one key set for all


def space_hashes(texts: pl.Series, stable: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Per text, a 64-bit hash of it with each whitespace run made one space and the ends stripped, and
    whether it holds a character NFC might change: one not in ASCII nor in `stable` (a bitmap of the
    NFC-stable code points below U+3000). Those texts are the caller's to normalise and hash again."""
    parts = _per_chunk(texts, lambda *where: _text.space_hashes(*where, stable))
    return _joined(parts, 1, np.uint64), _joined(parts, 2, np.bool_)


def collapse_spaces(texts: pl.Series, stable: bytes) -> tuple[pl.Series, np.ndarray, np.ndarray]:
    """Each text with its whitespace runs made one space and the ends stripped (nulls stay null), the
    flags of `space_hashes` (the texts NFC might change are the caller's to normalise) and its hashes."""
    parts = _per_chunk(texts, lambda *where: _text.collapse_spaces(*where, stable))
    collapsed = strings_series(texts.name, [strings for _, strings, *_ in parts])
    if texts.null_count():
        collapsed = pl.select(pl.when(texts.is_not_null()).then(collapsed)).to_series().alias(texts.name)
    return collapsed, _joined(parts, 2, np.bool_), _joined(parts, 3, np.uint64)


def strings_series(name: str, parts: list[Any]) -> pl.Series:
    """One String series of the strings C made (LargeStrings, taken over by polars through the Arrow C
    interface: their bytes are not copied, polars adds its views), one chunk per part."""
    chunks = [pl.Series(strings) for strings in parts]
    return (pl.concat(chunks, rechunk=False) if chunks else pl.Series([], dtype=pl.String)).alias(name)


def _per_chunk(texts: pl.Series, call: Callable[..., Any]) -> list[tuple]:
    """Run a C loop over chunks of rows on all threads; each result with the chunk's first row first."""
    views, validity, data, offset = string_view(texts)
    starts = range(0, len(texts), CHUNK_ROWS)
    with ThreadPoolExecutor(max_workers=threads()) as pool:
        calls = [pool.submit(call, views, validity, data, offset + s, min(CHUNK_ROWS, len(texts) - s)) for s in starts]
        return [(start, *done.result()) for start, done in zip(starts, calls, strict=True)]


def in_threads(call: Callable[[Any], Any], arguments: list) -> list:
    """`call` on each argument, one thread each (the C loops let go of the GIL), results in order."""
    with ThreadPoolExecutor(max_workers=max(1, len(arguments))) as pool:
        return list(pool.map(call, arguments))


def _joined(parts: list[tuple], at: int, dtype: type) -> np.ndarray:
    """Output `at` of every chunk (one value per text) as one array, in row order."""
    return np.concatenate([np.zeros(0, dtype), *(np.frombuffer(part[at], dtype) for part in parts)])


def _owned(parts: list[tuple], at: int = 1, dtype: type = np.uint64) -> tuple[np.ndarray, np.ndarray]:
    """The (text index, value) outputs at `at`, `at + 1` of the chunks as two arrays, text indices counted from
    the first row. Each part is copied once, straight into its place."""
    owners = [np.frombuffer(part[at], np.int32) for part in parts]
    index, values = np.empty(sum(map(len, owners)), np.int32), np.empty(sum(map(len, owners)), dtype)
    done = 0
    for part, owner in zip(parts, owners, strict=True):
        np.add(owner, np.int32(part[0]), out=index[done : done + len(owner)])
        values[done : done + len(owner)] = np.frombuffer(part[at + 1], dtype)
        done += len(owner)
    return index, values


def string_view(texts: pl.Series) -> tuple[Any, Any, list[Any], int]:
    """views, validity (or None), data buffers and offset of the series as one Arrow string_view array,
    read through polars' Arrow C stream: polars' own buffers (a series of several chunks is rechunked first,
    which copies its views, not its text)."""
    views, validity, data, offset, _ = _text.string_view(texts.cast(pl.String).rechunk())
    return views, validity, data, offset


def threads() -> int:
    return max(1, min(pl.thread_pool_size(), os.cpu_count() or 1))
