"""The text and MinHash loops in numpy and polars: the pure path, and the statement of each rule that the C
loops (`curate/_text.c`, `curate/_minhash.c`) are tested against. Every function returns what its C
counterpart returns for the same rows, bit for bit; `curate/native.py` picks one or the other.

The hashes (fixed arithmetic mod 2**64, the same on any machine):

word hash     the lowercased bytes 8 at a time (little-endian, the last chunk zero-padded): h = mix(h ^ chunk)
              from h = length * LENGTH_MIX, with `mix` splitmix64's finaliser.
window key    for words w1..wL: (...(w1 * P + w2) * P + ...) + wL + L * LENGTH_MIX. P is odd, so it has an
              inverse mod 2**64 and a window is a difference of prefix sums: P**(j+L-1) * (S[j+L] - S[j]) with
              S[j] = sum of w[i] * P**-i for i < j.
space hash    of a text with each whitespace run made one space and the ends stripped: 8 bytes at a time,
              h = (h ^ chunk) * BYTES_MULTIPLIER from h = length * LENGTH_MIX, then mix(h).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import polars as pl

from curate.hashing import mix
from curate.words import LATEX_SAME, LATEX_SPACING

LENGTH_MIX = np.uint64(0xD6E8FEB86659FD93)
WINDOW_PRIME = np.uint64(0x9E3779B97F4A7C15)
INVERSE_PRIME = np.uint64(pow(0x9E3779B97F4A7C15, -1, 2**64))
BYTES_MULTIPLIER = np.uint64(0x9FB21C651E98DF25)
LOWERCASE = np.uint64(0x2020202020202020)  # | 0x20 lowercases an ASCII letter and keeps a digit
# MASKS[m]: the low m bytes of a 64-bit chunk
MASKS = np.array([(1 << (8 * m)) - 1 for m in range(9)], dtype=np.uint64)
PYTHON_TAIL = 4  # the last texts of a long hash chain finish in Python, one chunk a step


# ---- string buffers -------------------------------------------------------------------------------------


def buffers(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """(offsets int64, n + 1 of them from 0; the bytes, uint8, with 8 zero bytes after the last text): the
    series as one Arrow large_string array. A null is an empty text."""
    import pyarrow as pa

    array = texts.cast(pl.String).to_arrow()
    if not pa.types.is_large_string(array.type):
        array = array.cast(pa.large_string())
    _, offset_buffer, data_buffer = array.buffers()
    count = len(array)
    offsets = np.frombuffer(offset_buffer, np.int64)[array.offset : array.offset + count + 1] if count else None
    if offsets is None:
        return np.zeros(1, np.int64), np.zeros(8, np.uint8)
    data = np.frombuffer(data_buffer, np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    padded = np.zeros(int(offsets[-1] - offsets[0]) + 8, np.uint8)
    padded[:-8] = data[offsets[0] : offsets[-1]]
    offsets = offsets - offsets[0]
    if array.null_count:  # a null's bytes (if any) are not read
        valid = ~texts.is_null().to_numpy()
        lengths = np.where(valid, np.diff(offsets), 0)
        return _compact(offsets, lengths, padded)
    return offsets, padded


def _compact(offsets: np.ndarray, lengths: np.ndarray, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The texts of the given lengths (each a prefix of the text at its offset), packed again."""
    packed = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    keep = np.repeat(offsets[:-1] - packed[:-1], lengths) + np.arange(packed[-1])
    return packed, np.concatenate([data[keep], np.zeros(8, np.uint8)])


