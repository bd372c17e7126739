"""Time curate's MinHash signatures against datasketch's on the same prompts' shingles.

    python benchmarks/bench_minhash.py [--rows 100000]

Generates rows, takes their distinct prompts' shingles as curate's near-duplicate step makes them (boilerplate
left out), and computes 80 MinHash values per prompt in one run: curate (`curate/_minhash.c`, one thread and
two), curate's pure path (`curate/pure.py`, numpy; its values must equal the C's, else exit 1), datasketch
`MinHash.update_batch` with one object per prompt (the usual way), and datasketch `MinHash.bulk`. datasketch
gets each shingle as its 8-byte key. Prints times and the ratios.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import generate  # noqa: E402  (plain module next door)

PERMUTATIONS = 80


def prompt_shingles(rows: int):
    from curate.config import load_recipe
    from curate.minhash_lsh import _distinct_prompts, _first_rows, prompt_shingles
    from curate.normalize import with_keys
    from curate.sources import load_source

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "rows.parquet"
        generate.write(rows, source, 0)
        frame = with_keys(load_source(load_recipe(overrides={"source.path": str(source)}).source).frame)
    first = _first_rows(frame)
    prompts = _distinct_prompts(frame.filter(pl.Series(first == frame["row"].to_numpy())))
    return prompts.height, prompt_shingles(prompts, 3)


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def curate_minhash(count: int, shingles, threads: int) -> np.ndarray:
    from curate import _minhash
    from curate.minhash_lsh import _permutations

    signatures = np.full((count, PERMUTATIONS), 0xFFFF, np.uint16)
    multipliers, offsets = _permutations(PERMUTATIONS)
    if threads == 1:
        _minhash.signatures(shingles.prompt, shingles.shingle, multipliers, offsets, signatures, PERMUTATIONS)
    else:
        from curate.minhash_lsh import minhash

        signatures = minhash(shingles, count)
    return signatures


def pure_minhash(count: int, shingles) -> np.ndarray:
    import os

    from curate.minhash_lsh import minhash

    os.environ["CURATE_PURE"] = "1"
    try:
        return minhash(shingles, count)
    finally:
        del os.environ["CURATE_PURE"]


def by_prompt(shingles) -> list[list[bytes]]:
    bounds = np.flatnonzero(np.r_[True, shingles.prompt[1:] != shingles.prompt[:-1], True])
    keys = [value.tobytes() for value in shingles.shingle]
    return [keys[start:end] for start, end in zip(bounds[:-1], bounds[1:], strict=True)]


def datasketch_update_batch(groups: list[list[bytes]]) -> None:
    from datasketch import MinHash

    for group in groups:
        MinHash(num_perm=PERMUTATIONS).update_batch(group)


def datasketch_bulk(groups: list[list[bytes]]) -> None:
    from datasketch import MinHash

    MinHash.bulk(groups, num_perm=PERMUTATIONS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    console = Console()
    count, shingles = prompt_shingles(args.rows)
    groups = by_prompt(shingles)
    console.print(f"{len(groups):,} prompts with shingles, {len(shingles.shingle):,} shingles, {PERMUTATIONS} values")
    made = {}
    times = {
        "curate (C, 1 thread)": timed(lambda: curate_minhash(count, shingles, 1)),
        "curate (C, 2 threads)": timed(lambda: made.update(c=curate_minhash(count, shingles, 2))),
        "curate pure path (numpy, 2 threads)": timed(lambda: made.update(pure=pure_minhash(count, shingles))),
        "datasketch MinHash.update_batch per prompt": timed(lambda: datasketch_update_batch(groups)),
        "datasketch MinHash.bulk": timed(lambda: datasketch_bulk(groups)),
    }
    table = Table(title="MinHash signatures of the same shingles")
    table.add_column("implementation")
    table.add_column("time (s)", justify="right")
    table.add_column("vs curate, 1 thread", justify="right")
    mine = times["curate (C, 1 thread)"]
    for name, seconds in times.items():
        table.add_row(name, f"{seconds:.3f}", f"{seconds / mine:.1f}x")
    console.print(table)
    if not np.array_equal(made["c"], made["pure"]):
        raise SystemExit("MISMATCH: the pure path's signatures differ from the C loop's")
    console.print("the pure path's signatures equal the C loop's, bit for bit")


if __name__ == "__main__":
    main()
