"""The text and MinHash loops over polars columns and numpy arrays, and the one place that picks how they run:
the C extensions (`curate/_text.c`, `curate/_minhash.c`) when they are importable, else numpy and polars
(`curate/pure.py`, the statement of each loop the C is tested against). Both give the same values bit for
bit, so a build is byte-identical either way. `CURATE_PURE=1` forces the pure path.

The C reads polars' string_view buffers in place (exported by pyarrow without a copy); either way the texts go
one chunk of rows per thread (the C loops and numpy's let go of the GIL). The rules' tables are stated once in
Python and handed to the C at import: match words in `curate/words.py`, whitespace in `curate/normalize.py`."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

import numpy as np
import polars as pl

from curate import pure

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
    record_from = len(held) if record_from is None else record_from
    if accelerated():
        listed = held.tobytes()
        parts = _per_chunk(texts, lambda *where: _text().windows(*where, size, min_words, listed, record_from))
    else:
        parts = _per_slice(texts, lambda part: pure.windows(part, size, min_words, held, record_from))
    counts = sum((np.frombuffer(part[3], np.int64) for part in parts), np.zeros(len(held), np.int64))
    return *_owned(parts), counts, *_owned(parts, at=4, dtype=np.int32)


def find(texts: pl.Series, keys: np.ndarray, lengths: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
    """(text index, key): every run of match words, of one of `lengths` words, whose key is in `keys`."""
    keys, sizes = np.ascontiguousarray(keys, np.uint64), sorted(set(lengths))
    if not accelerated():
        wanted = pure.KeySet(keys)
        return _owned(_per_slice(texts, lambda part: pure.find(part, wanted, sizes)))
    wanted = _text().key_set(keys.tobytes())  # one key set for all chunks
    return _owned(_per_chunk(texts, lambda *where: _text().find(*where, wanted, sizes)))


def space_hashes(texts: pl.Series, stable: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Per text, a 64-bit hash of it with each whitespace run made one space and the ends stripped, and
    whether it holds a character NFC might change: one not in ASCII nor in `stable` (a bitmap of the
    NFC-stable code points below U+3000). Those texts are the caller's to normalise and hash again."""
    if not accelerated():
        return pure.bytes_hashes(pure.collapse(texts)), unstable_flags(texts)
    parts = _per_chunk(texts, lambda *where: _text().space_hashes(*where, stable))
    return _joined(parts, 1, np.uint64), _joined(parts, 2, np.bool_)


def collapse_spaces(texts: pl.Series, stable: bytes) -> tuple[pl.Series, np.ndarray, np.ndarray]:
    """Each text with its whitespace runs made one space and the ends stripped (nulls stay null), the
    flags of `space_hashes` (the texts NFC might change are the caller's to normalise) and its hashes."""
    if not accelerated():
        collapsed = pure.collapse(texts)
        return collapsed, unstable_flags(texts), pure.bytes_hashes(collapsed)
    parts = _per_chunk(texts, lambda *where: _text().collapse_spaces(*where, stable))
    collapsed = strings_series(texts.name, [strings for _, strings, *_ in parts])
    if texts.null_count():
        collapsed = pl.select(pl.when(texts.is_not_null()).then(collapsed)).to_series().alias(texts.name)
    return collapsed, _joined(parts, 2, np.bool_), _joined(parts, 3, np.uint64)


def strings_series(name: str, parts: list[tuple[Any, Any]]) -> pl.Series:
    """One String series of the strings C made: per part, the (offsets, data) buffers of an Arrow large_string
    array, which pyarrow takes over without copying their bytes."""
    import pyarrow as pa

    buffers = [(pa.py_buffer(offsets), pa.py_buffer(data)) for offsets, data in parts]
    chunks = [
        pl.Series(name, pa.LargeStringArray.from_buffers(offsets.size // 8 - 1, offsets, data))
        for offsets, data in buffers
    ]
    return (pl.concat(chunks, rechunk=False) if chunks else pl.Series(name, [], dtype=pl.String)).alias(name)


def unstable_flags(texts: pl.Series) -> np.ndarray:
    """Per text, whether it holds a character NFC might change (the pure path's flags): normalize's class of
    such characters, whitespace left out as the C leaves it out (U+3000, past the stable bitmap)."""
    from curate.normalize import _unstable_characters

    return texts.str.contains("[^\\s" + _unstable_characters()[2:]).fill_null(False).to_numpy()


def _per_slice(texts: pl.Series, call: Callable[[pl.Series], tuple]) -> list[tuple]:
    """The pure path's `_per_chunk`: `call` on each chunk of rows as a series, on all threads."""
    starts = range(0, len(texts), CHUNK_ROWS)
    with ThreadPoolExecutor(max_workers=threads()) as pool:
        calls = [pool.submit(call, texts.slice(s, CHUNK_ROWS)) for s in starts]
        return [(start, *done.result()) for start, done in zip(starts, calls, strict=True)]


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
    """views, validity (or None), data buffers and offset of the series as one Arrow string_view array:
    polars' own buffers, exported by pyarrow without a copy (a series of several chunks is rechunked first,
    which copies its views, not its text). A polars that exports another layout is cast to string_view."""
    import pyarrow as pa

    array = texts.cast(pl.String).rechunk().to_arrow(compat_level=pl.CompatLevel.newest())
    if not pa.types.is_string_view(array.type):
        array = array.cast(pa.string_view())
    validity, views, *data = array.buffers()
    return views, validity, data, array.offset


def threads() -> int:
    return max(1, min(pl.thread_pool_size(), os.cpu_count() or 1))


def accelerated() -> bool:
    """Whether the C loops run: they are importable and `CURATE_PURE` is not set (to anything but 0 or empty)."""
    return os.environ.get("CURATE_PURE", "") in ("", "0") and _extensions() is not None


@functools.cache
def _extensions() -> tuple[ModuleType, ModuleType] | None:
    try:
        from curate import _minhash, _text
    except ImportError:  # not compiled (no compiler at install time): the pure path
        return None
    from curate.normalize import whitespace
    from curate.words import LATEX_SAME, LATEX_SPACING

    _text.configure(sorted(LATEX_SPACING), sorted(LATEX_SAME.items()), whitespace())  # the rules' one statement
    return _text, _minhash


def _text() -> ModuleType:
    return _extensions()[0]


def minhash_module() -> ModuleType:
    return _extensions()[1]
