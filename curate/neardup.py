"""Near-duplicate prompt clusters: MinHash LSH over word shingles, each candidate pair checked exactly.

The rule is exact: two prompts (with the same system turn) are near-duplicates when the Jaccard similarity
of their sets of `shingle_words`-word shingles of match words (`curate/words.py`) is at least the threshold.
Boilerplate shingles, found in more than 1% of the prompts (and in more than 50), do not count: distilabel's
math prompts all end in "Take a deep breath, think step by step, and give an accurate response", which
would otherwise make every two short questions look a third alike, and put most prompts in one LSH bucket.

MinHash LSH only proposes candidate pairs; every candidate is checked against the real shingle sets, so a
kept pair never depends on hash luck. LSH finds a pair right at the threshold with probability above 99.5%
(more above it). Clusters are the connected components of the confirmed pairs.

Every hash here is a fixed algorithm (`curate/_text.c` for words and shingles, 64-bit arithmetic for
permutations and band keys): the same prompts give the same clusters in any process and with any polars or
numpy version.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from curate.words import windows

# 20 bands of 4 MinHash values: a pair at Jaccard 0.7 shares a whole band with probability
# 1 - (1 - 0.7**4)**20 = 0.996 (0.9999 at 0.8); at 0.4, 0.40, and at 0.2, 0.03: those are dropped
# by the checks. 3 rows per band proposed 5x more candidates for no more pairs found (100k rows).
BANDS, ROWS = 20, 4
# Before the exact check, candidates whose MinHash values agree in fewer than (threshold - 0.25) of the
# 80 places are dropped: 5 standard deviations below a pair right at the threshold.
ESTIMATE_MARGIN = 0.25
COMMON_SHARE, COMMON_MIN_PROMPTS = 0.01, 50  # boilerplate shingles, see above
BUCKET_CAP = 64  # larger LSH buckets only link neighbours (by prompt order) instead of every pair
CHUNK = 50_000  # pairs at a time (estimates, exact checks), to keep memory flat


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
    """Cluster the rows of `frame` (row, system_key, prompt_key; ascending rows) by near-duplicate prompt."""
    first_row = _first_rows(frame)
    prompts = _distinct_prompts(frame.filter(pl.Series(first_row == frame["row"].to_numpy())))
    shingles = prompt_shingles(prompts, shingle_words)
    signatures = minhash(shingles, prompts.height)
    candidates = candidate_pairs(signatures, shingles, prompts["system"].to_numpy())
    likely = candidates[_estimates(signatures, candidates) >= threshold - ESTIMATE_MARGIN]
    confirmed = confirm(likely, shingles, threshold)
    component = components(prompts.height, confirmed[:, 0], confirmed[:, 1])
    firsts = prompts["first_row"].to_numpy()
    cluster = firsts[component[np.searchsorted(firsts, first_row)]]  # row -> its prompt -> its cluster
    return Clusters(pl.DataFrame({"row": frame["row"], "cluster": cluster}), len(candidates), len(confirmed))


def _first_rows(frame: pl.DataFrame) -> np.ndarray:
    """Per row, the first row with the same (system, prompt). Grouped by an in-process hash of the keys (a
    window over the long keys themselves costs 0.4 GB at a million rows), then checked exactly."""
    keys = pl.struct("system_key", "prompt_key")
    first = frame.select(pl.col("row").min().over(keys.hash(seed=20241128)))["row"]
    at = np.searchsorted(frame["row"].to_numpy(), first.to_numpy())
    same = frame.select(pl.col(k).eq_missing(pl.col(k).gather(at)).all() for k in ("system_key", "prompt_key"))
    if all(same.row(0)):
        return first.to_numpy()
    return frame.select(pl.col("row").min().over("system_key", "prompt_key"))["row"].to_numpy()  # a collision


def _distinct_prompts(firsts: pl.DataFrame) -> pl.DataFrame:
    """The first row of each distinct (system, prompt), numbered in row order, with a system turn id."""
    firsts = firsts.select(pl.col("row").alias("first_row"), "system_key", "prompt_key").with_row_index("prompt")
    system_id = pl.col("system_key").rank("dense").fill_null(0).cast(pl.Int64)
    return firsts.with_columns(system=system_id)


def prompt_shingles(prompts: pl.DataFrame, shingle_words: int) -> Shingles:
    """Each prompt's distinct shingles: runs of `shingle_words` match words (the whole prompt when shorter),
    boilerplate left out. A prompt without a single ASCII word or digit has none (it can only be an exact
    duplicate)."""
    index, shingle = windows(prompts["prompt_key"], shingle_words, 1)
    pairs = pl.DataFrame({"prompt": index.astype(np.int32), "shingle": shingle})
    limit = max(COMMON_SHARE * prompts.height, COMMON_MIN_PROMPTS)
    common = pairs.group_by("shingle").len().filter(pl.col("len") > limit)["shingle"]
    if len(common):
        pairs = pairs.filter(~pl.col("shingle").is_in(common.implode()))
    return Shingles(pairs["prompt"].to_numpy(), pairs["shingle"].to_numpy())


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every input bit affects every output bit."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def minhash(shingles: Shingles, count: int) -> np.ndarray:
    """Per prompt BANDS * ROWS MinHash values, the top 16 bits of each (b-bit MinHash: two different minima
    agree by chance once in 65,536, which the exact check absorbs; half the memory of 32 bits)."""
    signatures = np.full((count, BANDS * ROWS), np.iinfo(np.uint16).max, np.uint16)
    first = np.flatnonzero(np.r_[True, shingles.prompt[1:] != shingles.prompt[:-1]]) if len(shingles.prompt) else []
    bounds = [*first[:: max(len(first) // 64, 1)], len(shingles.prompt)] if len(first) else []
    for start, end in zip(bounds, bounds[1:], strict=False):  # blocks of whole prompts: small temporaries
        _minhash_block(shingles.prompt[start:end], shingles.shingle[start:end], signatures)
    return signatures


def _minhash_block(prompt: np.ndarray, values: np.ndarray, signatures: np.ndarray) -> None:
    first = np.flatnonzero(np.r_[True, prompt[1:] != prompt[:-1]])
    owners = prompt[first]
    multipliers, offsets = _permutations(BANDS * ROWS)
    with np.errstate(over="ignore"):
        for i in range(BANDS * ROWS):
            hashed = ((values * multipliers[i] + offsets[i]) >> np.uint64(32)).astype(np.uint32)  # multiply-shift
            signatures[owners, i] = np.minimum.reduceat(hashed, first) >> np.uint32(16)


def _permutations(count: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed odd multipliers and offsets from a splitmix64 sequence (never numpy's RNG, whose streams may change)."""
    with np.errstate(over="ignore"):
        sequence = _mix(np.arange(1, 2 * count + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))
    return sequence[:count] | np.uint64(1), sequence[count:]