def load8(data: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The little-endian 64-bit value of the 8 bytes starting at each position (`data` ends in 8 spare
    bytes)."""
    every = np.ndarray((len(data) - 7,), dtype="<u8", buffer=data, strides=(1,))
    return every[at].astype(np.uint64, copy=False)


def chunk_at(data: np.ndarray, at: np.ndarray, remaining: np.ndarray) -> np.ndarray:
    """The chunk of min(remaining, 8) bytes at each position, zero-padded."""
    return load8(data, at) & MASKS[np.minimum(remaining, 8)]


# ---- match words ----------------------------------------------------------------------------------------


def words(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """(text index int64, word hash uint64) of every match word (`curate/words.py`), in text order."""
    offsets, data = buffers(texts)
    text, start, end = _word_spans(offsets, data)
    length = end - start
    hashes = word_hashes(data, start, length)
    after_backslash = np.flatnonzero((start > offsets[text]) & (data[np.maximum(start - 1, 0)] == ord("\\")))
    keep = np.ones(len(start), bool)
    if len(after_backslash):
        command = (length[after_backslash], *_lower_chunks(data, start[after_backslash], length[after_backslash]))
        for name in LATEX_SPACING:
            keep[after_backslash[_is(command, name)]] = False
        for name, same in LATEX_SAME.items():
            hashes[after_backslash[_is(command, name)]] = word_hash(same)
    return text[keep], hashes[keep]


def _word_spans(offsets: np.ndarray, data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(text, start, end) of every maximal run of ASCII letters and digits within a text."""
    body = data[:-8]
    alnum = ((body - 48) < 10) | (((body | 32) - 97) < 26)  # uint8 arithmetic wraps below 0
    if not len(body):
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    edges = np.flatnonzero(np.diff(np.concatenate([[False], alnum, [False]])))  # a start, an end, a start, ...
    start, end = edges[0::2], edges[1::2]
    cut = offsets[1:-1]  # where one text ends and the next begins inside a run of letters: two words
    cut = cut[(cut > 0) & (cut < len(body))]
    cut = cut[alnum[cut - 1] & alnum[cut]]
    cut = cut[np.r_[True, cut[1:] != cut[:-1]]] if len(cut) else cut  # empty texts repeat an offset
    if len(cut):
        start = np.insert(start, np.searchsorted(start, cut), cut)
        end = np.insert(end, np.searchsorted(end, cut), cut)
    text = np.searchsorted(offsets, start, side="right") - 1
    return text, start.astype(np.int64), end.astype(np.int64)


def word_hashes(data: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """The word hash of each word (its bytes ASCII letters and digits)."""
    hashes = length.astype(np.uint64) * LENGTH_MIX
    longer = np.arange(len(start))
    for skip in range(0, int(length.max(initial=0)), 8):
        if skip:
            longer = longer[length[longer] > skip]
        at, left = (start, length) if not skip else (start[longer] + skip, length[longer] - skip)
        chunk = load8(data, at)
        chunk |= LOWERCASE
        chunk &= MASKS[np.minimum(left, 8)]
        if skip:
            hashes[longer] = _mix_in_place(hashes[longer] ^ chunk)
        else:
            hashes ^= chunk
            _mix_in_place(hashes)
    return hashes


def _mix_in_place(x: np.ndarray) -> np.ndarray:
    """`curate.hashing.mix` without temporaries (the word hashes are the pure path's largest arrays)."""
    shifted = np.empty_like(x)
    with np.errstate(over="ignore"):
        for shift, multiplier in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB), (31, None)):
            np.right_shift(x, np.uint64(shift), out=shifted)
            x ^= shifted
            if multiplier:
                x *= np.uint64(multiplier)
    return x


def word_hash(word: str) -> np.uint64:
    data = np.frombuffer(word.encode("ascii") + bytes(8), np.uint8)
    return word_hashes(data, np.zeros(1, np.int64), np.array([len(word)], np.int64))[0]


