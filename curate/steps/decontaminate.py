"""Step `decontaminate`: pairs whose prompt, chosen or rejected text overlaps a benchmark item.

Texts and items are compared as `match_text` words (case, punctuation, whitespace and LaTeX spacing do not
count). A text matches an item when it contains at least `min_overlap` of the item's distinct word n-grams;
an item shorter than `ngram` words must appear whole. The whole pair is dropped: text is never cut out.
"""

from __future__ import annotations

import math

import polars as pl

from curate.benchmarks import Benchmark
from curate.config import Recipe
from curate.normalize import match_text
from curate.steps import DROPS_SCHEMA

TEXTS = ("prompt", "chosen", "rejected")
SHORTEST_ITEM = 3  # words; shorter items ("Compute 5!") would match unrelated texts
CHUNK_ROWS = 50_000  # normalised copies of long responses are made a chunk at a time


def decontaminate(frame: pl.DataFrame, recipe: Recipe, benchmarks: list[Benchmark]) -> pl.DataFrame:
    config = recipe.decontaminate
    patterns = item_patterns(benchmarks, config.ngram, config.min_overlap)
    if patterns.is_empty() or frame.is_empty():
        return pl.DataFrame(schema=DROPS_SCHEMA)
    found = pl.concat(
        [matches(frame.slice(start, CHUNK_ROWS), patterns) for start in range(0, frame.height, CHUNK_ROWS)]
    )
    first = found.sort("row", "text_order", "benchmark_order", "item").unique("row", keep="first", maintain_order=True)
    detail = pl.format("{} item {} in {}", pl.col("benchmark"), pl.col("item"), pl.col("text"))
    return first.select("row", pl.lit("contaminated").alias("reason"), detail.alias("detail")).cast(DROPS_SCHEMA)


def item_patterns(benchmarks: list[Benchmark], ngram: int, min_overlap: float) -> pl.DataFrame:
    """pattern (" w1 ... wn "), benchmark, benchmark_order, item, needed: what a text must hold, per item.

    Benchmarks have a few thousand items, so plain Python builds the n-grams."""
    rows = []
    for order, bench in enumerate(benchmarks):
        texts = pl.Series("text", bench.items, pl.String)
        normal = pl.select(match_text(pl.lit(texts)).alias("text"))["text"]
        for item, text in enumerate(normal):
            grams = item_ngrams(text.split(), ngram)
            needed = math.ceil(len(grams) * min_overlap)
            rows += [(gram, bench.name, order, item, needed) for gram in grams]
    schema = {"pattern": pl.String, "benchmark": pl.String, "benchmark_order": pl.Int32}
    schema |= {"item": pl.Int64, "needed": pl.Int64}
    return pl.DataFrame(rows, schema=schema, orient="row")


def item_ngrams(words: list[str], n: int) -> list[str]:
    """Distinct runs of n words as " w1 ... wn ", in order; the whole item when shorter than n."""
    if len(words) < SHORTEST_ITEM:
        return []
    if len(words) <= n:
        return [f" {' '.join(words)} "]
    return list(dict.fromkeys(f" {' '.join(words[i : i + n])} " for i in range(len(words) - n + 1)))


def matches(frame: pl.DataFrame, patterns: pl.DataFrame) -> pl.DataFrame:
    """row, text, text_order, benchmark, benchmark_order, item: every (text, item) match in `frame`."""
    needles = patterns["pattern"].unique().sort().to_list()
    normal = frame.select("row", *(match_text(pl.col(text)).alias(text) for text in TEXTS))  # texts in parallel
    hit = normal.select(pl.col(text).str.contains_any(needles).fill_null(False) for text in TEXTS)
    found = []
    for order, text in enumerate(TEXTS):
        hits = normal.filter(hit[text]).select("row", text)
        if hits.is_empty():
            continue
        grams = hits.select("row", pl.col(text).str.extract_many(needles, overlapping=True).alias("pattern"))
        grams = grams.explode("pattern").unique()
        per_item = grams.join(patterns, on="pattern").group_by("row", "benchmark", "benchmark_order", "item")
        counted = per_item.agg(pl.len().alias("found"), pl.col("needed").first())
        matched = counted.filter(pl.col("found") >= pl.col("needed"))
        found.append(matched.select("row", "benchmark", "benchmark_order", "item", text=pl.lit(text), text_order=order))
    schema = {"row": pl.Int64, "benchmark": pl.String, "benchmark_order": pl.Int32, "item": pl.Int64}
    schema |= {"text": pl.String, "text_order": pl.Int32}
    return pl.concat([f.cast(schema) for f in found]) if found else pl.DataFrame(schema=schema)


def contamination_report(benchmarks: list[Benchmark], dropped: pl.DataFrame) -> list[dict]:
    """Per benchmark: where its items came from, and the pairs dropped for it (each under its first match)."""
    found = dropped.filter(pl.col("reason") == "contaminated").select(
        pl.col("detail").str.extract(r"^(.*) item (\d+) in \w+$", 1).alias("benchmark"),
        pl.col("detail").str.extract(r" item (\d+) in \w+$", 1).alias("item"),
    )
    report = []
    for bench in benchmarks:
        mine = found.filter(pl.col("benchmark") == bench.name)
        report.append({**bench.source, "pairs_dropped": mine.height, "items_matched": mine["item"].n_unique()})
    return report
