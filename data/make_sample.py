"""Write the shipped sample data/distilabel-math-sample.jsonl, data/benchmark-sample.jsonl and
data/sample_expected.json.

    python data/make_sample.py

300 synthetic rows in the argilla/distilabel-math-preference-dpo schema: clean rows from
benchmarks/generate.py, with defects planted at fixed rows (see `plant` and `plant_leaks`), and a
small benchmark-like file of our own items (not GSM8K or MATH) to decontaminate against offline.
The expected counts are checked three ways before anything is written: the hand count (HAND_COUNT),
the per-row plan, and a small pure-Python implementation of the build rules (`drop_reasons`, with
all-pairs near-duplicate search instead of MinHash) run on the files as written. Rerunning rewrites
byte-identical files.
"""

from __future__ import annotations

import json
import math
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "benchmarks"))
import generate  # noqa: E402  (plain module next door, see its docstring)

SEED = 2024
ROWS = 300
SAMPLE = HERE / "distilabel-math-sample.jsonl"
EXPECTED = HERE / "sample_expected.json"
BENCHMARK = HERE / "benchmark-sample.jsonl"
NGRAM, MIN_OVERLAP, SHORTEST_ITEM = 8, 0.5, 3  # the recipe's decontaminate defaults
SHINGLE, NEAR_THRESHOLD = 3, 0.7  # the recipe's near_dedup defaults
COMMON_SHARE, COMMON_MIN = 0.01, 50  # boilerplate shingles (curate/minhash_lsh.py)
MAX_CHARS = 8000
CONTROL_TOKENS = ("<|im_start|>", "<|im_end|>")
MISSING = object()  # the key is left out of the JSON object

# Counted by hand from the plan in `plant` (row numbers are listed there).
HAND_COUNT = {
    "empty_prompt": 3,  # 3, 41, 77
    "empty_chosen": 2,  # 12, 95
    "empty_rejected": 2,  # 130, 181
    "missing_rating": 2,  # 55, 160
    "non_numeric_rating": 2,  # 150, 205
    "control_token": 4,  # 22, 118, 165, 240
    "text_too_long": 1,  # 199
    "identical_responses": 2,  # 30, 141
    "inverted_rating": 4,  # 8, 88, 171, 260
    "tie": 5,  # 17, 109, 190, 251, 213
    "small_rating_gap": 4,  # 36, 127, 177, 230
    "contaminated": 4,  # 20, 45 (prompt), 85 (chosen), 115 (rejected)
    "duplicate_pair": 4,  # 101, 143, 267, 285
    "duplicate_prompt": 7,  # 90, 110, 135, 145, 175, 255, 275
    "near_duplicate_prompt": 7,  # planted 195, 210, 290; written so by the templates 122, 146, 155, 174
}
REASONS = tuple(HAND_COUNT)  # rule order

# Field positions in a working row: [prompt, chosen, rejected, chosen_rating, rejected_rating]
P, C, R, CR, RR = range(5)


# --- building ----------------------------------------------------------------------------


def base_rows(factory: generate.RowFactory) -> tuple[list[list], list]:
    """ROWS clean rows whose prompts are distinct even ignoring case and whitespace."""
    rows, problems, seen = [], [], set()
    while len(rows) < ROWS:
        problem = generate.new_problem(factory.u)
        key = normalize(problem[0]).casefold()
        if key not in seen:
            seen.add(key)
            rows.append(factory.clean(problem))
            problems.append(problem)
    return rows, problems


