"""Near-duplicate prompt clusters: MinHash LSH over word shingles, each candidate pair checked exactly.

The rule is exact: two prompts (with the same system turn) are near-duplicates when the Jaccard similarity
of their sets of `shingle_words`-word shingles, after `match_text` normalisation, is at least the threshold.
Boilerplate shingles, found in more than 1% of the prompts (and in more than 50), do not count: distilabel's
math prompts all end in "Take a deep breath, think step by step, and give an accurate response", which
would otherwise make every two short questions look a third alike, and put most prompts in one LSH bucket.
MinHash LSH only proposes candidate pairs; every candidate is checked against the real shingle sets, so a
kept pair never depends on hash luck. LSH finds a pair right at the threshold with probability above
99.5% (more above it). Clusters are the connected components of the confirmed pairs.

Every hash here is a fixed algorithm (blake2b for words, 64-bit arithmetic for shingles, permutations and
band keys): the same prompts give the same clusters in any process and with any polars version.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import polars as pl

from curate.normalize import match_text

# 24 bands of 3 MinHash values: a pair at Jaccard 0.7 shares a whole band with probability
# 1 - (1 - 0.7**3)**24 > 0.9999; at 0.3, 0.48 (and it is then dropped by the exact check).
BANDS, ROWS = 24, 3
COMMON_SHARE, COMMON_MIN_PROMPTS = 0.01, 50  # boilerplate shingles, see above
# Buckets larger than this only link neighbours (by prompt order) instead of every pair.
BUCKET_CAP = 64
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


@dataclass(frozen=True)
class Clusters:
    rows: pl.DataFrame  # row, cluster (the smallest row of its cluster; a row alone is its own cluster)
    candidates: int  # pairs proposed by LSH
    pairs: int  # pairs confirmed at or above the threshold


def prompt_clusters(frame: pl.DataFrame, threshold: float, shingle_words: int) -> Clusters:
    """Cluster the rows of `frame` (row, system_key, prompt_key) by near-duplicate prompt."""
    prompts = _distinct_prompts(frame)
    shingles = prompt_shingles(prompts, shingle_words)
    candidates = candidate_pairs(shingles, prompts)
    confirmed = confirm(candidates, shingles, threshold)
    component = components(prompts.height, confirmed["a"].to_numpy(), confirmed["b"].to_numpy())
    first_rows = prompts["first_row"].to_numpy()
    by_prompt = prompts.select("prompt", pl.Series("cluster", first_rows[component], pl.Int64))
    rows = frame.select("row", "system_key", "prompt_key").join(
        prompts.select("system_key", "prompt_key", "prompt"), on=["system_key", "prompt_key"], nulls_equal=True
    )
    rows = rows.join(by_prompt, on="prompt").select("row", "cluster")
    return Clusters(rows.sort("row"), candidates.height, confirmed.height)


def _distinct_prompts(frame: pl.DataFrame) -> pl.DataFrame:
    """One entry per distinct (system, prompt), numbered in order of first appearance."""
    firsts = frame.group_by("system_key", "prompt_key", maintain_order=True).agg(pl.col("row").min().alias("first_row"))
    firsts = firsts.sort("first_row").with_row_index("prompt")
    system_id = pl.col("system_key").rank("dense").fill_null(0).cast(pl.Int64)
    return firsts.with_columns(system=system_id)


def prompt_shingles(prompts: pl.DataFrame, shingle_words: int) -> pl.DataFrame:
    """prompt, shingle (u64): each prompt's distinct shingles. A prompt shorter than a shingle is one shingle."""
    words = prompts.select(
        "prompt", match_text(pl.col("prompt_key")).str.strip_chars(" ").str.split(" ").alias("word")
    ).explode("word")
    words = words.filter(pl.col("word").is_not_null() & (pl.col("word") != ""))
    hashes = _word_hashes(words["word"])
    prompt = words["prompt"].to_numpy()
    starts, lengths = _shingle_starts(prompt, shingle_words)
    shingle = np.zeros(len(starts), np.uint64)
    with np.errstate(over="ignore"):
        for offset in range(shingle_words):
            inside = offset < lengths
            word = np.where(inside, hashes[np.minimum(starts + offset, len(hashes) - 1)], 0)
            shingle = np.where(inside, _mix(shingle * np.uint64(0x100000001B3) + word), shingle)
    frame = pl.DataFrame({"prompt": prompt[starts] if len(starts) else prompt[:0], "shingle": shingle})
    return _without_boilerplate(frame.unique(maintain_order=True), prompts.height)


def _word_hashes(words: pl.Series) -> np.ndarray:
    """blake2b of each word (each distinct word hashed once in Python: vocabularies are small)."""
    vocabulary = words.unique(maintain_order=True)
    digests = [int.from_bytes(hashlib.blake2b(w.encode(), digest_size=8).digest(), "little") for w in vocabulary]
    values = pl.Series("hash", digests, pl.UInt64)
    return words.replace_strict(vocabulary, values, return_dtype=pl.UInt64).to_numpy()


