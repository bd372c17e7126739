"""Near-duplicate prompts: planted variants are found, look-alikes are kept, clusters never straddle the split."""

from __future__ import annotations

import json
import subprocess
import sys
from itertools import combinations

import polars as pl
import pytest
from conftest import REPO, pair
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curate.builder import split_rows
from curate.config import Recipe
from curate.minhash_lsh import prompt_clusters
from curate.normalize import with_keys
from curate.pipeline import run_pipeline
from curate.sources.columns import DISTILABEL_COLUMNS, to_canonical
from curate.words import match_words

SUFFIX = ".\n Take a deep breath, think step by step, and give an accurate response"
BAKERY = (
    "A bakery sells 48 muffins on Monday and 3 times as many on Tuesday. Each muffin costs $2.50. "
    "How much money does the bakery make from muffins over the two days?"
)
NEAR = {
    "reworded": "Question: a bakery sells 48 muffins on Monday, and 3 times as many on Tuesday. Each muffin costs "
    "$2.50. How much money does the bakery earn from muffins over the two days?",
    "number_changed": BAKERY.replace("48 muffins", "52 muffins"),
    "respaced": BAKERY.replace(" ", "  ").replace("$2.50", "$ 2.50").replace("?", " ?") + "\n",
    "latex_spacing": BAKERY.replace("3 times", "$\\left( 3 \\right)$ times"),
}
LOOK_ALIKE = [  # the same template as BAKERY, or the same words for another question: different problems
    "A bookshop sells 15 novels on Friday and 4 times as many on Saturday. Each novel costs $12.00. "
    "How much money does the bookshop make from novels over the two days?",
    "A bakery sells 48 muffins on Monday and 3 times as many on Tuesday. How many more muffins does it sell "
    "on Tuesday than on Monday, and what fraction of the two days' muffins were sold on Monday?",
]


def canonical(prompts: list[str], **ratings) -> pl.DataFrame:
    rows = [pair(p, chosen=f"answer {i}", rejected=f"wrong {i}", **ratings) for i, p in enumerate(prompts)]
    return to_canonical(pl.DataFrame(rows, strict=False), DISTILABEL_COLUMNS, "test")


def clusters_of(prompts: list[str], threshold=0.7, shingle_words=3) -> list[int]:
    frame = with_keys(canonical(prompts))
    return prompt_clusters(frame, threshold, shingle_words).rows["cluster"].to_list()


def test_planted_near_duplicates_are_found():
    for kind, variant in NEAR.items():
        assert clusters_of([BAKERY, variant]) == [0, 0], kind


def test_look_alike_problems_are_kept_apart():
    assert clusters_of([BAKERY, *LOOK_ALIKE]) == [0, 1, 2]


def test_shared_boilerplate_suffix_does_not_make_short_questions_alike():
    questions = ["What is 2 + 3?", "Solve 3x = 9 for x.", "Simplify 4/8.", "Name a prime above 90."] * 15
    prompts = [f"{q} (variant {i}){SUFFIX}" for i, q in enumerate(questions)]  # 60 prompts share the suffix
    assert clusters_of(prompts) == list(range(60))


def test_threshold_and_shingle_size_come_from_the_recipe():
    assert clusters_of([BAKERY, NEAR["number_changed"]], threshold=0.99) == [0, 1]
    assert clusters_of([BAKERY, NEAR["reworded"]], shingle_words=8) == [0, 1]


def test_same_prompt_under_another_system_turn_is_not_clustered():
    frame = canonical([BAKERY, NEAR["respaced"]]).with_columns(system=pl.Series(["Be brief.", None]))
    assert prompt_clusters(with_keys(frame), 0.7, 3).rows["cluster"].to_list() == [0, 1]


def test_cluster_keeps_the_best_pair_and_names_it():
    prompts = [BAKERY, NEAR["reworded"], NEAR["number_changed"], LOOK_ALIKE[0]]
    frame = canonical(prompts).with_columns(
        chosen_rating=pl.Series([8.0, 9.0, 9.0, 8.0]), rejected_rating=pl.Series([6.0, 5.0, 5.0, 2.0])
    )
    result = run_pipeline(frame, Recipe(), has_ratings=True)
    assert result.kept["row"].to_list() == [1, 3]  # gap 4 beats gap 2; the first of two gap-4 rows wins
    assert result.dropped.select("row", "reason", "detail").rows() == [
        (0, "near_duplicate_prompt", "near-duplicate of the prompt kept in row 1"),
        (2, "near_duplicate_prompt", "near-duplicate of the prompt kept in row 1"),
    ]
    stats = result.stats["near_dedup"]
    assert (stats["clusters"], stats["largest"], stats["rows_in_clusters"]) == (1, 3, 3)
    assert stats["candidate_pairs"] >= stats["similar_pairs"] >= 2  # 0 and 2 may meet only through 1