def plant(rows: list[list], problems: list, factory: generate.RowFactory) -> dict[int, str]:
    """Plant every defect in place; return {row: the reason it must be dropped for}."""
    expect: dict[int, str] = {}

    def again(i: int, chosen_rating: float, rejected_rating: float) -> list:
        """The same prompt as row i with freshly written responses."""
        fresh = factory.clean(problems[i])
        return [rows[i][P], fresh[C], fresh[R], chosen_rating, rejected_rating]

    def ratings(i: int, chosen_rating, rejected_rating) -> None:
        rows[i][CR], rows[i][RR] = chosen_rating, rejected_rating

    # validate: one row per case, plus rows with two defects where rule order decides
    rows[3][P] = ""
    rows[41][P] = "  \n\t "
    rows[77][P] = ""
    ratings(77, 8.0, 8.0)  # also a tie: empty_prompt comes first
    rows[12][C] = ""
    rows[95][C] = "\n\n   "
    rows[95][CR] = None  # also a missing rating: empty_chosen comes first
    rows[130][R] = "   "
    rows[181][R] = None
    rows[55][CR] = None
    rows[160][RR] = MISSING
    rows[150][CR] = "high"
    rows[205][RR] = "n/a"
    ratings(66, "9", 6.0)  # a numeric string is a number: row 66 is kept
    rows[22][P] = "<|im_start|>user\n" + rows[22][P]
    rows[118][C] += "<|im_end|>"
    rows[240][R] = generate.pad_to(rows[240][R], 9000) + "<|im_start|>"  # also too long
    rows[199][C] = generate.pad_to(rows[199][C], 9000)
    rows[222][C] = exactly(rows[222][C], MAX_CHARS - len(rows[222][P]))  # at the limit: kept
    expect |= dict.fromkeys((3, 41, 77), "empty_prompt")
    expect |= {12: "empty_chosen", 95: "empty_chosen", 130: "empty_rejected"}
    expect |= {181: "empty_rejected", 55: "missing_rating", 160: "missing_rating"}
    expect |= {150: "non_numeric_rating", 205: "non_numeric_rating"}
    expect |= dict.fromkeys((22, 118, 240), "control_token")
    expect[199] = "text_too_long"

    # preference
    rows[30][R] = rows[30][C]
    rows[141][R] = rows[141][C].replace("\n\n", "\n \n") + "  "  # differs in whitespace only
    ratings(141, 7.0, 7.0)  # also a tie: identical_responses comes first
    for i in (8, 88, 260):
        ratings(i, rows[i][RR], rows[i][CR])
    ratings(171, 7.5, 8.0)  # inverted by less than a point: inverted_rating comes first
    for i in (17, 109, 190, 251):
        ratings(i, rows[i][CR], rows[i][CR])
    ratings(36, 8.0, 7.5)
    ratings(127, 9.0, 8.75)
    ratings(177, 6.5, 6.0)
    ratings(230, 10.0, 9.25)
    expect |= {30: "identical_responses", 141: "identical_responses"}
    expect |= dict.fromkeys((8, 88, 171, 260), "inverted_rating")
    expect |= dict.fromkeys((17, 109, 190, 251), "tie")
    expect |= dict.fromkeys((36, 127, 177, 230), "small_rating_gap")

    # duplicate pairs; dedup only looks at rows that are still kept
    rows[213] = list(rows[17])  # copy of a tie: dropped as a tie, not as a duplicate
    rows[233] = [*rows[36][:3], 9.0, 7.0]  # texts of a dropped row, good ratings: kept
    rows[101] = list(rows[50])
    rows[143] = [" " + rows[60][P], rows[60][C].replace(" ", "  "), rows[60][R] + "\n", *rows[60][3:]]
    rows[70][C] += " (units: Ω)"  # GREEK CAPITAL LETTER OMEGA, U+03A9
    rows[267] = ohm_sign_twin(rows[70])  # equal after NFC
    rows[285] = [*rows[80][:3], 10.0, 3.0]  # would win on gap, but duplicate_pair runs first
    expect[213] = "tie"
    expect |= dict.fromkeys((101, 143, 267, 285), "duplicate_pair")

    # repeated prompts: keep the largest gap, then the highest chosen rating, then the first row
    ratings(90, 8.0, 7.0)
    rows[200] = again(90, 9.0, 6.0)  # a larger gap later in the file wins
    ratings(110, 8.0, 6.0)
    rows[220] = again(110, 10.0, 8.0)  # equal gaps: the higher chosen rating wins
    ratings(120, 8.0, 6.0)
    rows[175] = again(120, 8.0, 6.0)  # all equal: the first row (120) wins
    rows[255] = again(120, 8.0, 6.0)
    ratings(135, 7.0, 5.0)
    rows[165] = again(135, 9.0, 5.0)  # the best gap, but dropped earlier by control_token
    rows[165][R] += "<|im_end|>"
    rows[245] = again(135, 9.0, 6.0)
    rows[245][P] = rows[135][P].replace(" ", "\n", 1).replace(". ", ".   ", 1)  # same normalized
    ratings(145, 8.0, 6.0)
    rows[185] = again(145, 9.5, 5.0)  # the middle row of three wins
    rows[275] = again(145, 8.5, 6.0)
    rows[265] = again(155, 9.0, 7.0)
    rows[265][P] = rows[155][P][0].lower() + rows[155][P][1:]  # case differs: not a repeat
    expect[165] = "control_token"
    expect |= dict.fromkeys((90, 110, 175, 255, 135, 145, 275), "duplicate_prompt")
    return expect


