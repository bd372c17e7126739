"""Time `curate.answers.answer_columns` against the naive way on the same generated rows, in one run.

    python benchmarks/bench_answers.py                      # 100k rows, generated to a temp file (seed 0)
    python benchmarks/bench_answers.py --source /tmp/bgen/src.parquet --rows 100000
    python benchmarks/bench_answers.py --naive-rows 20000   # naive way on the first 20k rows only, scaled (said so)

The naive way: the same extraction of each response's final answer, then math-verify's `parse` and `verify` (both
directions) on every value, in this one process, no fast path, no cache, no workers: what calling math-verify per
pair costs. curate's way: plain numbers decided in pure Python with math-verify's verdicts, identical pairs once, the
rest in 2 worker processes under a per-item CPU budget. Both are timed cold (curate's worker start-up included) and
their agreement columns must be identical on the rows both ran on.

Prints both times, the ratio, the seconds `answer_columns` adds to a build and its rows/s, and the agreement breakdown
on the generated rows and on the shipped sample (data/distilabel-math-sample.jsonl).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import generate  # noqa: E402  (plain module next door)


def load(path: Path, rows: int) -> tuple[list, list]:
    import polars as pl

    frame = pl.read_parquet(path, columns=["chosen_response", "rejected_response"], n_rows=rows)
    return frame["chosen_response"].to_list(), frame["rejected_response"].to_list()


def share(counts: dict[str, int]) -> str:
    total = sum(counts.values()) or 1
    return ", ".join(f"{k} {v:,} ({100 * v / total:.1f}%)" for k, v in counts.items())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="rows to time (default 100,000)")
    parser.add_argument("--source", type=Path, help="a generated parquet (default: generate --rows rows)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--naive-rows", type=int, help="run the naive way on the first N rows only and scale it up")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from curate import answers

    with tempfile.TemporaryDirectory() as tmp:
        source = args.source
        if source is None:
            source = Path(tmp) / "rows.parquet"
            start = time.perf_counter()
            generate.write(args.rows, source, args.seed)
            print(f"generated {args.rows:,} rows in {time.perf_counter() - start:.1f} s")
        chosen, rejected = load(source, args.rows)
    rows = len(chosen)

    answers.shutdown()  # cold: worker start-up counts
    stats: dict = {}
    start = time.perf_counter()
    out = answers.answer_columns(chosen, rejected, workers=args.workers, stats=stats)
    fast_s = time.perf_counter() - start
    answers.shutdown()

    naive_n = min(rows, args.naive_rows or rows)
    start = time.perf_counter()
    naive = answers.naive_columns(chosen[:naive_n], rejected[:naive_n])
    naive_s = time.perf_counter() - start
    identical = naive == out["answer_agreement"][:naive_n]
    naive_full = naive_s * rows / naive_n

    print(f"rows: {rows:,}   (workers {args.workers})")
    print(
        f"curate answer_columns: {fast_s:8.2f} s   {rows / fast_s:10,.0f} rows/s   (adds {fast_s:.2f} s to a build; "
        f"{stats['fast']:,} unique pairs by the fast path, {stats['math_verify']:,} by math-verify, "
        f"{len(stats['timeouts'])} timeouts, {len(stats['errors'])} errors)"
    )
    if naive_n == rows:
        print(f"naive (math-verify on every value, one process): {naive_s:8.2f} s   {rows / naive_s:10,.0f} rows/s")
    else:
        print(
            f"naive (math-verify on every value, one process): {naive_s:8.2f} s on the first {naive_n:,} rows, "
            f"SCALED linearly to {naive_full:.1f} s for {rows:,} (not measured on all rows)"
        )
    print(f"speed-up: {naive_full / fast_s:.1f}x   agreement identical on {naive_n:,} rows: {identical}")
    print(f"agreement on the generated rows: {share(answers.breakdown(out['answer_agreement']))}")

    sample_path = HERE.parent / "data" / "distilabel-math-sample.jsonl"
    sample = [json.loads(line) for line in sample_path.open(encoding="utf-8")]
    s_chosen = [r.get("chosen_response") for r in sample]
    s_out = answers.answer_columns(s_chosen, [r.get("rejected_response") for r in sample])
    counts = share(answers.breakdown(s_out["answer_agreement"]))
    print(f"agreement on the shipped sample ({len(sample)} rows): {counts}")
    answers.shutdown()
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
