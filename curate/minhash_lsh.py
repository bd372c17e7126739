"""Near-duplicate prompt clusters: MinHash LSH over word shingles, each candidate pair checked exactly.

The rule is exact on shingle hashes: two prompts (with the same system turn) are near-duplicates when the
Jaccard similarity of their sets of `shingle_words`-word shingles of match words (`curate/words.py`, each a
64-bit key) is at least the threshold.
Boilerplate shingles, found in more than 1% of the prompts (and in more than 50) among those found in more
than 0.5% of a fixed sample of 20,000 prompts (`prompt_shingles`), do not count: distilabel's
math prompts all end in "Take a deep breath, think step by step, and give an accurate response", which
would otherwise make every two short questions look a third alike, and put most prompts in one LSH bucket.

MinHash LSH only proposes candidate pairs; every candidate is checked against the real shingle sets, so a
kept pair never depends on hash luck. LSH finds a pair right at the threshold with probability above 99.5%
(more above it; a bucket of more than BUCKET_CAP prompts only links neighbours, see candidate_pairs).
Clusters are the connected components of the confirmed pairs.

Every hash here is a fixed algorithm (words and shingles, 32-bit multiply-shift MinHash, 32-bit band keys;
`curate/pure.py` states each, `curate/_text.c` and `curate/_minhash.c` run them when compiled): the same
prompts give the same clusters in any process and with any polars or numpy version.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from curate import pure
from curate.hashing import GOLDEN, mix
from curate.native import accelerated, held_windows, in_threads, minhash_module, windows

# 20 bands of 4 MinHash values: a pair at Jaccard 0.7 shares a whole band with probability
# 1 - (1 - 0.7**4)**20 = 0.996 (0.9999 at 0.8); at 0.4, 0.40, and at 0.2, 0.03: those are dropped
# by the checks. 3 rows per band proposed 5x more candidates for no more pairs found (100k rows).
BANDS, ROWS = 20, 4
# Before the exact check, candidates whose MinHash values agree in fewer than (threshold - 0.25) of the
# 80 places are dropped: 5 standard deviations below a pair right at the threshold.
ESTIMATE_MARGIN = 0.25
COMMON_SHARE, COMMON_MIN_PROMPTS = 0.01, 50  # boilerplate shingles, see above
SAMPLE_PROMPTS = 20_000  # boilerplate is suspected in about this many prompts, then counted in all
BUCKET_CAP = 64  # larger LSH buckets only link neighbours (by prompt order) instead of every pair


@dataclass(frozen=True)
class Clusters:
    rows: pl.DataFrame  # row, cluster (the smallest row of its cluster; a row alone is its own cluster)
    candidates: int  # pairs proposed by LSH
    pairs: int  # pairs confirmed at or above the threshold


@dataclass(frozen=True)
class Shingles:
    """Each prompt's distinct non-boilerplate shingles, sorted by prompt."""

    prompt: np.ndarray  # int32
    shingle: np.ndarray  # uint64


def prompt_clusters(frame: pl.DataFrame, threshold: float, shingle_words: int) -> Clusters:
    """Cluster the rows of `frame` (row, system_key, prompt_key, key_hash; ascending rows) by near-duplicate
    prompt."""
    first_row = _first_rows(frame)
    prompts = _distinct_prompts(frame.filter(pl.Series(first_row == frame["row"].to_numpy())))
    shingles = prompt_shingles(prompts, shingle_words)
    signatures = minhash(shingles, prompts.height)
    candidates = candidate_pairs(signatures, shingles, prompts["system"].to_numpy())
    likely = candidates[_estimates(signatures, candidates) >= threshold - ESTIMATE_MARGIN]
    confirmed = confirm(likely, shingles, prompts.height, threshold)
    a, b = confirmed >> np.uint64(32), confirmed & np.uint64(0xFFFFFFFF)
    component = components(prompts.height, a.astype(np.int64), b.astype(np.int64))
    firsts = prompts["first_row"].to_numpy()
    cluster = firsts[component[np.searchsorted(firsts, first_row)]]  # row -> its prompt -> its cluster
    return Clusters(pl.DataFrame({"row": frame["row"], "cluster": cluster}), len(candidates), len(confirmed))