# Benchmark-like items we wrote ourselves (GSM8K-style word problems, MATH-style LaTeX problems).
OWN_ITEMS = [
    "A florist ties 14 roses into each bouquet and sells every bouquet for $23. On Saturday she used 378 roses. "
    "How much money did she take in from the bouquets?",
    "Marisol reads 17 pages of her novel every weekday and 35 pages on each weekend day. How many pages does "
    "she read in three full weeks?",
    "A water tank holds 1,200 litres. A pump fills it at 45 litres per minute while a leak drains 5 litres per "
    "minute. How many minutes does it take to fill the empty tank?",
    "Theo has twice as many stamps as Priyanka, and Priyanka has 18 fewer stamps than Omar. If Omar has 64 "
    "stamps, how many stamps do the three children have together?",
    "Compute $\\dbinom{12}{5}$.",
    "Find the remainder when $7^{2024}$ is divided by $9$.",
    "If $f(x) = \\frac{3x - 1}{x + 4}$, what is the value of $f^{-1}(2)$?",
    "How many ordered pairs of positive integers $(a, b)$ satisfy $\\frac{1}{a} + \\frac{1}{b} = \\frac{1}{6}$?",
]


def plant_leaks(rows: list[list], problems: list, factory: generate.RowFactory) -> tuple[dict[int, str], list[str]]:
    """Plant benchmark items (contamination) and near-duplicate prompts; return the plan and the benchmark.

    Runs after `plant`, so the rows planted there come out of the generator exactly as before."""
    expect: dict[int, str] = {}
    leaked_chosen, leaked_rejected = unseen_question(factory, rows), unseen_question(factory, rows)
    items = [
        *OWN_ITEMS,
        problems[20][1],  # row 20's question, verbatim
        respell(problems[45][1]),  # row 45's question in other case, spacing and punctuation
        leaked_chosen,
        leaked_rejected,
        near_miss(problems[125][1]),  # the same kind of problem with other names and numbers: row 125 is kept
    ]
    rows[85][C] += f"\n\nA similar exercise: {leaked_chosen}"
    rows[115][R] = f"Compare this with: {leaked_rejected}\n\n{rows[115][R]}"
    expect |= dict.fromkeys((20, 45, 85, 115), "contaminated")

    # near-duplicate prompts, each rated so that the original wins the keep rule
    rows[195] = [f"Please work this out. {rows[35][P]}", *rows[195][1:3], 7.0, 6.0]  # reworded
    rows[210] = [rows[25][P].replace(" ", "  ").replace(".", " ."), *rows[210][1:3], 7.0, 6.0]  # respaced
    rows[290] = [change_a_number(rows[235][P]), *rows[290][1:3], 7.0, 6.0]  # one number changed
    expect |= dict.fromkeys((195, 210, 290), "near_duplicate_prompt")
    # Prompts the templates made near-duplicates by themselves (name and one number apart, or case only).
    expect |= dict.fromkeys((122, 146, 155, 174), "near_duplicate_prompt")
    return expect, items


def unseen_question(factory: generate.RowFactory, rows: list[list]) -> str:
    """A new question that overlaps no row yet (a template shared with a row can make it match that row)."""
    while True:
        question = generate.new_problem(factory.u)[1]
        grams = item_grams(question)
        if not any(contains(text, grams) for row in rows for text in row[:3] if isinstance(text, str)):
            return question


def respell(question: str) -> str:
    """The same words in other case, spacing and punctuation."""
    return question.upper().replace(" ", "\n ").replace("?", " ?!")


def near_miss(question: str) -> str:
    """Another problem of the same kind: every number changed and the name swapped."""
    changed = re.sub(r"\d+", lambda m: str(int(m.group()) + 7), question)
    return re.sub(r"^\w+", "Someone", changed)


def change_a_number(prompt: str) -> str:
    return re.sub(r"\d+", lambda m: str(int(m.group()) + 1), prompt, count=1)


def exactly(text: str, chars: int) -> str:
    """A runaway answer of exactly `chars` characters, ending in a non-ASCII one.

    More bytes than characters, so a byte-length check would wrongly drop it."""
    return generate.pad_to(text, chars)[: chars - 2] + " ✓"


def ohm_sign_twin(row: list) -> list:
    """A copy of row written with the OHM SIGN (U+2126), which NFC maps to the Greek Omega (U+03A9)."""
    copy = list(row)
    copy[C] = copy[C].replace("\u03a9", "\u2126")
    return copy