def test_keep_all_keeps_the_cluster_together_in_one_split():
    prompts = [BAKERY, *NEAR.values(), *LOOK_ALIKE] + [f"Unrelated question number {i} about trains?" for i in range(9)]
    recipe = Recipe.model_validate({"near_dedup": {"prompt_duplicates": "keep_all"}, "split": {"test_size": 0.5}})
    result = run_pipeline(canonical(prompts), recipe, has_ratings=True)
    assert result.dropped.is_empty()
    splits = split_rows(result.kept, recipe)
    sides = {name: set(frame["source_row"]) & set(range(5)) for name, frame in splits.items()}
    assert sorted(map(len, sides.values())) == [0, 5]


# Prompts made from a few base problems and edits of them, so clusters of every size are common.
EDITS = [
    lambda p: p,
    lambda p: "Question: " + p,
    lambda p: p.replace(" ", "  ") + " ",
    lambda p: p.replace("3", "7", 1),
    lambda p: p.replace("How", "Tell me: how"),
]
variants = st.tuples(st.sampled_from([BAKERY, *LOOK_ALIKE, "What is 12 + 30?"]), st.sampled_from(EDITS))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(variants, min_size=1, max_size=30), st.integers(0, 2**31), st.sampled_from([0.1, 0.3, 0.5, 0.9]))
def test_no_cluster_lands_on_both_sides_of_the_split(chosen, seed, test_size):
    prompts = [edit(base) for base, edit in chosen]
    recipe = Recipe.model_validate(
        {
            "dedup": {"prompt_duplicates": "keep_all"},
            "near_dedup": {"prompt_duplicates": "keep_all"},
            "split": {"test_size": test_size, "seed": seed},
        }
    )
    result = run_pipeline(canonical(prompts), recipe, has_ratings=True)
    splits = split_rows(result.kept, recipe)
    side = {row: name for name, frame in splits.items() for row in frame["source_row"]}
    for cluster in result.kept.group_by("cluster").agg("row")["row"]:
        assert len({side[row] for row in cluster}) == 1
    for a, b in combinations(side, 2):  # and, checked directly: near-duplicate prompts share a side
        if jaccard(prompts[a], prompts[b]) >= 0.7:
            assert side[a] == side[b]
    assert splits["test"].height <= round(test_size * result.kept.height)


def jaccard(a: str, b: str) -> float:
    def shingles(text: str) -> set[tuple]:
        words = match_words(text)
        return {tuple(words[i : i + 3]) for i in range(max(len(words) - 2, 1))}

    one, two = shingles(a), shingles(b)
    return len(one & two) / len(one | two)


def test_clusters_are_the_same_in_another_process():
    prompts = [BAKERY, *NEAR.values(), *LOOK_ALIKE] * 3
    here = clusters_of(prompts)
    code = (
        "import json, sys; sys.path.insert(0, 'tests'); import test_near_dedup as t; "
        "print(json.dumps(t.clusters_of(json.loads(sys.argv[1]))))"
    )
    env = {"PYTHONHASHSEED": "123", "POLARS_MAX_THREADS": "1", "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(prompts)], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == here


@pytest.mark.parametrize("every", [50, 20])
def test_shingles_are_every_window_but_those_in_more_than_the_boilerplate_share(every):
    from collections import Counter

    from curate.minhash_lsh import COMMON_MIN_PROMPTS, prompt_shingles
    from curate.native import windows

    # In 200 prompts the sample is all of them: every shingle in 2 or more prompts is suspected, those in more
    # than 4 surely. Only the closing line (in 133) is over the 50-prompt floor. The shared words are suspected
    # in vain: in 4 prompts (every=50) their places were recorded and they go back; in 10 (every=20) they were
    # surely suspected, and the prompts are shingled again.
    texts = [
        f"case {i} asks for {3 * i} things"
        + (" with words shared by a few prompts" if i % every == 0 else "")
        + (" closing line for most of the prompts" if i % 3 else "")
        for i in range(200)
    ]
    prompts = pl.DataFrame({"prompt_key": texts})
    found = prompt_shingles(prompts, 3)
    index, keys, _ = windows(prompts["prompt_key"], 3, 1)
    holding = Counter(keys.tolist())  # keys are distinct within a prompt: the number of prompts holding each
    assert any(n > COMMON_MIN_PROMPTS for n in holding.values())  # boilerplate, left out
    assert any(n == 200 // every for n in holding.values())  # suspected, put back
    kept = [(j, k) for j, k in zip(index.tolist(), keys.tolist(), strict=True) if holding[k] <= COMMON_MIN_PROMPTS]
    expected = [{k for j, k in kept if j == i} for i in range(200)]
    assert list(found.prompt) == sorted(found.prompt)  # a prompt's shingles stay together
    assert [set(found.shingle[found.prompt == i].tolist()) for i in range(200)] == expected