def _first_rows(frame: pl.DataFrame) -> np.ndarray:
    """Per row, the first row with the same (system, prompt). Grouped by `key_hash` (a window over the long
    keys themselves costs 0.4 GB at a million rows), then checked exactly."""
    first = frame.select(pl.col("row").min().over("key_hash"))["row"].to_numpy()
    later = np.flatnonzero(first != frame["row"].to_numpy())  # rows with an earlier row of the same hash
    at = np.searchsorted(frame["row"].to_numpy(), first[later])
    keys = frame.select("system_key", "prompt_key")
    if keys[later].equals(keys[at]):
        return first
    return frame.select(pl.col("row").min().over("system_key", "prompt_key"))["row"].to_numpy()  # a collision


def _distinct_prompts(firsts: pl.DataFrame) -> pl.DataFrame:
    """The first row of each distinct (system, prompt), numbered in row order, with a system turn id."""
    firsts = firsts.select(pl.col("row").alias("first_row"), "system_key", "prompt_key").with_row_index("prompt")
    system_id = pl.col("system_key").rank("dense").fill_null(0).cast(pl.Int64)
    return firsts.with_columns(system=system_id)


def prompt_shingles(prompts: pl.DataFrame, shingle_words: int) -> Shingles:
    """Each prompt's distinct shingles: runs of `shingle_words` match words (the whole prompt when shorter),
    boilerplate left out. A prompt without a single ASCII word or digit has none (it can only be an exact
    duplicate).

    Boilerplate is most of all shingles (one closing sentence in every prompt), so it is never returned with
    the others: the shingles found in more than half the boilerplate share of a fixed sample of the prompts
    are held back and counted over all prompts, and those found in more than the boilerplate share are left
    out. The others, suspected in vain, go back to the prompts that hold them: where each is held is recorded
    for the suspects seen in the sample at most twice as often as the limit (far fewer places than the
    boilerplate's); should a suspect seen more often not be boilerplate after all, the prompts are shingled
    again."""
    texts, limit = prompts["prompt_key"], max(COMMON_SHARE * prompts.height, COMMON_MIN_PROMPTS)
    suspects, sure = _sample_boilerplate(texts, shingle_words, limit)
    found = held_windows(texts, shingle_words, 1, held=suspects, record_from=sure)
    index, shingle, counts, held_index, held_which = found
    if (counts[:sure] <= limit).any():
        index, shingle, _ = windows(texts, shingle_words, 1, held=suspects[counts > limit])
        return Shingles(index, shingle)
    back = (counts <= limit)[held_which]
    if back.any():  # after each prompt's own shingles: a prompt's shingles stay together, in any order
        at = np.searchsorted(index, held_index[back], side="right")
        index, shingle = np.insert(index, at, held_index[back]), np.insert(shingle, at, suspects[held_which[back]])
    return Shingles(index, shingle)