def candidate_pairs(signatures: np.ndarray, shingles: Shingles, system: np.ndarray) -> np.ndarray:
    """(a, b) with a < b: prompts with the same system turn sharing all MinHash values of at least one band."""
    present = np.unique(shingles.prompt)
    base = _mix(system[present].astype(np.uint64) + np.uint64(1))
    found = []
    for band in range(BANDS):
        key = base.copy()
        with np.errstate(over="ignore"):
            for value in signatures[present, band * ROWS : (band + 1) * ROWS].T:
                key = _mix(key * np.uint64(0x9E3779B97F4A7C15) + value.astype(np.uint64))
        found.append(_bucket_pairs(key, present))
    pairs = np.unique(np.concatenate(found)) if found else np.zeros(0, np.uint64)
    pairs = np.stack([pairs >> np.uint64(32), pairs & np.uint64(0xFFFFFFFF)], axis=1).astype(np.int64)
    return pairs[system[pairs[:, 0]] == system[pairs[:, 1]]]  # a band key may collide


def _bucket_pairs(key: np.ndarray, prompt: np.ndarray) -> np.ndarray:
    """Pairs within each bucket of equal keys, as a << 32 | b: all pairs, or neighbours in a large bucket."""
    order = np.argsort(key, kind="stable")  # `prompt` is ascending, and stays so within a bucket
    key, prompt = key[order], prompt[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    size = np.diff(np.r_[starts, len(key)])
    end = np.repeat(starts + size, size)  # where each element's bucket ends
    large = np.repeat(size > BUCKET_CAP, size)
    pairs = []
    index = np.flatnonzero(end - np.arange(len(key)) > 1)
    for gap in range(1, BUCKET_CAP):
        index = index[index + gap < end[index]]
        if gap > 1:
            index = index[~large[index]]
        if len(index) == 0:
            break
        pairs.append((prompt[index].astype(np.uint64) << np.uint64(32)) | prompt[index + gap].astype(np.uint64))
    return np.concatenate(pairs) if pairs else np.zeros(0, np.uint64)


def _estimates(signatures: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """The share of MinHash values each pair agrees on: an estimate of its Jaccard similarity."""
    parts = [
        (signatures[pairs[s : s + CHUNK, 0]] == signatures[pairs[s : s + CHUNK, 1]]).mean(axis=1)
        for s in range(0, len(pairs), CHUNK)
    ]
    return np.concatenate(parts) if parts else np.zeros(0)


def confirm(pairs: np.ndarray, shingles: Shingles, threshold: float) -> np.ndarray:
    """The pairs whose exact shingle-set Jaccard similarity is at least `threshold`, sorted."""
    parts = [_confirm(pairs[s : s + CHUNK // 2], shingles, threshold) for s in range(0, len(pairs), CHUNK // 2)]
    return np.concatenate(parts) if parts else np.zeros((0, 2), np.int64)


def _confirm(pairs: np.ndarray, shingles: Shingles, threshold: float) -> np.ndarray:
    involved = np.zeros(int(shingles.prompt.max()) + 1, bool)
    involved[pairs.ravel()] = True
    mine = involved[shingles.prompt]  # only the prompts in these pairs: a join over all of them is large
    sets = pl.DataFrame({"prompt": shingles.prompt[mine].astype(np.int64), "shingle": shingles.shingle[mine]})
    sizes = sets.group_by("prompt").len()
    candidates = pl.DataFrame({"a": pairs[:, 0], "b": pairs[:, 1]})
    shared = (
        candidates.join(sets, left_on="a", right_on="prompt")
        .join(sets, left_on=["b", "shingle"], right_on=["prompt", "shingle"])
        .group_by("a", "b")
        .len("shared")
    )
    scored = shared.join(sizes.rename({"prompt": "a", "len": "size_a"}), on="a").join(
        sizes.rename({"prompt": "b", "len": "size_b"}), on="b"
    )
    jaccard = pl.col("shared") / (pl.col("size_a") + pl.col("size_b") - pl.col("shared"))
    return scored.filter(jaccard >= threshold).select("a", "b").sort("a", "b").to_numpy().astype(np.int64)


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
