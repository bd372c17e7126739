"""Step `decontaminate`: pairs whose prompt, chosen or rejected text overlaps a benchmark item.

Texts and items are compared as match words (`curate/words.py`: case, punctuation, whitespace and LaTeX
spacing do not count). A text matches an item when it contains at least `min_overlap` of the item's
distinct runs of `ngram` words; an item shorter than `ngram` words must appear whole. The whole pair is
dropped: text is never cut out.

The C search hashes every run of words of every text once and looks it up among the items' runs; the
few texts it flags are then checked again on the words themselves, so a hash collision can never drop
a pair.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from curate.config import DecontaminateConfig
from curate.eval_sets import Benchmark
from curate.native import find, windows
from curate.steps.rules import DROPS_SCHEMA
from curate.words import match_words

TEXTS = ("prompt", "chosen", "rejected")
SHORTEST_ITEM = 3  # words; shorter items ("Compute 5!") would match unrelated texts
FOUND_SCHEMA = {"row": pl.Int64, "benchmark": pl.String, "benchmark_order": pl.Int32, "item": pl.Int64}
FOUND_SCHEMA |= {"text": pl.String, "text_order": pl.Int32}
# The drops carry their first match as data (the step declares these columns): the report counts them, the
# written `detail` spells them out.
MATCH_SCHEMA = DROPS_SCHEMA | {"benchmark": pl.String, "item": pl.Int64, "text": pl.String}


@dataclass(frozen=True)
class ItemWords:
    """The match words of benchmark item `item` of benchmark `order`, split when first asked for."""

    texts: list[list[str]]  # per benchmark, its items
    split: dict[tuple[int, int], list[str]] = field(default_factory=dict)

    def __call__(self, order: int, item: int) -> list[str]:
        if (order, item) not in self.split:
            self.split[order, item] = match_words(self.texts[order][item])
        return self.split[order, item]


@dataclass(frozen=True)
class Items:
    """The benchmark items as the search needs them."""

    runs: pl.DataFrame  # key (uint64), benchmark, benchmark_order, item, needed: one row per (run, item)
    lengths: list[int]  # the run lengths to look for: `ngram`, and the word counts of shorter items
    words: ItemWords


def decontaminate(frame: pl.DataFrame, config: DecontaminateConfig, benchmarks: list[Benchmark]) -> pl.DataFrame:
    items = item_runs(benchmarks, config.ngram, config.min_overlap)
    if items.runs.is_empty() or frame.is_empty():
        return pl.DataFrame(schema=MATCH_SCHEMA)
    found, confirmed = [], pl.Series("row", [], pl.Int64)
    for order, text in enumerate(TEXTS):  # a row found in an earlier text is not checked again
        found.append(matches(frame, text, order, items, config.ngram, confirmed))
        confirmed = pl.concat([confirmed, found[-1]["row"]])
    first = (
        pl.concat(found)
        .sort("row", "text_order", "benchmark_order", "item")
        .unique("row", keep="first", maintain_order=True)
    )
    detail = pl.format("{} item {} in {}", pl.col("benchmark"), pl.col("item"), pl.col("text"))
    reason = pl.lit("contaminated").alias("reason")
    return first.select("row", reason, detail.alias("detail"), "benchmark", "item", "text").cast(MATCH_SCHEMA)


def item_runs(benchmarks: list[Benchmark], ngram: int, min_overlap: float) -> Items:
    """Each item's distinct runs of `ngram` match words (or all its words, when it has fewer), and how many
    of them a text must hold. Items of fewer than SHORTEST_ITEM words are not used."""
    parts, lengths, words = [], {ngram}, ItemWords([bench.items for bench in benchmarks])
    for order, bench in enumerate(benchmarks):
        texts = pl.Series("text", bench.items, pl.String)
        item, key, _ = windows(texts, ngram, SHORTEST_ITEM)
        runs = pl.DataFrame({"key": key, "item": item})
        counted = runs.group_by("item").agg(pl.len(), needed=(pl.len() * min_overlap).ceil().cast(pl.Int64))
        named = {"benchmark": pl.lit(bench.name), "benchmark_order": order}
        parts.append(runs.join(counted.drop("len"), on="item").with_columns(**named))
        # An item with one run may be shorter than `ngram` words: its own length is then looked for too.
        for index in counted.filter(pl.col("len") == 1)["item"].to_list():
            lengths.add(min(ngram, len(words(order, index))))
    schema = {"key": pl.UInt64, "benchmark": pl.String, "benchmark_order": pl.Int32, "item": pl.Int64}
    schema |= {"needed": pl.Int64}
    runs = pl.concat([p.select(*schema).cast(schema) for p in parts]) if parts else pl.DataFrame(schema=schema)
    return Items(runs, sorted(lengths), words)


def matches(frame: pl.DataFrame, text: str, order: int, items: Items, ngram: int, confirmed: pl.Series) -> pl.DataFrame:
    """row, benchmark, benchmark_order, item, text, text_order: the first (row, item) match in one text
    column of each row not in `confirmed` (rows already found in an earlier text)."""
    index, key = find(frame[text], items.runs["key"].unique().to_numpy(), items.lengths)
    hits = pl.DataFrame({"index": index, "key": key}).unique()
    per_item = hits.join(items.runs, on="key").group_by("index", "benchmark", "benchmark_order", "item")
    counted = per_item.agg(pl.len().alias("found"), pl.col("needed").first())
    likely = counted.filter(pl.col("found") >= pl.col("needed")).sort("index", "benchmark_order", "item")
    likely = likely.with_columns(row=frame["row"].gather(likely["index"]))
    likely = likely.filter(~pl.col("row").is_in(confirmed.implode()))
    found = likely.filter(_exact(frame[text], likely, items, ngram))
    return found.select("row", "benchmark", "benchmark_order", "item", text=pl.lit(text), text_order=order).cast(
        FOUND_SCHEMA
    )


def _exact(texts: pl.Series, likely: pl.DataFrame, items: Items, ngram: int) -> pl.Series:
    """Per (index, item) the search flagged, in order: does the text really hold `needed` of the item's
    runs? Once one item of a text holds, the text's later items are not checked (the first match names the
    drop). Each flagged text is split into words once, and its runs of each needed length are made once."""
    words: dict[int, list[str]] = {}
    runs: dict[tuple[int, int], set[tuple[str, ...]]] = {}
    exact, done = [], set()
    for index, order, item, needed in likely.select("index", "benchmark_order", "item", "needed").iter_rows():
        if index in done:
            exact.append(False)
            continue
        if index not in words:
            words[index] = match_words(texts[index])
        item_words = items.words(order, item)
        size = min(ngram, len(item_words))
        if (index, size) not in runs:
            runs[index, size] = _runs(words[index], size)
        exact.append(len(_runs(item_words, size) & runs[index, size]) >= needed)
        if exact[-1]:
            done.add(index)
    return pl.Series(exact, dtype=pl.Boolean)


def _runs(words: list[str], size: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def contamination_report(benchmarks: list[Benchmark], dropped: pl.DataFrame) -> list[dict]:
    """Per benchmark: where its items came from, and the pairs dropped for it (each under its first match), from
    the match columns the step's drops carry."""
    if not benchmarks:  # no benchmarks, no decontaminate step: the dropped rows have no match columns
        return []
    found = dropped.filter(pl.col("reason") == "contaminated").select("benchmark", "item")
    report = []
    for bench in benchmarks:
        mine = found.filter(pl.col("benchmark") == bench.name)
        report.append({**bench.source, "pairs_dropped": mine.height, "items_matched": mine["item"].n_unique()})
    return report