def _sample_boilerplate(texts: pl.Series, shingle_words: int, limit: float) -> tuple[np.ndarray, int]:
    """Shingles in more than half the boilerplate share of a fixed sample of the prompts (every k-th), those in
    the sample more than twice as often as `limit` (the most prompts a non-boilerplate shingle is in) first,
    and how many of those there are."""
    step = max(len(texts) // SAMPLE_PROMPTS, 1)
    sample = texts.gather_every(step)
    _, shingle, _ = windows(sample, shingle_words, 1)
    values, found = np.unique(shingle, return_counts=True)
    suspected = found > max(COMMON_SHARE / 2 * len(sample), 1)
    sure = suspected & (found > 2 * limit * len(sample) / max(len(texts), 1))
    return np.concatenate([values[sure], values[suspected & ~sure]]), int(sure.sum())


def minhash(shingles: Shingles, count: int) -> np.ndarray:
    """Per prompt BANDS * ROWS MinHash values, the top 16 bits of each (b-bit MinHash: two different minima
    agree by chance once in 65,536, which the exact check absorbs; half the memory of 32 bits). Prompts are
    split in two halves, one per thread: each writes only its own prompts' rows."""
    signatures = np.full((count, BANDS * ROWS), np.iinfo(np.uint16).max, np.uint16)
    multipliers, offsets = _permutations(BANDS * ROWS)
    middle = len(shingles.prompt) // 2
    if len(shingles.prompt):  # move the cut to a prompt boundary
        middle = int(np.searchsorted(shingles.prompt, shingles.prompt[middle]))

    def run(part: slice) -> None:
        prompt, shingle = shingles.prompt[part], shingles.shingle[part]
        if accelerated():
            minhash_module().signatures(prompt, shingle, multipliers, offsets, signatures, BANDS * ROWS)
        else:
            pure.signatures(prompt, shingle, multipliers, offsets, signatures)

    in_threads(run, [slice(0, middle), slice(middle, None)])
    return signatures


def _permutations(count: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed odd 32-bit multipliers and offsets from a splitmix64 sequence (never numpy's RNG, whose streams
    may change)."""
    with np.errstate(over="ignore"):
        sequence = mix(np.arange(1, 2 * count + 1, dtype=np.uint64) * GOLDEN)
    sequence = (sequence >> np.uint64(32)).astype(np.uint32)
    return sequence[:count] | np.uint32(1), sequence[count:]


def candidate_pairs(signatures: np.ndarray, shingles: Shingles, system: np.ndarray) -> np.ndarray:
    """Pairs a << 32 | b (a < b, sorted) of prompts with the same system turn sharing all MinHash values of at
    least one band.
    Buckets of more than BUCKET_CAP prompts only link neighbours (in prompt order). Half the bands per thread."""
    grouped = shingles.prompt  # ascending: a prompt's shingles are together
    present = grouped[np.r_[True, grouped[1:] != grouped[:-1]]] if len(grouped) else grouped
    turn = mix(system[present].astype(np.uint64) + np.uint64(1))
    halves = [(0, BANDS // 2), (BANDS // 2, BANDS - BANDS // 2)]

    def run(bands: tuple[int, int]) -> np.ndarray:
        if not accelerated():
            return pure.band_pairs(signatures, present, turn, range(bands[0], sum(bands)), ROWS, BUCKET_CAP)
        found = minhash_module().band_pairs(signatures, BANDS * ROWS, present, turn, *bands, ROWS, BUCKET_CAP)
        return np.frombuffer(found, np.uint64)

    codes = np.union1d(*in_threads(run, halves))  # each half sorted and distinct: so is their union
    a, b = (codes >> np.uint64(32)).astype(np.int64), (codes & np.uint64(0xFFFFFFFF)).astype(np.int64)
    return codes[system[a] == system[b]]  # two system turns may share a band key


def _estimates(signatures: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """The share of MinHash values each pair agrees on: an estimate of its Jaccard similarity."""
    a, b = (pairs >> np.uint64(32)).astype(np.int64), (pairs & np.uint64(0xFFFFFFFF)).astype(np.int64)
    parts = [(signatures[a[k : k + 65536]] == signatures[b[k : k + 65536]]).sum(1) for k in range(0, len(a), 65536)]
    return np.concatenate([np.zeros(0, np.int64), *parts]) / signatures.shape[1]


def confirm(pairs: np.ndarray, shingles: Shingles, count: int, threshold: float) -> np.ndarray:
    """The pairs whose exact shingle-set Jaccard similarity is at least `threshold`."""
    starts = np.searchsorted(shingles.prompt, np.arange(count + 1, dtype=np.int32)).astype(np.int64)
    if accelerated():
        similar = np.frombuffer(minhash_module().jaccard(starts, shingles.shingle, pairs, threshold), np.bool_)
    else:
        similar = pure.jaccard(starts, shingles.shingle, pairs, threshold)
    return pairs[similar]


def components(count: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components: each node's label is the smallest node of its component."""
    label = np.arange(count)
    a, b = a.astype(np.int64), b.astype(np.int64)
    while True:
        low = np.minimum(label[a], label[b])
        updated = label.copy()
        np.minimum.at(updated, a, low)
        np.minimum.at(updated, b, low)
        updated = updated[updated]  # pointer jumping: follow labels to their own labels
        if np.array_equal(updated, label):
            return label
        label = updated
