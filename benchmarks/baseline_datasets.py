"""The usual way: the curate build rules written as a typical Hugging Face `datasets` script.

    python benchmarks/baseline_datasets.py ROWS.parquet OUT_DIR [--benchmark ITEMS.jsonl] [--json]

One `.filter` per rule with a plain per-example function, decontamination with a `.filter` over
Python sets of word n-grams, dedup with a dict over the columns, near-duplicate prompts with
datasketch's MinHash and MinHashLSH (then the same exact Jaccard check and keep rule as curate),
ChatML rendering with `.map`, then `train_test_split`. It is what bench_build.py times
`curate build` against, and its counts must match curate's (near-duplicates up to LSH luck).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import tempfile
import time
import unicodedata
from pathlib import Path

import datasets

MAX_CHARS = 8000
CONTROL_TOKENS = ("<|im_start|>", "<|im_end|>")
RENAMES = {"instruction": "prompt", "chosen_response": "chosen", "rejected_response": "rejected"}
TEXTS = ("prompt", "chosen", "rejected")


def normalize(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


# Characters that show nothing: curate's INVISIBLE (curate/normalize.py) as the usual Python test; Unicode's
# Default_Ignorable_Code_Point is not in unicodedata, so its blank-looking letters are listed.
BLANK_LETTERS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800", "\u034f", *map(chr, range(0xFE00, 0xFE10))}


def is_blank(text: str | None) -> bool:
    return text is None or all(
        c.isspace() or unicodedata.category(c) in ("Cc", "Cf") or c in BLANK_LETTERS for c in text
    )


def as_number(value) -> float | None:
    """A rating as a float; None when it is not a number ("7" is one, "high" and NaN are not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


# --- one keep-function per rule, in rule order ---------------------------------------------


def has_prompt(ex: dict) -> bool:
    return not is_blank(ex["prompt"])


def has_chosen(ex: dict) -> bool:
    return not is_blank(ex["chosen"])


def has_rejected(ex: dict) -> bool:
    return not is_blank(ex["rejected"])


def has_ratings(ex: dict) -> bool:
    return ex["chosen_rating"] is not None and ex["rejected_rating"] is not None


def ratings_are_numbers(ex: dict) -> bool:
    chosen, rejected = as_number(ex["chosen_rating"]), as_number(ex["rejected_rating"])
    return chosen is not None and rejected is not None and math.isfinite(chosen - rejected)


def no_control_tokens(ex: dict) -> bool:
    return not any(token in ex[key] for key in TEXTS for token in CONTROL_TOKENS)


def short_enough(ex: dict) -> bool:
    return len(ex["prompt"]) + max(len(ex["chosen"]), len(ex["rejected"])) <= MAX_CHARS


def responses_differ(ex: dict) -> bool:
    return normalize(ex["chosen"]) != normalize(ex["rejected"])


def not_inverted(ex: dict) -> bool:
    return as_number(ex["chosen_rating"]) >= as_number(ex["rejected_rating"])


def not_tied(ex: dict) -> bool:
    return as_number(ex["chosen_rating"]) != as_number(ex["rejected_rating"])


def gap_of_one_point(ex: dict) -> bool:
    return as_number(ex["chosen_rating"]) - as_number(ex["rejected_rating"]) >= 1.0


FILTERS = (
    ("empty_prompt", has_prompt),
    ("empty_chosen", has_chosen),
    ("empty_rejected", has_rejected),
    ("missing_rating", has_ratings),
    ("non_numeric_rating", ratings_are_numbers),
    ("control_token", no_control_tokens),
    ("text_too_long", short_enough),
    ("identical_responses", responses_differ),
    ("inverted_rating", not_inverted),
    ("tie", not_tied),
    ("small_rating_gap", gap_of_one_point),
)


# --- dedup: one pass over the columns, then select the rows to keep ------------------------


def first_of_each_pair(ds: datasets.Dataset) -> list[int]:
    seen: set[tuple[str, str, str]] = set()
    keep = []
    for i, texts in enumerate(zip(ds["prompt"], ds["chosen"], ds["rejected"], strict=True)):
        key = tuple(normalize(t) for t in texts)
        if key not in seen:
            seen.add(key)
            keep.append(i)
    return keep


def best_of_each_prompt(ds: datasets.Dataset) -> list[int]:
    """Per normalized prompt: largest gap, then highest chosen rating, then the first row."""
    best: dict[str, tuple[float, float, int]] = {}
    columns = zip(ds["prompt"], ds["chosen_rating"], ds["rejected_rating"], strict=True)
    for i, (prompt, chosen, rejected) in enumerate(columns):
        chosen, rejected = as_number(chosen), as_number(rejected)
        rank = (chosen - rejected, chosen, -i)
        key = normalize(prompt)
        if key not in best or rank > best[key]:
            best[key] = rank
    return sorted(-rank[2] for rank in best.values())


# --- decontamination: word n-grams of each benchmark item, looked up in each text's n-grams ------

NGRAM, MIN_OVERLAP, SHORTEST_ITEM = 8, 0.5, 3
LATEX_SPACING = {"displaystyle", "textstyle", "qquad", "quad", "left", "right", "big", "bigl", "bigr", "bigg",
                 "biggl", "biggr"}  # fmt: skip
LATEX_SAME = {"dfrac": "frac", "tfrac": "frac", "dbinom": "binom", "tbinom": "binom"}
WORD = re.compile(r"[A-Za-z0-9]+")


def match_words(text: str) -> list[str]:
    """ASCII letter/digit runs, lowercased; LaTeX spacing commands dropped, \\dfrac as \\frac (curate's rule)."""
    words = []
    for found in WORD.finditer(text):
        word = found.group().lower()
        if found.start() and text[found.start() - 1] == "\\":
            if word in LATEX_SPACING:
                continue
            word = LATEX_SAME.get(word, word)
        words.append(word)
    return words


class Benchmark:
    """n-gram -> items holding it, and how many of its n-grams each item needs."""

    def __init__(self, items: list[str]):
        self.grams: dict[str, list[int]] = {}
        self.needed: list[int] = []
        self.sizes: set[int] = set()
        for index, item in enumerate(items):
            words = match_words(item)
            size = min(NGRAM, len(words))
            grams = set() if len(words) < SHORTEST_ITEM else set(ngrams(words, size))
            for gram in grams:
                self.grams.setdefault(gram, []).append(index)
            self.sizes.add(size)
            self.needed.append(math.ceil(len(grams) * MIN_OVERLAP) if grams else 10**9)

    def matches(self, text: str) -> bool:
        words = match_words(text)
        found: dict[int, int] = {}
        for size in self.sizes:
            for gram in set(ngrams(words, size)):
                for item in self.grams.get(gram, ()):
                    found[item] = found.get(item, 0) + 1
        return any(count >= self.needed[item] for item, count in found.items())


def ngrams(words: list[str], n: int):
    return (" ".join(words[i : i + n]) for i in range(len(words) - n + 1))


# --- near-duplicate prompts: datasketch MinHash + MinHashLSH, candidates checked exactly --------

SHINGLE, THRESHOLD, BANDS, ROWS = 3, 0.7, 20, 4
COMMON_SHARE, COMMON_MIN = 0.01, 50


def best_of_each_cluster(ds: datasets.Dataset) -> list[int]:
    from datasketch import MinHash, MinHashLSH

    prompts = [normalize(p) for p in ds["prompt"]]
    distinct = list(dict.fromkeys(prompts))
    sets = [shingles(p) for p in distinct]
    counts: dict[str, int] = {}
    for one in sets:
        for s in one:
            counts[s] = counts.get(s, 0) + 1
    limit = max(COMMON_SHARE * len(distinct), COMMON_MIN)
    sets = [{s for s in one if counts[s] <= limit} for one in sets]
    lsh = MinHashLSH(num_perm=BANDS * ROWS, params=(BANDS, ROWS))
    hashes = []
    for key, one in enumerate(sets):
        minhash = MinHash(num_perm=BANDS * ROWS)
        minhash.update_batch([s.encode() for s in one])
        hashes.append(minhash)
        if one:
            lsh.insert(key, minhash)
    parent = list(range(len(distinct)))
    for a, one in enumerate(sets):
        for b in lsh.query(hashes[a]) if one else ():
            if b > a and len(one & sets[b]) / len(one | sets[b]) >= THRESHOLD:
                low, high = sorted((find(parent, a), find(parent, b)))
                parent[high] = low
    cluster = {p: find(parent, k) for k, p in enumerate(distinct)}
    best: dict[int, tuple] = {}
    for i, (prompt, chosen, rejected) in enumerate(
        zip(prompts, ds["chosen_rating"], ds["rejected_rating"], strict=True)
    ):
        chosen, rejected = as_number(chosen), as_number(rejected)
        rank = (chosen - rejected, chosen, -i)
        if cluster[prompt] not in best or rank > best[cluster[prompt]]:
            best[cluster[prompt]] = rank
    kept_prompt = {c: prompts[-rank[2]] for c, rank in best.items()}
    return [i for i, p in enumerate(prompts) if kept_prompt[cluster[p]] == p]


def find(parent: list[int], x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def shingles(prompt: str) -> set[str]:
    words = match_words(prompt)
    return set(ngrams(words, SHINGLE)) if len(words) >= SHINGLE else ({" ".join(words)} if words else set())


def render(ex: dict) -> dict:
    return {
        "prompt": f"<|im_start|>user\n{ex['prompt'].strip()}<|im_end|>\n<|im_start|>assistant\n",
        "chosen": ex["chosen"].strip() + "<|im_end|>",
        "rejected": ex["rejected"].strip() + "<|im_end|>",
    }


# --- the script ----------------------------------------------------------------------------


def run_baseline(parquet_path: str | Path, out_dir: str | Path, benchmark: Path | None = None) -> dict:
    """Build train/test parquet files in out_dir; return the counts in `curate build --json` form."""
    datasets.disable_caching()  # nothing reused between runs: each run pays the full cost
    datasets.disable_progress_bars()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="baseline-cache-") as cache_dir:
        ds = datasets.Dataset.from_parquet(str(parquet_path), cache_dir=cache_dir, keep_in_memory=False)
        ds = ds.rename_columns(RENAMES)
        rows_in, dropped = len(ds), {}
        for reason, keep in FILTERS:
            ds = _counted(ds, ds.filter(keep), reason, dropped)
        if benchmark:
            items = [json.loads(line)["question"] for line in benchmark.read_text().splitlines()]
            bench = Benchmark(items)
            clean = ds.filter(lambda ex: not any(bench.matches(ex[key]) for key in TEXTS))
            ds = _counted(ds, clean, "contaminated", dropped)
        ds = _counted(ds, ds.select(first_of_each_pair(ds)), "duplicate_pair", dropped)
        ds = _counted(ds, ds.select(best_of_each_prompt(ds)), "duplicate_prompt", dropped)
        ds = _counted(ds, ds.select(best_of_each_cluster(ds)), "near_duplicate_prompt", dropped)
        ds = ds.map(render, remove_columns=ds.column_names)
        splits = _split(ds)
        for name, part in splits.items():
            part.to_parquet(str(out / f"{name}.parquet"))
    return {
        "rows_in": rows_in,
        "rows_kept": len(ds),
        "dropped": dropped,
        "splits": {name: len(part) for name, part in splits.items()},
    }


def _counted(before: datasets.Dataset, after: datasets.Dataset, reason: str, dropped: dict):
    dropped[reason] = len(before) - len(after)
    return after


def _split(ds: datasets.Dataset) -> datasets.DatasetDict:
    # After duplicate_prompt every prompt is unique, so a plain row split is already grouped by prompt.
    if len(ds) < 2:  # train_test_split refuses to split fewer than two rows
        return datasets.DatasetDict(train=ds, test=ds.select([]))
    return ds.train_test_split(test_size=0.1, seed=42)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="parquet file in the distilabel math schema")
    parser.add_argument("out", type=Path, help="folder for train.parquet and test.parquet")
    parser.add_argument("--benchmark", type=Path, help="JSONL benchmark items (a `question` column)")
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    result = run_baseline(args.source, args.out, args.benchmark)
    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['rows_in']:,} rows in, {result['rows_kept']:,} kept, splits {result['splits']}")
    for reason, count in result["dropped"].items():
        print(f"  {reason:<20} {count:>8,}")
    print(f"took {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