def _shingle_starts(prompt: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Where each shingle starts in the flat word array, and how many words it has (fewer for short prompts)."""
    if len(prompt) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    first = np.flatnonzero(np.r_[True, prompt[1:] != prompt[:-1]])
    count = np.diff(np.r_[first, len(prompt)])
    per_prompt = np.maximum(count - size + 1, 1)
    starts = np.repeat(first, per_prompt) + _ranges(per_prompt)
    lengths = np.repeat(np.minimum(count, size), per_prompt)
    return starts, lengths


def _ranges(counts: np.ndarray) -> np.ndarray:
    """0..n-1 for each n in counts, concatenated."""
    ends = np.cumsum(counts)
    return np.arange(ends[-1]) - np.repeat(ends - counts, counts)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every input bit affects every output bit."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def candidate_pairs(shingles: pl.DataFrame, prompts: pl.DataFrame) -> pl.DataFrame:
    """a < b: prompts sharing all MinHash values of at least one band (and their system turn)."""
    signatures, present = minhash(shingles, prompts.height)
    system = _mix(prompts["system"].to_numpy().astype(np.uint64) + np.uint64(1))
    keys = []
    for band in range(BANDS):
        columns = slice(band * ROWS, (band + 1) * ROWS)
        key = system.copy()
        with np.errstate(over="ignore"):
            for value in signatures[:, columns].T:
                key = _mix(key * np.uint64(0x9E3779B97F4A7C15) + value.astype(np.uint64))
        keys.append(pl.DataFrame({"band": band, "key": key[present], "prompt": np.flatnonzero(present)}))
    pairs = _bucket_pairs(pl.concat(keys))
    system = prompts["system"].to_numpy()
    same = system[pairs["a"].to_numpy()] == system[pairs["b"].to_numpy()]  # a band key may collide
    return pairs.filter(pl.Series(same, dtype=pl.Boolean))


def _without_boilerplate(shingles: pl.DataFrame, count: int) -> pl.DataFrame:
    limit = max(COMMON_SHARE * count, COMMON_MIN_PROMPTS)
    return shingles.filter(pl.len().over("shingle") <= limit)


def minhash(shingles: pl.DataFrame, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Per prompt BANDS * ROWS MinHash values (32 bits each), and which prompts have any shingle."""
    prompt = shingles["prompt"].to_numpy()
    values = shingles["shingle"].to_numpy()
    signatures = np.zeros((count, BANDS * ROWS), np.uint32)
    present = np.zeros(count, bool)
    if len(values) == 0:
        return signatures, present
    order = np.argsort(prompt, kind="stable")
    prompt, values = prompt[order], values[order]
    first = np.flatnonzero(np.r_[True, prompt[1:] != prompt[:-1]])
    owners = prompt[first]
    present[owners] = True
    multipliers, offsets = _permutations(BANDS * ROWS)
    with np.errstate(over="ignore"):
        for i in range(BANDS * ROWS):
            hashed = ((values * multipliers[i] + offsets[i]) >> np.uint64(32)).astype(np.uint32)  # multiply-shift
            signatures[owners, i] = np.minimum.reduceat(hashed, first)
    return signatures, present


def _permutations(count: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed odd multipliers and offsets from a splitmix64 sequence (never numpy's RNG, whose streams may change)."""
    with np.errstate(over="ignore"):
        sequence = _mix(np.arange(1, 2 * count + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))
    return sequence[:count] | np.uint64(1), sequence[count:]


def _bucket_pairs(keys: pl.DataFrame) -> pl.DataFrame:
    buckets = keys.sort("band", "key", "prompt").with_columns(size=pl.len().over("band", "key"))
    buckets = buckets.filter(pl.col("size") > 1).with_columns(
        bucket=pl.struct("band", "key").rank("dense"), index=pl.int_range(pl.len()).over("band", "key")
    )
    small = buckets.filter(pl.col("size") <= BUCKET_CAP).select("bucket", "prompt")
    pairs = small.join(small, on="bucket", suffix="_b").filter(pl.col("prompt") < pl.col("prompt_b"))
    large = buckets.filter(pl.col("size") > BUCKET_CAP)
    chained = large.select("prompt", pl.col("prompt").shift(-1).over("bucket").alias("prompt_b")).drop_nulls()
    both = pl.concat([pairs.select("prompt", "prompt_b"), chained], how="vertical_relaxed")
    pairs = both.select(pl.col("prompt").alias("a"), pl.col("prompt_b").alias("b")).cast(pl.Int64)
    return pairs.unique().sort("a", "b")


def confirm(pairs: pl.DataFrame, shingles: pl.DataFrame, threshold: float) -> pl.DataFrame:
    """The candidate pairs whose exact shingle-set Jaccard similarity is at least `threshold`."""
    sizes = shingles.group_by("prompt").len()
    shared = (
        pairs.join(shingles, left_on="a", right_on="prompt")
        .join(shingles, left_on=["b", "shingle"], right_on=["prompt", "shingle"])
        .group_by("a", "b")
        .len("shared")
    )
    scored = shared.join(sizes.rename({"prompt": "a", "len": "size_a"}), on="a").join(
        sizes.rename({"prompt": "b", "len": "size_b"}), on="b"
    )
    jaccard = pl.col("shared") / (pl.col("size_a") + pl.col("size_b") - pl.col("shared"))
    return scored.filter(jaccard >= threshold).select("a", "b").sort("a", "b")


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