def to_json(fields: list) -> str:
    prompt, chosen, rejected, chosen_rating, rejected_rating = fields
    values = (
        generate.metadata(prompt, chosen, rejected, chosen_rating, rejected_rating),
        prompt,
        chosen,
        chosen_rating,
        rejected,
        rejected_rating,
    )
    obj = {k: v for k, v in zip(generate.COLUMNS, values, strict=True) if v is not MISSING}
    return json.dumps(obj, ensure_ascii=False)


# --- an independent, plain reading of the build rules ------------------------------------


def normalize(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def number(value) -> float | None:
    """The rating as a float, or None when it is not a number (NaN and bools are not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        x = float(value)
    except ValueError:
        return None
    return None if math.isnan(x) else x


def validate(row: dict) -> str | None:
    prompt, chosen, rejected = row.get("prompt"), row.get("chosen"), row.get("rejected")
    for reason, text in (("empty_prompt", prompt), ("empty_chosen", chosen)):
        if blank(text):
            return reason
    if blank(rejected):
        return "empty_rejected"
    ratings = (row.get("chosen_rating"), row.get("rejected_rating"))
    if None in ratings:
        return "missing_rating"
    if any(number(x) is None for x in ratings):
        return "non_numeric_rating"
    if any(tok in text for tok in CONTROL_TOKENS for text in (prompt, chosen, rejected)):
        return "control_token"
    if len(prompt) + max(len(chosen), len(rejected)) > MAX_CHARS:
        return "text_too_long"
    return None


def preference(row: dict) -> str | None:
    if normalize(row["chosen"]) == normalize(row["rejected"]):
        return "identical_responses"
    chosen, rejected = number(row["chosen_rating"]), number(row["rejected_rating"])
    if chosen < rejected:
        return "inverted_rating"
    if chosen == rejected:
        return "tie"
    if chosen - rejected < 1.0:
        return "small_rating_gap"
    return None


def drop_reasons(source_rows: list[dict], items: list[str]) -> list[str | None]:
    """The reason each row is dropped for (None = kept), by the README's rules read literally."""
    rows = [canonical(r) for r in source_rows]
    reasons = [validate(r) or preference(r) for r in rows]
    kept = [i for i, reason in enumerate(reasons) if reason is None]
    grams = [item_grams(item) for item in items]
    for i in kept:
        if any(contains(rows[i][k], g) for k in ("prompt", "chosen", "rejected") for g in grams):
            reasons[i] = "contaminated"
    kept = [i for i in kept if reasons[i] is None]
    seen = set()
    for i in kept:
        key = tuple(normalize(rows[i][k]) for k in ("prompt", "chosen", "rejected"))
        if key in seen:
            reasons[i] = "duplicate_pair"
        seen.add(key)
    kept = [i for i in kept if reasons[i] is None]
    best = best_of_groups(rows, kept, lambda i: rows[i]["nprompt"])
    for i in kept:
        if best[rows[i]["nprompt"]] != i:
            reasons[i] = "duplicate_prompt"
    kept = [i for i in kept if reasons[i] is None]
    cluster = near_clusters(rows, kept)
    best = best_of_groups(rows, kept, cluster.__getitem__)
    for i in kept:
        if rows[best[cluster[i]]]["nprompt"] != rows[i]["nprompt"]:
            reasons[i] = "near_duplicate_prompt"
    return reasons


def best_of_groups(rows: list[dict], kept: list[int], group) -> dict:
    """group -> its row with the largest gap, then the highest chosen rating, then the first."""
    best: dict = {}
    for i in kept:
        chosen, rejected = number(rows[i]["chosen_rating"]), number(rows[i]["rejected_rating"])
        rank = (chosen - rejected, chosen, -i)
        key = group(i)
        if key not in best or rank > best[key][0]:
            best[key] = (rank, i)
    return {key: i for key, (_, i) in best.items()}


_LATEX = ["\\displaystyle", "\\textstyle", "\\qquad", "\\quad", "\\left", "\\right", "\\biggl", "\\biggr", "\\bigl",
          "\\bigr", "\\bigg", "\\big", "\\dfrac", "\\tfrac", "\\dbinom", "\\tbinom"]  # fmt: skip


LATEX_TO = {"\\dfrac": "\\frac", "\\tfrac": "\\frac", "\\dbinom": "\\binom", "\\tbinom": "\\binom"}


def match_words(text: str) -> list[str]:
    """Lowercase ASCII words and digits: case, punctuation, spacing and LaTeX spacing do not count."""
    text = re.sub("|".join(map(re.escape, _LATEX)), lambda m: LATEX_TO.get(m.group(), " "), text.lower())
    return re.sub(r"[^a-z0-9]+", " ", text).split()


def item_grams(item: str) -> tuple[set[str], int]:
    words = match_words(item)
    if len(words) < SHORTEST_ITEM:
        return set(), 1
    n = min(NGRAM, len(words))
    grams = {" " + " ".join(words[i : i + n]) + " " for i in range(len(words) - n + 1)}
    return grams, math.ceil(len(grams) * MIN_OVERLAP)


def contains(text: str, item: tuple[set[str], int]) -> bool:
    grams, needed = item
    padded = " " + " ".join(match_words(text)) + " "
    return bool(grams) and sum(gram in padded for gram in grams) >= needed


def near_clusters(rows: list[dict], kept: list[int]) -> dict[int, int]:
    """Row -> smallest row of its cluster: all pairs compared by exact shingle Jaccard, boilerplate left out."""
    prompts = list(dict.fromkeys(rows[i]["nprompt"] for i in kept))
    sets = [shingles(p) for p in prompts]
    counts = Counter(s for one in sets for s in one)
    limit = max(COMMON_SHARE * len(prompts), COMMON_MIN)
    sets = [{s for s in one if counts[s] <= limit} for one in sets]
    parent = list(range(len(prompts)))

    def root(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for a in range(len(sets)):
        for b in range(a + 1, len(sets)):
            union = len(sets[a] | sets[b])
            if union and len(sets[a] & sets[b]) / union >= NEAR_THRESHOLD:
                parent[max(root(a), root(b))] = min(root(a), root(b))
    index = {p: root(k) for k, p in enumerate(prompts)}
    return {i: index[rows[i]["nprompt"]] for i in kept}


def shingles(prompt: str) -> set[tuple]:
    words = match_words(prompt)
    return {tuple(words[i : i + SHINGLE]) for i in range(max(len(words) - SHINGLE + 1, 1))} if words else set()


def canonical(source: dict) -> dict:
    row = {
        "prompt": source.get("instruction"),
        "chosen": source.get("chosen_response"),
        "rejected": source.get("rejected_response"),
        "chosen_rating": source.get("chosen_rating"),
        "rejected_rating": source.get("rejected_rating"),
    }
    row["nprompt"] = normalize(row["prompt"]) if isinstance(row["prompt"], str) else None
    return row


def summary(reasons: list[str | None]) -> dict:
    counts = Counter(r for r in reasons if r is not None)
    return {
        "rows": len(reasons),
        "kept": reasons.count(None),
        "dropped": {reason: counts[reason] for reason in REASONS if counts[reason]},
    }


# --- main --------------------------------------------------------------------------------


def main() -> None:
    factory = generate.RowFactory(SEED)
    rows, problems = base_rows(factory)
    planned = plant(rows, problems, factory)
    leaks, items = plant_leaks(rows, problems, factory)
    planned |= leaks
    assert Counter(planned.values()) == Counter(HAND_COUNT), "the plan and the hand count differ"

    lines = [to_json(fields) for fields in rows]
    SAMPLE.write_text("".join(line + "\n" for line in lines), encoding="utf-8", newline="\n")
    benchmark = [json.dumps({"id": i, "question": q}, ensure_ascii=False) for i, q in enumerate(items)]
    BENCHMARK.write_text("".join(line + "\n" for line in benchmark), encoding="utf-8", newline="\n")

    reasons = drop_reasons(
        [json.loads(line) for line in SAMPLE.read_text("utf-8").splitlines()],
        [json.loads(line)["question"] for line in BENCHMARK.read_text("utf-8").splitlines()],
    )
    wrong = {i: (planned.get(i), got) for i, got in enumerate(reasons) if planned.get(i) != got}
    assert not wrong, f"rules disagree with the plan (row: (planned, rules)): {wrong}"
    expected = summary(reasons)
    assert expected["dropped"] == HAND_COUNT, "rules disagree with the hand count"

    EXPECTED.write_text(json.dumps(expected, indent=2) + "\n", encoding="utf-8", newline="\n")
    print(f"wrote {SAMPLE.name} ({len(rows)} rows, {expected['kept']} kept) and {EXPECTED.name}")


if __name__ == "__main__":
    main()
