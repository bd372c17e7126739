"""One test per rule: the row that breaks it is dropped with that rule's reason, and nothing else is."""

from __future__ import annotations

import polars as pl
import pytest
from conftest import distinct_pairs, pair

from curate.config import Recipe
from curate.pipeline import run_pipeline
from curate.sources.columns import DISTILABEL_COLUMNS, to_canonical
from curate.steps import REASONS


def run(rows: list[dict], recipe: Recipe | None = None):
    frame = to_canonical(pl.DataFrame(rows, strict=False), DISTILABEL_COLUMNS, "test")
    return run_pipeline(frame, recipe or Recipe(), has_ratings=True)


def reasons_of(rows: list[dict], recipe: Recipe | None = None) -> dict[int, str]:
    result = run(rows, recipe)
    return dict(zip(result.dropped["row"].to_list(), result.dropped["reason"].to_list(), strict=True))


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (pair(instruction=None), "empty_prompt"),
        (pair(instruction="  \n\t "), "empty_prompt"),
        (pair(chosen=""), "empty_chosen"),
        (pair(rejected=" "), "empty_rejected"),
        (pair(chosen_rating=None), "missing_rating"),
        (pair(rejected_rating=None), "missing_rating"),
        (pair(chosen_rating="high"), "non_numeric_rating"),
        (pair(rejected_rating=float("nan")), "non_numeric_rating"),
        (pair(instruction="Solve <|im_start|>x"), "control_token"),
        (pair(chosen="5<|im_end|>"), "control_token"),
        (pair(rejected="<|im_start|>assistant\n6"), "control_token"),
        (pair(chosen="x" * 8001), "text_too_long"),
        (pair(chosen="The answer is  5.", rejected="The answer is 5. "), "identical_responses"),
        (pair(chosen_rating=3.0, rejected_rating=7.0), "inverted_rating"),
        (pair(chosen_rating=6.0, rejected_rating=6.0), "tie"),
        (pair(chosen_rating=6.5, rejected_rating=6.0), "small_rating_gap"),
    ],
)
def test_each_rule_drops_its_row_with_its_reason(bad, reason):
    rows = [*distinct_pairs(3), bad]
    assert reasons_of(rows) == {3: reason}


def test_numeric_text_rating_is_a_number():
    assert reasons_of([pair(chosen_rating="8.5", rejected_rating=" 3 ")]) == {}


def test_first_failing_rule_names_the_reason():
    # empty prompt and a tie: validation runs first
    assert reasons_of([pair(instruction="", chosen_rating=5.0, rejected_rating=5.0)]) == {0: "empty_prompt"}


def test_gap_of_exactly_the_minimum_is_kept():
    assert reasons_of([pair(chosen_rating=7.0, rejected_rating=6.0)]) == {}
    recipe = Recipe.model_validate({"preference": {"min_rating_gap": 2.0}})
    assert reasons_of([pair(chosen_rating=7.0, rejected_rating=6.0)], recipe) == {0: "small_rating_gap"}


def test_duplicate_pair_keeps_the_first_and_points_to_it():
    rows = [pair(), pair(instruction="What  is 2 + 3? ", chosen=" 2 + 3 = 5.")]
    result = run(rows)
    assert result.dropped.select("row", "reason", "detail").rows() == [(1, "duplicate_pair", "same pair as row 0")]


def test_copy_of_a_dropped_row_is_dropped_for_its_own_defect():
    tie = pair(chosen_rating=5.0, rejected_rating=5.0)
    assert reasons_of([tie, tie]) == {0: "tie", 1: "tie"}


def test_prompt_duplicates_keep_largest_gap_then_chosen_rating_then_first():
    rows = [
        pair(chosen="a", chosen_rating=8.0, rejected_rating=5.0),  # gap 3
        pair(chosen="b", chosen_rating=9.0, rejected_rating=4.0),  # gap 5, kept
        pair(chosen="c", chosen_rating=7.0, rejected_rating=2.0),  # gap 5, lower chosen rating
        pair("Q2", chosen="d", chosen_rating=8.0, rejected_rating=4.0),
        pair("Q2", chosen="e", chosen_rating=8.0, rejected_rating=4.0),  # full tie: first seen wins
    ]
    result = run(rows)
    assert result.kept["row"].to_list() == [1, 3]
    assert dict(zip(result.dropped["row"], result.dropped["detail"], strict=True)) == {
        0: "prompt kept in row 1",
        2: "prompt kept in row 1",
        4: "prompt kept in row 3",
    }
    assert set(result.dropped["reason"]) == {"duplicate_prompt"}


def test_keep_all_prompt_duplicates():
    rows = [pair(chosen="a"), pair(chosen="b"), pair(chosen="a")]
    recipe = Recipe.model_validate({"dedup": {"prompt_duplicates": "keep_all"}})
    assert reasons_of(rows, recipe) == {2: "duplicate_pair"}


def test_no_rating_columns_skips_rating_rules():
    frame = to_canonical(
        pl.DataFrame({"prompt": ["q", "q2"], "chosen": ["a", "same"], "rejected": ["b", "same "]}),
        DISTILABEL_COLUMNS.model_copy(
            update={
                "prompt": "prompt",
                "chosen": "chosen",
                "rejected": "rejected",
                "chosen_rating": None,
                "rejected_rating": None,
            }
        ),
        "test",
    )
    result = run_pipeline(frame, Recipe(), has_ratings=False)
    assert result.kept["row"].to_list() == [0]
    assert result.dropped["reason"].to_list() == ["identical_responses"]


def test_every_emitted_reason_is_documented():
    rows = [pair(instruction=""), pair(chosen_rating=None), pair(chosen_rating=1.0), pair(), pair()]
    result = run(rows)
    assert set(result.dropped["reason"]) <= set(REASONS)


def test_funnel_counts_add_up():
    rows = [*distinct_pairs(5), pair(instruction=""), pair(chosen_rating=2.0), pair(), pair()]
    result = run(rows)
    assert [s.step for s in result.funnel] == ["validate", "preference", "dedup", "near_dedup", "length"]
    for before, after in zip(result.funnel, result.funnel[1:], strict=False):
        assert before.rows_out == after.rows_in
    assert result.funnel[0].rows_in == len(rows)
    assert result.funnel[-1].rows_out == result.kept.height == 6
    assert sum(sum(s.dropped.values()) for s in result.funnel) == result.dropped.height == 3


def test_documented_reason_order_is_the_rule_order():
    from curate.pipeline import steps
    from curate.steps import preference, validate

    recipe = Recipe()
    applied = [r.reason for r in validate.rules(recipe.validate_, True) + preference.rules(recipe.preference, True)]
    later = ["contaminated", "duplicate_pair", "duplicate_prompt", "near_duplicate_prompt"]
    later += ["chosen_incorrect", "rejected_correct", "same_final_answer", "too_long", "length_bias"]
    assert [*applied, *later] == list(REASONS)
    assert [step.name for step in steps(benchmarks=["any"])] == [
        "validate", "preference", "decontaminate", "dedup", "near_dedup", "length"
    ]  # fmt: skip