def _lower_chunks(data: np.ndarray, start: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first two lowercased 8-byte chunks of each word (the longest LaTeX name has 12 letters)."""
    first = chunk_at(data, start, length) | LOWERCASE
    second = chunk_at(data, np.where(length > 8, start + 8, start), np.maximum(length - 8, 0)) | LOWERCASE
    return first & MASKS[np.minimum(length, 8)], second & MASKS[np.clip(length - 8, 0, 8)]


def _is(command: tuple[np.ndarray, np.ndarray, np.ndarray], name: str) -> np.ndarray:
    length, first, second = command
    raw = name.encode("ascii").ljust(16, b"\0")
    return (
        (length == len(name))
        & (first == np.uint64(int.from_bytes(raw[:8], "little")))
        & (second == np.uint64(int.from_bytes(raw[8:], "little")))
    )


# ---- window keys ----------------------------------------------------------------------------------------


class Windows:
    """Every word's prefix sum S and the powers of P, so that any run of words is keyed in O(1)."""

    def __init__(self, text: np.ndarray, hashes: np.ndarray) -> None:
        with np.errstate(over="ignore"):
            count = len(hashes)
            self.powers = np.cumprod(np.full(count + 1, WINDOW_PRIME, np.uint64)) * INVERSE_PRIME  # P**i
            inverse = np.cumprod(np.full(count, INVERSE_PRIME, np.uint64)) * WINDOW_PRIME  # P**-i
            self.prefix = np.concatenate([np.zeros(1, np.uint64), np.cumsum(hashes * inverse, dtype=np.uint64)])
        self.text = text

    def keys(self, first: np.ndarray, length: np.ndarray | int) -> np.ndarray:
        """The key of the run of `length` words from word `first`."""
        with np.errstate(over="ignore"):
            span = self.prefix[first + length] - self.prefix[first]
            return self.powers[first + length - 1] * span + np.asarray(length, np.uint64) * LENGTH_MIX

    def full(self, size: int) -> np.ndarray:
        """The first word of every run of `size` words within one text."""
        if len(self.text) < size:
            return np.zeros(0, np.int64)
        return np.flatnonzero(self.text[: len(self.text) - size + 1] == self.text[size - 1 :])


def windows(
    texts: pl.Series, size: int, min_words: int, held: np.ndarray, record_from: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`_text.windows` for one run of texts (see `curate.native.held_windows`)."""
    text, hashes = words(texts)
    runs = Windows(text, hashes)
    counts = np.bincount(text, minlength=len(texts))
    firsts = np.searchsorted(text, np.arange(len(texts)))
    short = np.flatnonzero((counts < size) & (counts >= min_words))
    full = runs.full(size)
    full = full[counts[text[full]] >= min_words]  # a text of fewer words than min_words gives no key at all
    first = np.concatenate([full, firsts[short]])
    length = np.concatenate([np.full(len(full), size, np.int64), counts[short]])
    owner = text[first]
    order = np.lexsort((first, owner))  # text order, then word order: the C loop's order
    owner, keys = owner[order], runs.keys(first[order], length[order])
    owner, keys = _first_of_each(owner, keys)
    position = _positions(keys, held)
    is_held = position >= 0
    held_counts = np.bincount(position[is_held], minlength=len(held)).astype(np.int64)
    recorded = position >= record_from
    return (
        owner[~is_held].astype(np.int32),
        keys[~is_held],
        held_counts,
        owner[recorded].astype(np.int32),
        position[recorded].astype(np.int32),
    )


def _first_of_each(owner: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (owner, key) pairs without repeats, each at its first place."""
    order = np.lexsort((keys, owner))  # stable: the first of equal pairs comes first
    repeat = np.zeros(len(order), bool)
    repeat[1:] = (owner[order][1:] == owner[order][:-1]) & (keys[order][1:] == keys[order][:-1])
    keep = np.ones(len(order), bool)
    keep[order[repeat]] = False
    return owner[keep], keys[keep]


def _positions(keys: np.ndarray, listed: np.ndarray) -> np.ndarray:
    """Per key, its first position in `listed`, or -1."""
    if not len(listed) or not len(keys):
        return np.full(len(keys), -1, np.int64)
    values, first = np.unique(listed, return_index=True)
    at = np.minimum(np.searchsorted(values, keys), len(values) - 1)
    return np.where(values[at] == keys, first[at], -1)


class KeySet:
    """Sorted distinct keys, with a bitmap of their top bits in front (most absent keys stop there)."""

    BITS = 22

    def __init__(self, keys: np.ndarray) -> None:
        self.keys = sorted_distinct(np.asarray(keys, np.uint64))
        self.bitmap = np.zeros(1 << self.BITS, bool)
        self.bitmap[self._slot(self.keys)] = True

    def _slot(self, keys: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return ((keys * np.uint64(0xC2B2AE3D27D4EB4F)) >> np.uint64(64 - self.BITS)).astype(np.int64)

    def holds(self, keys: np.ndarray) -> np.ndarray:
        held = self.bitmap[self._slot(keys)]
        maybe = np.flatnonzero(held)
        if len(self.keys) and len(maybe):
            at = np.minimum(np.searchsorted(self.keys, keys[maybe]), len(self.keys) - 1)
            held[maybe] = self.keys[at] == keys[maybe]
        return held


def find(texts: pl.Series, wanted: KeySet, lengths: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
    """`_text.find` for one run of texts: (text, key) of every run of one of `lengths` words whose key is
    wanted, by text, then length, then place."""
    text, hashes = words(texts)
    runs = Windows(text, hashes)
    owners, keys, orders, places = [], [], [], []
    for order, size in enumerate(lengths):
        first = runs.full(size)
        found = runs.keys(first, size)
        hit = wanted.holds(found)
        owners.append(text[first[hit]])
        keys.append(found[hit])
        orders.append(np.full(int(hit.sum()), order))
        places.append(first[hit])
    owner, key = np.concatenate([np.zeros(0, np.int64), *owners]), np.concatenate([np.zeros(0, np.uint64), *keys])
    order = np.lexsort((np.concatenate([np.zeros(0, np.int64), *places]), np.concatenate([[], *orders]), owner))
    return owner[order].astype(np.int32), key[order]


# ---- whitespace ---------------------------------------------------------------------------------------------


def collapse(texts: pl.Series) -> pl.Series:
    """Each whitespace run (Unicode White_Space, polars' `\\s`) made one space, the ends stripped. The regex
    `\\s\\s+|[^\\S ]` replaces what `\\s+` does but leaves single spaces alone: several times faster."""
    return texts.str.replace_all(r"\s\s+|[^\S ]", " ").str.strip_chars()


def bytes_hashes(texts: pl.Series) -> np.ndarray:
    """The space hash's byte hash of each text as it is (a null hashes as "").

    Each text's chain of chunks is sequential, so the texts are hashed side by side, one chunk of each a step:
    longest first (those still hashing are a prefix), in blocks of similar lengths, each block's chunks read
    row by row (each text's bytes in order) and turned so that one step's chunks lie together."""
    offsets, data = buffers(texts)
    length = np.diff(offsets)
    chunks = (length + 7) // 8
    order = np.argsort(-chunks, kind="stable")
    start, length, chunks = offsets[:-1][order], length[order], chunks[order]
    hashes = length.astype(np.uint64) * LENGTH_MIX
    first = 0
    with np.errstate(over="ignore"):
        while first < len(chunks) and chunks[first]:
            width = int(chunks[first])
            end = int(np.searchsorted(-chunks, -(width // 2), side="left"))  # down to half as long
            end = max(first + 1, min(end, first + BLOCK_CHUNKS // width))
            if end - first <= PYTHON_TAIL:
                for k in range(first, end):
                    hashes[k] = _python_chain(data, int(start[k]), int(length[k]), int(hashes[k]))
            else:
                _hash_block(data, start[first:end], length[first:end], chunks[first:end], hashes[first:end])
            first = end
    out = np.empty(len(order), np.uint64)
    out[order] = mix(hashes)
    return out


BLOCK_CHUNKS = 1 << 22  # 32 MiB of chunks a block


def _hash_block(data: np.ndarray, start: np.ndarray, length: np.ndarray, chunks: np.ndarray, hashes: np.ndarray):
    """Run the chains of texts sorted longest first, writing into `hashes` (a view)."""
    step = 8 * np.arange(int(chunks[0]), dtype=np.int64)
    at = np.minimum(start[:, None] + step[None, :], len(data) - 8)  # past a text's end: read, then masked
    table = load8(data, at)
    table &= MASKS[np.clip(length[:, None] - step[None, :], 0, 8)]
    table = np.ascontiguousarray(table.T)
    busy = np.searchsorted(-chunks, -np.arange(len(step)), side="left")  # texts with more than j chunks
    for j, count in enumerate(busy.tolist()):
        part = hashes[:count]
        part ^= table[j, :count]
        part *= BYTES_MULTIPLIER


def _python_chain(data: np.ndarray, start: int, length: int, state: int) -> int:
    """One text's byte-hash chain in Python integers (a very long text alone would otherwise cost a few numpy
    calls per 8 bytes)."""
    raw = data[start : start + length].tobytes()
    for k in range(0, len(raw), 8):
        state = ((state ^ int.from_bytes(raw[k : k + 8], "little")) * int(BYTES_MULTIPLIER)) % 2**64
    return state


# ---- MinHash LSH ------------------------------------------------------------------------------------------


def signatures(prompt: np.ndarray, shingle: np.ndarray, multipliers: np.ndarray, offsets: np.ndarray, out: np.ndarray):
    """`_minhash.signatures`: per prompt (ascending in `prompt`) and permutation k, the minimum over its shingles
    of the top 16 bits of (a_k * x + b_k) mod 2**32, x the two halves of the shingle xored; into `out`."""
    if not len(prompt):
        return
    x = (shingle ^ (shingle >> np.uint64(32))).astype(np.uint32)
    starts = np.flatnonzero(np.r_[True, prompt[1:] != prompt[:-1]])
    owners = prompt[starts]
    for block in range(0, out.shape[1], 8):  # 8 permutations at a time: memory stays at 32 bytes per shingle
        part = slice(block, block + 8)
        with np.errstate(over="ignore"):
            values = ((x[:, None] * multipliers[None, part] + offsets[None, part]) >> np.uint32(16)).astype(np.uint16)
        out[owners, part] = np.minimum(out[owners, part], np.minimum.reduceat(values, starts, axis=0))


def band_pairs(
    signatures: np.ndarray, present: np.ndarray, turn: np.ndarray, bands: range, rows: int, cap: int
) -> np.ndarray:
    """`_minhash.band_pairs`: sorted distinct codes a << 32 | b (a < b) of the present prompts whose 32-bit
    key of (band values, system turn) is equal in one of `bands`; a bucket of more than `cap` prompts links
    each prompt (in prompt order) only with the next."""
    found = [np.zeros(0, np.uint64)]
    ids = present.astype(np.uint64)
    for band in bands:
        packed = np.zeros(len(present), np.uint64)
        for value in signatures[present, band * rows : (band + 1) * rows].T:
            packed = (packed << np.uint64(16)) | value.astype(np.uint64)
        with np.errstate(over="ignore"):
            key = ((packed ^ turn) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(32)
        order = np.argsort(key, kind="stable")
        found += _bucket_pairs(key[order], ids[order], cap)
    return sorted_distinct(np.concatenate(found))


def sorted_distinct(values: np.ndarray) -> np.ndarray:
    """np.unique by sorting (numpy 2's hash-based unique is several times slower on 64-bit keys)."""
    values = np.sort(values)
    return values[np.r_[True, values[1:] != values[:-1]]] if len(values) else values


def _bucket_pairs(key: np.ndarray, ids: np.ndarray, cap: int) -> list[np.ndarray]:
    """The pair codes of each run of equal keys (see band_pairs)."""
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    sizes = np.diff(np.r_[starts, len(key)])
    size = np.repeat(sizes, sizes)
    shared = np.flatnonzero(size > 1)
    size, place = size[shared], (np.arange(len(key)) - np.repeat(starts, sizes))[shared]
    codes = []
    for gap in range(1, min(int(size.max(initial=0)), cap)):
        linked = shared[(place + gap < size) & ((size <= cap) | (gap == 1))]
        codes.append((ids[linked] << np.uint64(32)) | ids[linked + gap])
    return codes


def jaccard(starts: np.ndarray, shingles: np.ndarray, codes: np.ndarray, threshold: float) -> np.ndarray:
    """`_minhash.jaccard`: per pair a << 32 | b, whether |A & B| / |A | B| reaches `threshold` for the shingle sets
    shingles[starts[a]:starts[a + 1]] (distinct within a prompt) and likewise B."""
    similar = [np.zeros(0, bool)]
    for part in np.array_split(codes, max(1, len(codes) // 100_000)):
        a = (part >> np.uint64(32)).astype(np.int64)
        b = (part & np.uint64(0xFFFFFFFF)).astype(np.int64)
        count_a, count_b = starts[a + 1] - starts[a], starts[b + 1] - starts[b]
        pair = np.arange(len(part))
        owner = np.concatenate([np.repeat(pair, count_a), np.repeat(pair, count_b)])
        value = np.concatenate([shingles[_ranges(starts[a], count_a)], shingles[_ranges(starts[b], count_b)]])
        order = np.lexsort((value, owner))
        twice = (owner[order][1:] == owner[order][:-1]) & (value[order][1:] == value[order][:-1])
        shared = np.bincount(owner[order][1:][twice], minlength=len(part))
        union = count_a + count_b - shared
        similar.append((union > 0) & (shared / np.maximum(union, 1) >= threshold))
    return np.concatenate(similar)


def _ranges(first: np.ndarray, count: np.ndarray) -> np.ndarray:
    """The positions first[i] .. first[i] + count[i] - 1, for every i in turn."""
    ends = np.cumsum(count)
    return np.repeat(first - (ends - count), count) + np.arange(ends[-1] if len(ends) else 0)
